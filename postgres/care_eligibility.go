package postgres

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// SaveWorkEligibility records an officer's decision on a visible victim's permission to work, replacing
// the previous decision (the change log keeps that there was one).
func (s *Session) SaveWorkEligibility(ctx context.Context, w *lindung.WorkEligibility) error {
	var n int64
	err := s.query(ctx, func(tx querier) error {
		tag, err := tx.Exec(ctx, `INSERT INTO work_eligibility (victim_id, protection_order_held,
				medical_screening_passed, risk_assessment_passed, decision, decided_on, valid_until)
			SELECT @victim::uuid, @po, @medical, @risk, @decision::eligibility_decision, @decided, @until
			WHERE `+s.visibleVictim()+`
			ON CONFLICT (victim_id) DO UPDATE SET protection_order_held = EXCLUDED.protection_order_held,
				medical_screening_passed = EXCLUDED.medical_screening_passed,
				risk_assessment_passed = EXCLUDED.risk_assessment_passed, decision = EXCLUDED.decision,
				decided_on = EXCLUDED.decided_on, valid_until = EXCLUDED.valid_until`,
			s.args(pgx.NamedArgs{"victim": w.VictimID, "po": w.ProtectionOrderHeld, "medical": w.MedicalScreeningPassed,
				"risk": w.RiskAssessmentPassed, "decision": w.Decision, "decided": w.DecidedOn, "until": w.ValidUntil}))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return mapError(err, "save work eligibility")
	}
	if n == 0 {
		return lindung.ErrNotFound
	}
	return nil
}

// HasEmploymentConsent reports whether a visible victim's consent in force grants EMPLOYMENT for
// EMPLOYMENT_CHECK to the employer (by id or as a private partner), or, for a code for any employer
// (employerPartnerID nil), to private partners as a type. The database's one consent evaluator
// (consent_grants, migration 010) decides.
func (s *Session) HasEmploymentConsent(ctx context.Context, victimID string, employerPartnerID *string) (bool, error) {
	var ok bool
	err := s.query(ctx, func(tx querier) error {
		return tx.QueryRow(ctx, `SELECT `+s.visibleVictim()+` AND EXISTS (SELECT 1
			FROM consent_grants('EMPLOYMENT_CHECK', @employer::uuid, 'PRIVATE') g
			WHERE g.victim_id = @victim::uuid AND g.category_bits & category_bits('{EMPLOYMENT}') <> 0)`,
			s.args(pgx.NamedArgs{"victim": victimID, "employer": employerPartnerID})).Scan(&ok)
	})
	return ok, mapError(err, "find employment consent")
}

// CreateEligibilityCode stores a new code of a visible victim by its hash, and fills in its id and times.
func (s *Session) CreateEligibilityCode(ctx context.Context, c *lindung.EligibilityCode, hash []byte) error {
	err := s.query(ctx, func(tx querier) error {
		return tx.QueryRow(ctx, `INSERT INTO eligibility_codes (victim_id, code_hash, employer_partner_id,
				issued_by_user_id, expires_at)
			SELECT @victim::uuid, @hash, @employer::uuid, nullif(@user, '')::uuid, @expires
			WHERE `+s.visibleVictim()+` RETURNING id::text, issued_at`,
			s.args(pgx.NamedArgs{"victim": c.VictimID, "hash": hash, "employer": c.EmployerPartnerID,
				"user": s.scope.UserID, "expires": c.ExpiresAt})).Scan(&c.ID, &c.IssuedAt)
	})
	return mapError(err, "create eligibility code")
}

// FindEligibilityCodeForUpdate returns a visible victim's eligibility code (never the code itself, which
// is not stored), locked until the request ends.
func (s *Session) FindEligibilityCodeForUpdate(ctx context.Context, id string) (*lindung.EligibilityCode, error) {
	return findOneForUpdate(ctx, s, id, `SELECT x.id::text, x.victim_id::text, x.employer_partner_id::text,
			x.issued_at, x.expires_at, x.revoked_at`+ownedColumns+` FROM eligibility_codes x
		`+s.bitsJoin()+`
		WHERE x.id = @id::uuid AND x.victim_id IN (SELECT v.id FROM victims v WHERE `+s.visibleVictims()+`)
		FOR UPDATE OF x`,
		func(rows pgx.Rows) (*lindung.EligibilityCode, string, error) {
			c := &lindung.EligibilityCode{}
			var victimID string
			var consented, referred int32
			err := rows.Scan(&c.ID, &victimID, &c.EmployerPartnerID, &c.IssuedAt, &c.ExpiresAt, &c.RevokedAt,
				&consented, &referred)
			c.Owned = owned(victimID, consented, referred)
			return c, victimID, err
		})
}

// RevokeEligibilityCode ends a code now.
func (s *Session) RevokeEligibilityCode(ctx context.Context, id string) error {
	err := s.query(ctx, func(tx querier) error {
		_, err := tx.Exec(ctx, `UPDATE eligibility_codes SET revoked_at = greatest(now(), issued_at)
			WHERE id = $1::uuid AND revoked_at IS NULL`, id)
		return err
	})
	return mapError(err, "revoke eligibility code")
}

// CheckEligibilityCode answers an employer's check of a code by its hash, and logs the attempt, in one
// statement whatever the code: the work done does not depend on whether the code exists. hash is nil for
// input that cannot be a code, which is checked (and logged) like an unknown code. legal and withConsent
// are the categories the caller's policy opens for the purpose: EMPLOYMENT must be in one of them (and on
// consent, the victim's consent must grant it), so the policy decides this disclosure like any other.
func (s *Session) CheckEligibilityCode(ctx context.Context, hash []byte, legal, withConsent lindung.CategorySet, requestID, username string) (*lindung.EligibilityCheck, error) {
	var prefix *string
	lookup := make([]byte, 32) // all zeros: no stored hash is, so input that is not a code finds nothing
	if hash != nil {
		p := hex.EncodeToString(hash)[:8]
		prefix = &p
		lookup = hash
	}
	out := &lindung.EligibilityCheck{}
	var victimID *string
	var validUntil *time.Time
	err := s.query(ctx, func(tx querier) error {
		return tx.QueryRow(ctx, `WITH c AS (SELECT * FROM check_eligibility_code(@hash, @legal, @consent)),
			log AS (INSERT INTO eligibility_checks (request_id, employer_partner_id, username, code_hash_prefix, eligible)
				SELECT @request, @partner::uuid, @username, @prefix, c.eligible FROM c)
			SELECT c.eligible, c.valid_until, c.victim_id::text FROM c`,
			s.args(pgx.NamedArgs{"hash": lookup, "legal": int32(legal), "consent": int32(withConsent), "request": requestID, "username": username, "prefix": prefix})).
			Scan(&out.Eligible, &validUntil, &victimID)
	})
	if err != nil {
		return nil, mapError(err, "check eligibility code")
	}
	if out.Eligible && victimID != nil {
		out.ValidUntil, out.VictimID = validUntil, *victimID
	} else {
		out.Eligible = false
	}
	return out, nil
}
