package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// FindPlacementsByVictimIDs returns each visible victim's placements, the current one first.
func (s *Session) FindPlacementsByVictimIDs(ctx context.Context, ids []string) ([][]*lindung.Placement, error) {
	return findByVictims(ctx, s, ids, `SELECT x.id::text, x.victim_id::text, x.shelter_id::text, x.from_date,
		x.to_date, x.reason`+ownedColumns+` FROM placements x $VISIBLE
		ORDER BY x.to_date DESC NULLS FIRST, x.from_date DESC`,
		func(rows pgx.Rows) (*lindung.Placement, string, error) {
			p := &lindung.Placement{}
			var victimID string
			var consented, referred int32
			err := rows.Scan(&p.ID, &victimID, &p.ShelterID, &p.FromDate, &p.ToDate, &p.Reason, &consented, &referred)
			p.Owned = owned(victimID, consented, referred)
			return p, victimID, err
		})
}

// FindResidentIDsByShelterIDs returns the ids of the visible victims currently placed in each shelter.
func (s *Session) FindResidentIDsByShelterIDs(ctx context.Context, ids []string) ([][]string, error) {
	out := make([][]string, len(ids))
	valid := validUUIDs(ids)
	if len(valid) == 0 {
		return out, nil
	}
	byShelter := map[string][]string{}
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `SELECT p.shelter_id::text, v.id::text FROM placements p
			JOIN victims v ON v.id = p.victim_id
			WHERE p.shelter_id = ANY(@ids::uuid[]) AND p.to_date IS NULL AND `+s.visibleVictims()+`
			ORDER BY v.id`, s.args(pgx.NamedArgs{"ids": valid}))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var shelterID, victimID string
			if err := rows.Scan(&shelterID, &victimID); err != nil {
				return err
			}
			byShelter[shelterID] = append(byShelter[shelterID], victimID)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, mapError(err, "find shelter residents")
	}
	for i, id := range ids {
		out[i] = byShelter[id]
	}
	return out, nil
}
