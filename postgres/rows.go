package postgres

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// validUUIDs returns the ids that parse as UUIDs. A malformed id cannot name a record, so it is treated
// as not found rather than passed to the database to fail there.
func validUUIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, err := uuid.Parse(id); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// owned builds the ownership stamp of a child record from its victim id and the viewer's bits.
func owned(victimID string, consented, referred int32) lindung.Owned {
	return lindung.Owned{VictimID: victimID, Consented: lindung.CategorySet(consented), Referred: lindung.CategorySet(referred)}
}

// ownedColumns are the columns every victim-owned child query appends: its victim's consent and referral
// bits for this request's viewer.
const ownedColumns = `, consented_bits(x.victim_id), referred_bits(x.victim_id)`

// findByVictims runs a query over the child records of the visible victims among ids and groups the
// results aligned to ids. The query selects from a table aliased x and holds the marker $VISIBLE where
// the ids of the visible victims go, as in `WHERE x.victim_id IN $VISIBLE ORDER BY ...`.
func findByVictims[T any](ctx context.Context, s *Session, ids []string, sql string, scan func(pgx.Rows) (T, string, error)) ([][]T, error) {
	out := make([][]T, len(ids))
	valid := validUUIDs(ids)
	if len(valid) == 0 {
		return out, nil
	}
	byVictim := make(map[string][]T, len(valid))
	err := s.query(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, strings.Replace(sql, "$VISIBLE", s.scopedVictimIDs(), 1), s.args(pgx.NamedArgs{"ids": valid}))
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
