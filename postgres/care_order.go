package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

const orderColumns = `x.id::text, x.victim_id::text, x.type::text, x.court, x.order_number, x.starts_on, x.ends_on,
	x.ended_on, x.conditions` + ownedColumns

func scanOrder(rows pgx.Rows) (*lindung.ProtectionOrder, string, error) {
	o := &lindung.ProtectionOrder{}
	var victimID string
	var consented, referred int32
	err := rows.Scan(&o.ID, &victimID, &o.Type, &o.Court, &o.OrderNumber, &o.StartsOn, &o.EndsOn, &o.EndedOn,
		&o.Conditions, &consented, &referred)
	o.Owned = owned(victimID, consented, referred)
	return o, victimID, err
}

// CreateOrder records a protection order of a visible victim and fills in its id.
func (s *Session) CreateOrder(ctx context.Context, o *lindung.ProtectionOrder) error {
	err := s.query(ctx, func(tx querier) error {
		return tx.QueryRow(ctx, `INSERT INTO protection_orders (victim_id, type, court, order_number, starts_on,
				ends_on, conditions)
			SELECT @victim::uuid, @type::order_type, @court, @number, @starts, @ends, @conditions
			WHERE `+s.visibleVictim()+` RETURNING id::text`,
			s.args(pgx.NamedArgs{"victim": o.VictimID, "type": o.Type, "court": o.Court, "number": o.OrderNumber,
				"starts": o.StartsOn, "ends": o.EndsOn, "conditions": nonNil(o.Conditions)})).Scan(&o.ID)
	})
	return mapError(err, "create protection order")
}

// FindOrderForUpdate returns a visible victim's order, locked until the request ends.
func (s *Session) FindOrderForUpdate(ctx context.Context, id string) (*lindung.ProtectionOrder, error) {
	return findOneForUpdate(ctx, s, id, `SELECT `+orderColumns+` FROM protection_orders x
		`+s.bitsJoin()+`
		WHERE x.id = @id::uuid AND x.victim_id IN (SELECT v.id FROM victims v WHERE `+s.visibleVictims()+`)
		FOR UPDATE OF x`, scanOrder)
}

// UpdateOrderDates sets an order's end (an extension) or the day it was ended early; nil leaves a date.
func (s *Session) UpdateOrderDates(ctx context.Context, id string, endsOn, endedOn *time.Time) error {
	err := s.query(ctx, func(tx querier) error {
		_, err := tx.Exec(ctx, `UPDATE protection_orders SET ends_on = coalesce(@ends, ends_on),
			ended_on = coalesce(@ended, ended_on) WHERE id = @id::uuid`,
			pgx.NamedArgs{"id": id, "ends": endsOn, "ended": endedOn})
		return err
	})
	return mapError(err, "update protection order")
}

// FindOrdersExpiring returns the orders of visible victims in force today that end within withinDays
// days, the soonest first.
func (s *Session) FindOrdersExpiring(ctx context.Context, withinDays int) ([]*lindung.ProtectionOrder, error) {
	var out []*lindung.ProtectionOrder
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `WITH page AS (SELECT x.* FROM protection_orders x JOIN victims v ON v.id = x.victim_id
				WHERE `+s.visibleVictims()+` AND x.starts_on <= current_date AND x.ends_on >= current_date
				AND (x.ended_on IS NULL OR x.ended_on > current_date) AND x.ends_on <= current_date + @days::int
				ORDER BY x.ends_on, x.id LIMIT 500)
			SELECT `+orderColumns+` FROM page x
			`+s.bitsJoin()+`
			ORDER BY x.ends_on, x.id`, s.args(pgx.NamedArgs{"days": withinDays}))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			o, _, err := scanOrder(rows)
			if err != nil {
				return err
			}
			out = append(out, o)
		}
		return rows.Err()
	})
	return out, mapError(err, "find expiring orders")
}

// findOneForUpdate runs a query for one record by @id, ErrNotFound when it returns none.
func findOneForUpdate[T any](ctx context.Context, s *Session, id, sql string, scan func(pgx.Rows) (*T, string, error)) (*T, error) {
	if !canonicalUUID(id) {
		return nil, lindung.ErrNotFound
	}
	var out *T
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, sql, s.args(pgx.NamedArgs{"id": id}))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if out, _, err = scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, mapError(err, "find record")
	}
	if out == nil {
		return nil, lindung.ErrNotFound
	}
	return out, nil
}
