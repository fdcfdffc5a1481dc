package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// LockShelter locks a shelter until the request ends and returns it with its occupancy counted after the
// lock is taken: two placements into one shelter take turns, and the second counts the first's residents,
// so that together they cannot overfill it.
func (s *Session) LockShelter(ctx context.Context, id string) (*lindung.Shelter, error) {
	if !canonicalUUID(id) {
		return nil, lindung.ErrNotFound
	}
	var sh *lindung.Shelter
	err := s.query(ctx, func(tx querier) error {
		tag, err := tx.Exec(ctx, `SELECT 1 FROM shelters WHERE id = $1::uuid FOR UPDATE`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		// A statement of its own: under READ COMMITTED it sees what committed while it waited for the lock.
		rows, err := tx.Query(ctx, `SELECT `+shelterColumns+shelterFrom+` WHERE s.id = $1::uuid`, id)
		if err != nil {
			return err
		}
		sh, err = pgx.CollectExactlyOneRow(rows, scanShelter)
		return err
	})
	return sh, mapError(err, "lock shelter")
}

// CreatePlacement places a visible victim in a shelter and fills in the placement's id. A victim placed
// already is a CONFLICT (one current placement per victim).
func (s *Session) CreatePlacement(ctx context.Context, p *lindung.Placement) error {
	err := s.query(ctx, func(tx querier) error {
		return tx.QueryRow(ctx, `INSERT INTO placements (victim_id, shelter_id, from_date, reason)
			SELECT @victim::uuid, @shelter::uuid, @from, @reason WHERE `+s.visibleVictim()+` RETURNING id::text`,
			s.args(pgx.NamedArgs{"victim": p.VictimID, "shelter": p.ShelterID, "from": p.FromDate, "reason": p.Reason})).
			Scan(&p.ID)
	})
	return mapError(err, "create placement")
}

// EndPlacement ends a visible victim's current placement on day on.
func (s *Session) EndPlacement(ctx context.Context, id string, on time.Time) error {
	var n int64
	err := s.query(ctx, func(tx querier) error {
		tag, err := tx.Exec(ctx, `UPDATE placements x SET to_date = @on WHERE x.id = @id::uuid AND x.to_date IS NULL
			AND x.victim_id IN (SELECT v.id FROM victims v WHERE `+s.visibleVictims()+`)`,
			s.args(pgx.NamedArgs{"id": id, "on": on}))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return mapError(err, "end placement")
	}
	if n == 0 {
		return lindung.ErrNotFound
	}
	return nil
}

// FindOccupancy returns the shelter capacity and residents per state, of one state when state is given.
// Like a shelter's occupancy it counts every resident, whoever asks: it is a fact about the shelters.
func (s *Session) FindOccupancy(ctx context.Context, state *string) ([]*lindung.StateOccupancy, error) {
	var out []*lindung.StateOccupancy
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `SELECT state::text, shelters, capacity, occupancy FROM state_occupancy
			WHERE $1::malaysian_state IS NULL OR state = $1::malaysian_state ORDER BY state`, state)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*lindung.StateOccupancy, error) {
			o := &lindung.StateOccupancy{}
			return o, r.Scan(&o.State, &o.Shelters, &o.Capacity, &o.Occupancy)
		})
		return err
	})
	return out, mapError(err, "find occupancy")
}
