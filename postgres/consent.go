package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// provisionRow is a consent provision as it is read, aggregated per consent.
type provisionRow struct {
	GranteePartnerID *string
	GranteeType      *string
	CategoryBits     int32
	Purposes         []string
	PeriodStart      time.Time
	PeriodEnd        *time.Time
}

// FindConsentsByVictimIDs returns each visible victim's consents with their provisions, newest first:
// the whole history, withdrawn and expired ones included. The status comes from consent_status, the
// database's one consent evaluator (migration 010).
func (s *Session) FindConsentsByVictimIDs(ctx context.Context, ids []string) ([][]*lindung.Consent, error) {
	return findByVictims(ctx, s, ids, `SELECT x.id::text, x.victim_id::text, x.grantor_victim_id::text,
		x.grantor_relation::text, x.recorded_by_user_id::text, x.recorded_at, x.language,
		x.interpreter_partner_id::text, x.method::text, x.document_ref, x.withdrawn_at,
		x.needs_confirmation, x.confirmed_by_user_id::text, x.confirmed_at, consent_status(x),
		coalesce((SELECT json_agg(json_build_object(
			'GranteePartnerID', p.grantee_partner_id, 'GranteeType', p.grantee_type,
			'CategoryBits', p.category_bits, 'Purposes', p.purposes,
			'PeriodStart', p.period_start, 'PeriodEnd', p.period_end) ORDER BY p.position)
			FROM consent_provisions p WHERE p.consent_id = x.id), '[]')`+ownedColumns+`
		FROM consents x $VISIBLE ORDER BY x.recorded_at DESC, x.id`,
		func(rows pgx.Rows) (*lindung.Consent, string, error) {
			c := &lindung.Consent{}
			var victimID string
			var provisions []provisionRow
			var consented, referred int32
			err := rows.Scan(&c.ID, &victimID, &c.GrantorVictimID, &c.GrantorRelation, &c.RecordedByUserID,
				&c.RecordedAt, &c.Language, &c.InterpreterPartnerID, &c.Method, &c.DocumentRef, &c.WithdrawnAt,
				&c.NeedsConfirmation, &c.ConfirmedByUserID, &c.ConfirmedAt, &c.Status, &provisions, &consented, &referred)
			c.Owned = owned(victimID, consented, referred)
			for _, p := range provisions {
				cp := lindung.ConsentProvision{
					Owned:            c.Owned,
					GranteePartnerID: p.GranteePartnerID,
					Categories:       lindung.CategorySet(p.CategoryBits),
					PeriodStart:      p.PeriodStart,
					PeriodEnd:        p.PeriodEnd,
				}
				if p.GranteeType != nil {
					t := lindung.PartnerType(*p.GranteeType)
					cp.GranteeType = &t
				}
				for _, pu := range p.Purposes {
					cp.Purposes = append(cp.Purposes, lindung.Purpose(pu))
				}
				c.Provisions = append(c.Provisions, cp)
			}
			return c, victimID, err
		})
}
