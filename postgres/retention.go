package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RetentionRules say how long each kind of record is kept. Zero fields take DefaultRetention's.
type RetentionRules struct {
	// Cases: the personal data of a case inactive this long (no change to the victim's record, no open or
	// recent placement, referral, service or eligibility code) is erased: name, aliases, date of birth,
	// phone, health and counselling notes, placement reasons; family-contact records are deleted. The
	// case's row, pseudonymous reference and statistical fields stay, because the audit names them.
	Cases time.Duration
	// LegalHold: a case is held, whatever its inactivity, while it has a protection order that ran within
	// this period, or any PROSECUTING case link (the case is, or may again be, in court).
	LegalHold time.Duration
	// EligibilityCodes: codes that expired or were revoked this long ago are deleted.
	EligibilityCodes time.Duration
	// IdempotencyKeys: keys older than this are deleted; a client retrying after this long is not
	// retrying.
	IdempotencyKeys time.Duration
	// Audit: access records, change records and eligibility checks older than this are reported as due
	// for archiving. Retention never deletes them: they are append-only (triggers refuse UPDATE, DELETE
	// and TRUNCATE), and removing them is a deliberate act outside the hub (docs/operating.md).
	Audit time.Duration
}

const year = 365 * 24 * time.Hour

// DefaultRetention keeps cases seven years after they fall quiet, holds cases in court for ten years
// after their last protection order, keeps spent eligibility codes a year, idempotency keys thirty days,
// and flags audit records for archiving after ten years.
var DefaultRetention = RetentionRules{Cases: 7 * year, LegalHold: 10 * year, EligibilityCodes: year,
	IdempotencyKeys: 30 * 24 * time.Hour, Audit: 10 * year}

func (r RetentionRules) withDefaults() RetentionRules {
	d := DefaultRetention
	for _, f := range []struct{ p, def *time.Duration }{{&r.Cases, &d.Cases}, {&r.LegalHold, &d.LegalHold},
		{&r.EligibilityCodes, &d.EligibilityCodes}, {&r.IdempotencyKeys, &d.IdempotencyKeys}, {&r.Audit, &d.Audit}} {
		if *f.p <= 0 {
			*f.p = *f.def
		}
	}
	return r
}

// RetentionCount is what retention does (or would do) to one table: a count, never a record.
type RetentionCount struct {
	Table  string
	Action string // "erase", "delete" or "keep (append-only; due for archiving)"
	Rows   int64
}

// retentionSQL are the steps of a run, in order, each counting the rows it touches. retention_cases is
// the set of cases whose personal data is due for erasure.
var retentionSQL = []struct{ table, action, sql string }{
	{"victims", "erase", `
		CREATE TEMP TABLE retention_cases ON COMMIT DROP AS
		SELECT v.id, v.owner_partner_id FROM victims v
		WHERE v.erased_at IS NULL
		  AND v.updated_at < now() - @cases::interval AND v.identified_on < current_date - @cases::interval
		  AND NOT EXISTS (SELECT 1 FROM placements p WHERE p.victim_id = v.id
		                  AND (p.to_date IS NULL OR p.to_date > current_date - @cases::interval))
		  AND NOT EXISTS (SELECT 1 FROM referrals r WHERE r.victim_id = v.id
		                  AND (r.status IN ('IN_PROGRESS', 'ACCEPTED') OR r.updated_at > now() - @cases::interval))
		  AND NOT EXISTS (SELECT 1 FROM service_records s WHERE s.victim_id = v.id
		                  AND greatest(s.requested_on, s.scheduled_for, s.delivered_on) > current_date - @cases::interval)
		  AND NOT EXISTS (SELECT 1 FROM eligibility_codes c WHERE c.victim_id = v.id
		                  AND c.revoked_at IS NULL AND c.expires_at > now())
		  -- legal hold: in court, or recently under a court's protection
		  AND NOT EXISTS (SELECT 1 FROM case_links l WHERE l.victim_id = v.id AND l.role = 'PROSECUTING')
		  AND NOT EXISTS (SELECT 1 FROM protection_orders o WHERE o.victim_id = v.id
		                  AND coalesce(o.ended_on, o.ends_on) > current_date - @hold::interval)`},
	{"victims", "erase", `
		UPDATE victims v SET legal_name = NULL, aliases = '{}', date_of_birth = NULL, phone = NULL,
			medical_needs = NULL, counselling_notes = NULL, erased_at = now()
		FROM retention_cases c WHERE v.id = c.id`},
	{"placements", "erase", `
		UPDATE placements p SET reason = '' FROM retention_cases c WHERE p.victim_id = c.id AND p.reason <> ''`},
	{"family_contacts", "delete", `
		DELETE FROM family_contacts f USING retention_cases c WHERE f.victim_id = c.id`},
	{"change_records", "insert", `
		INSERT INTO change_records (request_id, username, partner_id, roles, purpose, victim_id, entity, record_id, action, fields)
		SELECT @run, 'lindung retention', c.owner_partner_id, '{}', 'CASE_MANAGEMENT', c.id, 'victim', c.id::text, 'erase',
			'{legalName,aliases,dateOfBirth,phone,medicalNeeds,counsellingNotes,placements.reason,familyContacts}'
		FROM retention_cases c`},
	{"eligibility_codes", "delete", `
		DELETE FROM eligibility_codes WHERE least(expires_at, coalesce(revoked_at, expires_at)) < now() - @codes::interval`},
	{"idempotency_keys", "delete", `
		DELETE FROM idempotency_keys WHERE created_at < now() - @keys::interval`},
	{"access_records", "keep (append-only; due for archiving)", `SELECT count(*) FROM access_records WHERE at < now() - @audit::interval`},
	{"change_records", "keep (append-only; due for archiving)", `SELECT count(*) FROM change_records WHERE at < now() - @audit::interval`},
	{"eligibility_checks", "keep (append-only; due for archiving)", `SELECT count(*) FROM eligibility_checks WHERE at < now() - @audit::interval`},
}

// Retention applies the rules in one transaction and returns what it did per table; with dryRun it does
// the same work and rolls it back, so the counts are exactly what a real run would touch. It runs with
// row-level security off (row_security = off makes PostgreSQL refuse, rather than silently filter, when
// the connecting role is subject to it): run it as the role that migrates the database.
func (db *DB) Retention(ctx context.Context, rules RetentionRules, dryRun bool) ([]RetentionCount, error) {
	rules = rules.withDefaults()
	args := pgx.NamedArgs{"cases": rules.Cases, "hold": rules.LegalHold, "codes": rules.EligibilityCodes,
		"keys": rules.IdempotencyKeys, "audit": rules.Audit, "run": "retention-" + time.Now().UTC().Format(time.RFC3339)}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	defer rollbackTx(ctx, tx)
	if _, err := tx.Exec(ctx, `SET LOCAL row_security = off`); err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	var out []RetentionCount
	for i, step := range retentionSQL {
		var n int64
		if step.action[0] == 'k' { // keep: a count
			err = tx.QueryRow(ctx, step.sql, args).Scan(&n)
		} else {
			var tag interface{ RowsAffected() int64 }
			tag, err = tx.Exec(ctx, step.sql, args)
			if err == nil {
				n = tag.RowsAffected()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("retention: %s: %w", step.table, err)
		}
		if i == 0 {
			continue // the selection of cases; the erasure below counts them
		}
		out = append(out, RetentionCount{Table: step.table, Action: step.action, Rows: n})
	}
	if dryRun {
		return out, nil
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("retention: commit: %w", err)
	}
	return out, nil
}
