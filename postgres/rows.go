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
// for this request's viewer, from the bits join aliased b (bitsJoin, or visibleJoin at $VISIBLE in
// findByVictims' queries).
const ownedColumns = `, b.consented, b.referred`

// inScopeColumn says whether a row's victim is within the request's row scope: bitsJoin reads the victim's
// row (bv) under row-level security, so it is there exactly when the request may see it. It must follow
// bitsJoin in the statement.
const inScopeColumn = `, bv.id IS NOT NULL`

// bitsJoin joins the viewer's consent and referral bits on each row's victim to rows aliased x, from the
// victim's row as the request may see it (none for a victim out of scope: no bits); victimBitsJoin does
// the same for victims aliased v. The bits come from bitsFunction, inlined into the statement and planned
// once per connection. The arguments are Session.args'.
func (s *Session) bitsJoin() string {
	return ` LEFT JOIN victims bv ON bv.id = x.victim_id CROSS JOIN LATERAL ` + s.bitsFunction() + `(bv.consent_grants, x.victim_id, ` + viewerArgs + `) b`
}

func (s *Session) victimBitsJoin() string {
	return ` CROSS JOIN LATERAL ` + s.bitsFunction() + `(v.consent_grants, v.id, ` + viewerArgs + `) b`
}

// bitsFunction names the function that gives a victim's bits to this request: emergency_bits under
// EMERGENCY, where the caller's grants take the place of consent (migration 013); viewer_bits, consent
// and the accepted referrals to the caller's partner, for a role limited to its referrals (migration 012);
// and viewer_consent_bits, consent alone with no referral bits, for every other role, whose masks never
// read them (policy.Decision.Mask; migration 019), so that no statement probes referrals for nothing.
func (s *Session) bitsFunction() string {
	switch {
	case s.scope.Purpose == lindung.PurposeEmergency:
		return "emergency_bits"
	case s.scope.LimitToReferral:
		return "viewer_bits"
	}
	return "viewer_consent_bits"
}

// visibleJoin joins rows aliased x to the visible victims among @ids, each with the viewer's bits (b):
// the victims are read once, under row-level security and the row scope, and each one's bits computed
// once, however many records it has. Joining every record to its victim and the bits instead (bitsJoin)
// read the victim again and evaluated the bits again per record. OFFSET 0 keeps the victims and their
// bits a subquery of their own: flattened into the statement, the planner may join the records first and
// evaluate the bits per record again. The price is the bits of a victim without records: a list with
// fewer records than victims (family links) costs a little more than before (bench/results.md).
func (s *Session) visibleJoin() string {
	return ` JOIN (SELECT v.id, b.consented, b.referred FROM victims v` + s.victimBitsJoin() +
		` WHERE v.id = ANY(@ids::uuid[]) AND ` + s.visibleVictims() + ` OFFSET 0) b ON b.id = x.victim_id`
}

// viewerArgs are the bits functions' arguments after the victim's grants and id.
const viewerArgs = `nullif(@purpose, '')::purpose, @partner::uuid, nullif(@partner_type, '')::partner_type`

// findByVictims runs a query over the child records of the visible victims among ids and groups the
// results aligned to ids. The query selects from a table aliased x and holds the marker $VISIBLE after its
// FROM item, where visibleJoin goes, as in `FROM placements x $VISIBLE ORDER BY ...`: it admits the rows of
// the visible victims alone and brings ownedColumns.
func findByVictims[T any](ctx context.Context, s *Session, ids []string, sql string, scan func(pgx.Rows) (T, string, error)) ([][]T, error) {
	out := make([][]T, len(ids))
	valid := validUUIDs(ids)
	if len(valid) == 0 {
		return out, nil
	}
	byVictim := make(map[string][]T, len(valid))
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, strings.Replace(sql, "$VISIBLE", s.visibleJoin(), 1), s.args(pgx.NamedArgs{"ids": valid}))
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
	err := s.query(ctx, func(tx querier) error {
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
