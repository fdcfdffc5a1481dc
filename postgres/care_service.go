package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

const serviceRecordColumns = `x.id::text, x.victim_id::text, x.service_code::text, x.provider_partner_id::text,
	x.status::text, x.requested_on, x.scheduled_for, x.delivered_on` + ownedColumns

func scanServiceRecord(rows pgx.Rows) (*lindung.ServiceRecord, string, error) {
	r := &lindung.ServiceRecord{}
	var victimID string
	var consented, referred int32
	err := rows.Scan(&r.ID, &victimID, &r.ServiceCode, &r.ProviderPartnerID, &r.Status, &r.RequestedOn,
		&r.ScheduledFor, &r.DeliveredOn, &consented, &referred)
	r.Owned = owned(victimID, consented, referred)
	return r, victimID, err
}

// CreateServiceRecord records a service of a visible victim and fills in its id.
func (s *Session) CreateServiceRecord(ctx context.Context, r *lindung.ServiceRecord) error {
	err := s.query(ctx, func(tx querier) error {
		return tx.QueryRow(ctx, `INSERT INTO service_records (victim_id, service_code, provider_partner_id, status,
				requested_on, scheduled_for, delivered_on)
			SELECT @victim::uuid, @service::service_code, @provider::uuid, @status::service_status, @requested,
				@scheduled, @delivered
			WHERE `+s.visibleVictim()+` RETURNING id::text`,
			s.args(pgx.NamedArgs{"victim": r.VictimID, "service": r.ServiceCode, "provider": r.ProviderPartnerID,
				"status": r.Status, "requested": r.RequestedOn, "scheduled": r.ScheduledFor, "delivered": r.DeliveredOn})).
			Scan(&r.ID)
	})
	return mapError(err, "create service record")
}

// FindServiceRecordForUpdate returns a service record the session may see, locked until the request ends.
func (s *Session) FindServiceRecordForUpdate(ctx context.Context, id string) (*lindung.ServiceRecord, error) {
	own := ""
	if s.scope.Rows == lindung.ScopeReferred {
		own = ` AND x.provider_partner_id = @partner::uuid`
	}
	return findOneForUpdate(ctx, s, id, `SELECT `+serviceRecordColumns+` FROM service_records x
		`+s.bitsJoin()+`
		WHERE x.id = @id::uuid AND x.victim_id IN (SELECT v.id FROM victims v WHERE `+s.visibleVictims()+`)`+own+`
		FOR UPDATE OF x`, scanServiceRecord)
}

// UpdateServiceRecord writes a service record's status and dates.
func (s *Session) UpdateServiceRecord(ctx context.Context, r *lindung.ServiceRecord) error {
	err := s.query(ctx, func(tx querier) error {
		_, err := tx.Exec(ctx, `UPDATE service_records SET status = @status::service_status,
			scheduled_for = @scheduled, delivered_on = @delivered WHERE id = @id::uuid`,
			pgx.NamedArgs{"id": r.ID, "status": r.Status, "scheduled": r.ScheduledFor, "delivered": r.DeliveredOn})
		return err
	})
	return mapError(err, "update service record")
}

// HasAcceptedReferral reports whether the victim has an accepted, open referral to the session's partner
// for the service: what an NGO must hold to record a service for a case.
func (s *Session) HasAcceptedReferral(ctx context.Context, victimID, service string) (bool, error) {
	if !canonicalUUID(victimID) {
		return false, nil
	}
	var ok bool
	err := s.query(ctx, func(tx querier) error {
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM referrals WHERE victim_id = @victim::uuid
			AND to_partner_id = @partner::uuid AND status = 'ACCEPTED' AND service_code = @service::service_code)`,
			s.args(pgx.NamedArgs{"victim": victimID, "service": service})).Scan(&ok)
	})
	return ok, mapError(err, "find referral")
}

// CreateFamilyContact records a call or visit with family, by the session's partner.
func (s *Session) CreateFamilyContact(ctx context.Context, f *lindung.FamilyContact) error {
	f.RecordedByPartnerID = s.scope.PartnerID
	err := s.query(ctx, func(tx querier) error {
		return tx.QueryRow(ctx, `INSERT INTO family_contacts (victim_id, kind, with_whom, occurred_on,
				interpreter_partner_id, recorded_by_partner_id)
			SELECT @victim::uuid, @kind::family_contact_kind, @with, @on, @interpreter::uuid, @partner::uuid
			WHERE `+s.visibleVictim()+` RETURNING id::text, recorded_at`,
			s.args(pgx.NamedArgs{"victim": f.VictimID, "kind": f.Kind, "with": f.WithWhom, "on": f.OccurredOn,
				"interpreter": f.InterpreterPartnerID})).Scan(&f.ID, &f.RecordedAt)
	})
	return mapError(err, "create family contact")
}

// FindFamilyContactsByVictimIDs returns each visible victim's family-communication log, newest first. An
// NGO sees the entries it recorded.
func (s *Session) FindFamilyContactsByVictimIDs(ctx context.Context, ids []string) ([][]*lindung.FamilyContact, error) {
	own := ""
	if s.scope.Rows == lindung.ScopeReferred {
		own = ` WHERE x.recorded_by_partner_id = @partner::uuid`
	}
	return findByVictims(ctx, s, ids, `SELECT x.id::text, x.victim_id::text, x.kind::text, x.with_whom,
		x.occurred_on, x.interpreter_partner_id::text, x.recorded_by_partner_id::text, x.recorded_at`+ownedColumns+`
		FROM family_contacts x $VISIBLE`+own+` ORDER BY x.occurred_on DESC, x.id`,
		func(rows pgx.Rows) (*lindung.FamilyContact, string, error) {
			f := &lindung.FamilyContact{}
			var victimID string
			var consented, referred int32
			err := rows.Scan(&f.ID, &victimID, &f.Kind, &f.WithWhom, &f.OccurredOn, &f.InterpreterPartnerID,
				&f.RecordedByPartnerID, &f.RecordedAt, &consented, &referred)
			f.Owned = owned(victimID, consented, referred)
			return f, victimID, err
		})
}
