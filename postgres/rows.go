package postgres

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// validUUIDs returns the ids that are UUIDs in the canonical form the store hands out (lower-case hex
// with hyphens). Any other string cannot name a record, so it is treated as not found rather than passed
// to the database: uuid.Parse also accepts forms PostgreSQL rejects ("urn:uuid:…"), whose cast error
// would abort the request's transaction, and forms PostgreSQL accepts but that would not match the
// canonical ids results are aligned by (upper case, braces, no hyphens).
func validUUIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if canonicalUUID(id) {
			out = append(out, id)
		}
	}
	return out
}

// canonicalUUID reports whether id is a UUID written as uuid.UUID.String and PostgreSQL's uuid::text write it.
func canonicalUUID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// owned builds the ownership stamp of a child record from its victim id and the viewer's bits. Records are
// read under row-level security on their victim, so they are in scope; the one kind that may be read
// outside it (referrals, by the partners they are between) says so with scannedOwned.
func owned(victimID string, consented, referred int32) lindung.Owned {
	return lindung.Owned{VictimID: victimID, Consented: lindung.CategorySet(consented),
		Referred: lindung.CategorySet(referred), InScope: true}
}

// ownedColumns are the columns every victim-owned query appends: its victim's consent and referral bits
// for this request's viewer, from the viewer_bits join ($BITS in findByVictims' queries).
const ownedColumns = `, b.consented, b.referred`

// inScopeColumn says whether a row's victim is within the request's row scope: bitsJoin reads the victim's
// row (bv) under row-level security, so it is there exactly when the request may see it. It must follow
// bitsJoin in the statement.
const inScopeColumn = `, bv.id IS NOT NULL`

// bitsJoin joins the viewer's consent and referral bits on each row's victim to rows aliased x, from the
// victim's row as the request may see it (none for a victim out of scope: no bits); victimBitsJoin does
// the same for victims aliased v. The bits are viewer_bits' (migration 012), inlined into the statement
// and planned once per connection; under EMERGENCY the caller's grants take the place of consent
// (emergency_bits, migration 013). The arguments are Session.args'.
func (s *Session) bitsJoin() string {
	if s.scope.Purpose == lindung.PurposeEmergency {
		return ` LEFT JOIN victims bv ON bv.id = x.victim_id CROSS JOIN LATERAL emergency_bits(bv.consent_grants, x.victim_id, ` + viewerArgs + `) b`
	}
	return ` LEFT JOIN victims bv ON bv.id = x.victim_id CROSS JOIN LATERAL viewer_bits(bv.consent_grants, x.victim_id, ` + viewerArgs + `) b`
}

func (s *Session) victimBitsJoin() string {
	if s.scope.Purpose == lindung.PurposeEmergency {
		return ` CROSS JOIN LATERAL emergency_bits(v.consent_grants, v.id, ` + viewerArgs + `) b`
	}
	return ` CROSS JOIN LATERAL viewer_bits(v.consent_grants, v.id, ` + viewerArgs + `) b`
}

// viewerArgs are the bits functions' arguments after the victim's grants and id.
const viewerArgs = `nullif(@purpose, '')::purpose, @partner::uuid, nullif(@partner_type, '')::partner_type`

// findByVictims runs a query over the child records of the visible victims among ids and groups the
// results aligned to ids. The query selects from a table aliased x, holds the marker $BITS after its FROM
// item (the join that brings ownedColumns), and the marker $VISIBLE where the ids of the visible victims
// go, as in `FROM placements x $BITS WHERE x.victim_id IN $VISIBLE ORDER BY ...`.
func findByVictims[T any](ctx context.Context, s *Session, ids []string, sql string, scan func(pgx.Rows) (T, string, error)) ([][]T, error) {
	out := make([][]T, len(ids))
	valid := validUUIDs(ids)
	if len(valid) == 0 {
		return out, nil
	}
	byVictim := make(map[string][]T, len(valid))
	err := s.query(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, strings.NewReplacer("$VISIBLE", s.scopedVictimIDs(), "$BITS", s.bitsJoin()).Replace(sql), s.args(pgx.NamedArgs{"ids": valid}))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			item, victimID, err := scan(rows)
			if err != nil {
				return err
			}
			byVictim[victimID] = append(byVictim[victimID], item)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, mapError(err, "find records by victim")
	}
	for i, id := range ids {
		out[i] = byVictim[id]
	}
	return out, nil
}

// findByIDs runs a query over the records with the ids (bound as @ids) and aligns the results to ids,
// nil where none is found or visible.
func findByIDs[T any](ctx context.Context, s *Session, ids []string, sql string, scan func(pgx.CollectableRow) (*T, error), idOf func(*T) string) ([]*T, error) {
	out := make([]*T, len(ids))
	valid := validUUIDs(ids)
	if len(valid) == 0 {
		return out, nil
	}
	byID := make(map[string]*T, len(valid))
	err := s.query(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, s.args(pgx.NamedArgs{"ids": valid}))
		if err != nil {
			return err
		}
		found, err := pgx.CollectRows(rows, scan)
		for _, r := range found {
			byID[idOf(r)] = r
		}
		return err
	})
	if err != nil {
		return nil, mapError(err, "find records by ids")
	}
	for i, id := range ids {
		out[i] = byID[id]
	}
	return out, nil
}
