package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// FindServices returns the service catalogue.
func (s *Session) FindServices(ctx context.Context) ([]*lindung.Service, error) {
	var out []*lindung.Service
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `SELECT code::text, name, description FROM services ORDER BY code`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*lindung.Service, error) {
			sv := &lindung.Service{}
			return sv, r.Scan(&sv.Code, &sv.Name, &sv.Description)
		})
		return err
	})
	return out, mapError(err, "find services")
}

// FindServiceRecordsByVictimIDs returns each visible victim's service records, newest request first.
func (s *Session) FindServiceRecordsByVictimIDs(ctx context.Context, ids []string) ([][]*lindung.ServiceRecord, error) {
	own := ""
	if s.scope.Rows == lindung.ScopeReferred {
		own = ` WHERE x.provider_partner_id = @partner::uuid` // an NGO sees the services it provides
	}
	return findByVictims(ctx, s, ids, `SELECT x.id::text, x.victim_id::text, x.service_code::text,
		x.provider_partner_id::text, x.status::text, x.requested_on, x.scheduled_for, x.delivered_on`+ownedColumns+`
		FROM service_records x $VISIBLE`+own+` ORDER BY x.requested_on DESC, x.id`,
		func(rows pgx.Rows) (*lindung.ServiceRecord, string, error) {
			r := &lindung.ServiceRecord{}
			var victimID string
			var consented, referred int32
			err := rows.Scan(&r.ID, &victimID, &r.ServiceCode, &r.ProviderPartnerID, &r.Status, &r.RequestedOn,
				&r.ScheduledFor, &r.DeliveredOn, &consented, &referred)
			r.Owned = owned(victimID, consented, referred)
			return r, victimID, err
		})
}

// FindWorkEligibilityByVictimIDs returns each visible victim's work eligibility, nil where none is recorded.
func (s *Session) FindWorkEligibilityByVictimIDs(ctx context.Context, ids []string) ([]*lindung.WorkEligibility, error) {
	groups, err := findByVictims(ctx, s, ids, `SELECT x.victim_id::text, x.protection_order_held,
		x.medical_screening_passed, x.risk_assessment_passed, x.decision::text, x.decided_on, x.valid_until`+ownedColumns+`
		FROM work_eligibility x $VISIBLE`,
		func(rows pgx.Rows) (*lindung.WorkEligibility, string, error) {
			w := &lindung.WorkEligibility{}
			var victimID string
			var consented, referred int32
			err := rows.Scan(&victimID, &w.ProtectionOrderHeld, &w.MedicalScreeningPassed, &w.RiskAssessmentPassed,
				&w.Decision, &w.DecidedOn, &w.ValidUntil, &consented, &referred)
			w.Owned = owned(victimID, consented, referred)
			return w, victimID, err
		})
	if err != nil {
		return nil, err
	}
	out := make([]*lindung.WorkEligibility, len(ids))
	for i, g := range groups {
		if len(g) > 0 {
			out[i] = g[0]
		}
	}
	return out, nil
}

// FindFamilyByVictimIDs returns each visible victim's family links, in both directions: a child's link to
// its mother, and a mother's links to her children.
func (s *Session) FindFamilyByVictimIDs(ctx context.Context, ids []string) ([][]*lindung.FamilyLink, error) {
	return findByVictims(ctx, s, ids, `SELECT x.victim_id::text, x.related_victim_id::text, x.relationship`+ownedColumns+`
		FROM (SELECT victim_id, related_victim_id, relationship::text FROM family_links
		      UNION ALL
		      SELECT related_victim_id, victim_id, 'CHILD' FROM family_links) x $VISIBLE
		ORDER BY x.relationship DESC, x.related_victim_id`,
		func(rows pgx.Rows) (*lindung.FamilyLink, string, error) {
			f := &lindung.FamilyLink{}
			var victimID string
			var consented, referred int32
			err := rows.Scan(&victimID, &f.RelatedVictimID, &f.Relationship, &consented, &referred)
			f.Owned = owned(victimID, consented, referred)
			return f, victimID, err
		})
}
