package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

const shelterColumns = `s.id::text, s.name, s.operator_partner_id::text, s.state::text, s.category::text,
	s.order_type::text, s.capacity, s.services::text[], coalesce(o.occupancy, 0)`

const shelterFrom = ` FROM shelters s LEFT JOIN shelter_occupancy o ON o.shelter_id = s.id`

func scanShelter(r pgx.CollectableRow) (*lindung.Shelter, error) {
	sh := &lindung.Shelter{}
	return sh, r.Scan(&sh.ID, &sh.Name, &sh.OperatorPartnerID, &sh.State, &sh.Category, &sh.OrderType,
		&sh.Capacity, &sh.Services, &sh.Occupancy)
}

// FindSheltersByIDs returns the shelters with the given ids, aligned to ids, nil for missing.
func (s *Session) FindSheltersByIDs(ctx context.Context, ids []string) ([]*lindung.Shelter, error) {
	return findByIDs(ctx, s, ids, `SELECT `+shelterColumns+shelterFrom+` WHERE s.id = ANY(@ids::uuid[])`,
		scanShelter, func(sh *lindung.Shelter) string { return sh.ID })
}

// FindShelters returns the shelters, in one state when state is given.
func (s *Session) FindShelters(ctx context.Context, state *string) ([]*lindung.Shelter, error) {
	var out []*lindung.Shelter
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `SELECT `+shelterColumns+shelterFrom+`
			WHERE $1::malaysian_state IS NULL OR s.state = $1::malaysian_state ORDER BY s.state, s.name`, state)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanShelter)
		return err
	})
	return out, mapError(err, "find shelters")
}

// CreateShelter registers a place of refuge and fills in its id.
func (s *Session) CreateShelter(ctx context.Context, sh *lindung.Shelter) error {
	err := s.query(ctx, func(tx querier) error {
		return tx.QueryRow(ctx, `INSERT INTO shelters (name, operator_partner_id, state, category, order_type, capacity, services)
			VALUES ($1, $2::uuid, $3::malaysian_state, $4::shelter_category, $5::order_type, $6, $7::service_code[])
			RETURNING id::text`,
			sh.Name, sh.OperatorPartnerID, sh.State, sh.Category, sh.OrderType, sh.Capacity, nonNil(sh.Services)).Scan(&sh.ID)
	})
	return mapError(err, "create shelter")
}
