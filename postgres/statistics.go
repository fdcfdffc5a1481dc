package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// statisticsSQL is the one statement of each panel. Each calls a SECURITY DEFINER function of migration
// 004, which counts in the database under the caller's category bases and returns counts per cell, never a
// case row; the caller's row scope (none, for the analyst) is not what limits it, the bases are. Since
// migration 007 the bases passed can only narrow those the database holds for the caller's registered
// roles (SetStatisticsBases).
var statisticsSQL = map[lindung.StatisticsPanel]string{
	lindung.PanelOrders: `SELECT kind, coalesce(key, ''), n, 0::bigint, 0::bigint, NULL::float8
		FROM statistics_orders(@need, @legal, @consent, @within, @state::malaysian_state)`,
	lindung.PanelServices: `SELECT kind, coalesce(key, ''), n, 0::bigint, 0::bigint, NULL::float8
		FROM statistics_services(@need, @legal, @consent, @from, @to, @state::malaysian_state)`,
	lindung.PanelReferrals: `SELECT kind, coalesce(key, ''), n, 0::bigint, 0::bigint, median_days
		FROM statistics_referrals(@need, @legal, @consent, @from, @to, @state::malaysian_state)`,
	lindung.PanelOccupancy: `SELECT kind, coalesce(key, ''), n, coalesce(capacity, 0), coalesce(shelters, 0), NULL::float8
		FROM statistics_occupancy(@state::malaysian_state)`,
}

// casesSQL serves the case breakdowns (trafficking status, gender, month, ...).
const casesSQL = `SELECT kind, coalesce(key, ''), n, 0::bigint, 0::bigint, NULL::float8
	FROM statistics_cases(@dimension, @need, @legal, @consent, @from, @to, @state::malaysian_state)`

// Statistics returns one panel's exact counts in one round trip. The rows are not fit to show: the caller
// applies disclosure control to them.
func (s *Session) Statistics(ctx context.Context, q lindung.StatisticsQuery) ([]lindung.StatisticsRow, error) {
	query, ok := statisticsSQL[q.Panel]
	if !ok {
		query = casesSQL
	}
	args := pgx.NamedArgs{
		"dimension": string(q.Panel),
		"need":      int32(q.Panel.Needs()),
		"legal":     int32(q.Legal),
		"consent":   int32(q.Consent),
		"within":    int32(q.ExpiringWithinDays),
		"from":      dateArg(q.From),
		"to":        dateArg(q.To),
		"state":     q.State,
	}
	var out []lindung.StatisticsRow
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, query, args)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r lindung.StatisticsRow
			if err := rows.Scan(&r.Kind, &r.Key, &r.Count, &r.Capacity, &r.Shelters, &r.MedianDays); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, mapError(err, "statistics "+string(q.Panel))
	}
	return out, nil
}

// dateArg passes a calendar day as a date, nil as NULL (an open end).
func dateArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format(time.DateOnly)
}

// StatisticsBases are the categories one role's policy opens for the STATISTICS purpose, per basis.
type StatisticsBases struct {
	Legal, Consent lindung.CategorySet
}

// SetStatisticsBases replaces the database's copy of the policy's statistics bases, by role, in one
// transaction. The statistics functions count no more than these allow for the caller's registered roles,
// whatever bases the hub passes them, so that a fault in the hub cannot widen a count. Only the owner login
// may write them (`lindung migrate` does, from the policy it is given); the runtime login cannot.
func (db *DB) SetStatisticsBases(ctx context.Context, bases map[string]StatisticsBases) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM statistics_bases`); err != nil {
			return err
		}
		for role, b := range bases {
			if _, err := tx.Exec(ctx, `INSERT INTO statistics_bases (role, legal, consent) VALUES ($1, $2, $3)`,
				role, int32(b.Legal), int32(b.Consent)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store the policy's statistics bases: %w", err)
	}
	return nil
}
