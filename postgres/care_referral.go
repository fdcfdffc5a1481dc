package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// CreateReferral refers a visible victim from the session's partner, and fills in the referral's id,
// status and times.
func (s *Session) CreateReferral(ctx context.Context, r *lindung.Referral) error {
	r.FromPartnerID = s.scope.PartnerID
	err := s.query(ctx, func(tx querier) error {
		return tx.QueryRow(ctx, `INSERT INTO referrals (victim_id, from_partner_id, to_partner_id, service_code,
				categories, reason, due_on)
			SELECT @victim::uuid, @partner::uuid, @to::uuid, @service::service_code,
				@categories::text[]::data_category[], @reason, @due
			WHERE `+s.visibleVictim()+` RETURNING id::text, status::text, created_at, updated_at`,
			s.args(pgx.NamedArgs{"victim": r.VictimID, "to": r.ToPartnerID, "service": r.ServiceCode,
				"categories": r.Categories.Names(), "reason": r.Reason, "due": r.DueOn})).
			Scan(&r.ID, &r.Status, &r.CreatedAt, &r.UpdatedAt)
	})
	return mapError(err, "create referral")
}

// FindReferralForUpdate returns a referral sent by or to the session's partner, locked until the request
// ends, with the viewer's bits for its victim. Any other referral is ErrNotFound.
func (s *Session) FindReferralForUpdate(ctx context.Context, id string) (*lindung.Referral, error) {
	if !canonicalUUID(id) {
		return nil, lindung.ErrNotFound
	}
	var r *lindung.Referral
	err := s.query(ctx, func(tx querier) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM referrals x WHERE x.id = @id::uuid
				AND (x.from_partner_id = @partner::uuid OR x.to_partner_id = @partner::uuid) FOR UPDATE`,
			s.args(pgx.NamedArgs{"id": id})); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+referralColumns+` FROM referrals x
			`+s.bitsJoin()+`
			WHERE x.id = @id::uuid AND (x.from_partner_id = @partner::uuid OR x.to_partner_id = @partner::uuid)`,
			s.args(pgx.NamedArgs{"id": id}))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, _, err = scanReferral(rows)
			if err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, mapError(err, "find referral")
	}
	if r == nil {
		return nil, lindung.ErrNotFound
	}
	return r, nil
}

// SetReferralStatus moves a referral between the session's partner and another to status, and returns
// it as it now is. The caller has checked the transition on the locked row.
func (s *Session) SetReferralStatus(ctx context.Context, id, status string, rejectionReason *string) (*lindung.Referral, error) {
	var n int64
	err := s.query(ctx, func(tx querier) error {
		tag, err := tx.Exec(ctx, `UPDATE referrals x SET status = @status::referral_status,
				rejection_reason = @rejection, updated_at = now()
			WHERE x.id = @id::uuid AND (x.from_partner_id = @partner::uuid OR x.to_partner_id = @partner::uuid)`,
			s.args(pgx.NamedArgs{"id": id, "status": status, "rejection": rejectionReason}))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return nil, mapError(err, "set referral status")
	}
	if n == 0 {
		return nil, lindung.ErrNotFound
	}
	return s.FindReferralForUpdate(ctx, id)
}

// FindOverdueReferrals returns the open referrals the session's partner sent whose due date has passed,
// the most overdue first.
func (s *Session) FindOverdueReferrals(ctx context.Context) ([]*lindung.Referral, error) {
	var out []*lindung.Referral
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `WITH page AS (SELECT * FROM referrals x WHERE x.from_partner_id = @partner::uuid
				AND x.status IN ('IN_PROGRESS', 'ACCEPTED') AND x.due_on < current_date
				ORDER BY x.due_on, x.id LIMIT 500)
			SELECT `+referralColumns+` FROM page x
			`+s.bitsJoin()+`
			ORDER BY x.due_on, x.id`, s.args(nil))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, _, err := scanReferral(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, mapError(err, "find overdue referrals")
}
