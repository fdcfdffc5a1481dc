package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// referralColumns are a referral's columns, its victim's bits and whether its victim is in scope, for a
// statement that reads the referral's victim with bitsJoin; visibleReferralColumns are the same for
// findByVictims, where the visible victim joined (b) is the answer.
const (
	referralColumns        = referralFields + ownedColumns + inScopeColumn
	visibleReferralColumns = referralFields + ownedColumns + `, b.id IS NOT NULL`
	referralFields         = `x.id::text, x.victim_id::text, x.from_partner_id::text, x.to_partner_id::text,
	x.service_code::text, x.category_bits, x.status::text, x.reason, x.rejection_reason, x.due_on,
	x.created_at, x.updated_at`
)

// scanReferral reads referralColumns. A referral is the one record the partners it is between read whatever
// the case's scope, so whether its victim is in scope is read with it, never assumed.
func scanReferral(rows pgx.Rows) (*lindung.Referral, string, error) {
	r := &lindung.Referral{}
	var victimID string
	var bits, consented, referred int32
	var inScope bool
	err := rows.Scan(&r.ID, &victimID, &r.FromPartnerID, &r.ToPartnerID, &r.ServiceCode, &bits, &r.Status,
		&r.Reason, &r.RejectionReason, &r.DueOn, &r.CreatedAt, &r.UpdatedAt, &consented, &referred, &inScope)
	r.Categories = lindung.CategorySet(bits)
	r.Owned = owned(victimID, consented, referred)
	r.Owned.InScope = inScope
	return r, victimID, err
}

// FindReferralsByVictimIDs returns each visible victim's referrals, newest first.
func (s *Session) FindReferralsByVictimIDs(ctx context.Context, ids []string) ([][]*lindung.Referral, error) {
	own := ""
	if s.scope.Rows == lindung.ScopeReferred {
		// An NGO sees a case's referrals to itself, not those to other partners (nor their reasons).
		own = ` WHERE (x.from_partner_id = @partner::uuid OR x.to_partner_id = @partner::uuid)`
	}
	return findByVictims(ctx, s, ids, `SELECT `+visibleReferralColumns+` FROM referrals x $VISIBLE`+own+`
		ORDER BY x.created_at DESC, x.id`, scanReferral)
}

// FindReferrals returns the referrals sent by or to the session's partner, newest first. The partners a
// referral is between see it whatever the case's scope; its victim resolves only where the case is visible.
func (s *Session) FindReferrals(ctx context.Context, f lindung.ReferralFilter) ([]*lindung.Referral, error) {
	where := `(x.from_partner_id = @partner::uuid OR x.to_partner_id = @partner::uuid)`
	args := s.args(nil)
	if f.Status != nil {
		where += ` AND x.status = @status::referral_status`
		args["status"] = *f.Status
	}
	var out []*lindung.Referral
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `WITH page AS (SELECT * FROM referrals x WHERE `+where+`
				ORDER BY x.created_at DESC, x.id LIMIT 500)
			SELECT `+referralColumns+` FROM page x
			`+s.bitsJoin()+`
			ORDER BY x.created_at DESC, x.id`, args)
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
	return out, mapError(err, "find referrals")
}
