package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// FindOrdersByVictimIDs returns each visible victim's protection orders, newest first.
func (s *Session) FindOrdersByVictimIDs(ctx context.Context, ids []string) ([][]*lindung.ProtectionOrder, error) {
	return findByVictims(ctx, s, ids, `SELECT x.id::text, x.victim_id::text, x.type::text, x.court,
		x.order_number, x.starts_on, x.ends_on, x.ended_on, x.conditions`+ownedColumns+`
		FROM protection_orders x $VISIBLE ORDER BY x.starts_on DESC`,
		func(rows pgx.Rows) (*lindung.ProtectionOrder, string, error) {
			o := &lindung.ProtectionOrder{}
			var victimID string
			var consented, referred int32
			err := rows.Scan(&o.ID, &victimID, &o.Type, &o.Court, &o.OrderNumber, &o.StartsOn, &o.EndsOn,
				&o.EndedOn, &o.Conditions, &consented, &referred)
			o.Owned = owned(victimID, consented, referred)
			return o, victimID, err
		})
}
