package postgres_test

import (
	"crypto/sha256"
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
)

// TestCareTablesHoldTheirRules: as the app role, consent history cannot be rewritten, the change and check
// logs are append-only, an employer's session reads no eligibility code, and check_eligibility_code
// answers one row naming no victim for an unknown code.
func TestCareTablesHoldTheirRules(t *testing.T) {
	f := openDemo(t)
	employer := lindung.Scope{Rows: lindung.ScopeNone, Purpose: lindung.PurposeEmploymentCheck}
	officer := lindung.Scope{Rows: lindung.ScopePartner, Purpose: lindung.PurposeCaseManagement}
	asApp := func(slug string, scope lindung.Scope, fn func(s *postgres.Session, tx func(string, ...any) error)) {
		t.Helper()
		s := f.db.NewSession(postgres.SessionRequest{PartnerSlug: slug, Username: demo.DemoUsername(demo.RoleProtectionOfficer, slug), Scope: scope})
		if _, err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer s.Rollback(ctx)
		fn(s, func(sql string, args ...any) error { return s.ExecForTest(ctx, sql, args...) })
	}
	for _, tc := range []struct{ name, sql string }{
		{"rewrite a consent's language", `UPDATE consents SET language = 'xx'`},
		{"rewrite a provision", `UPDATE consent_provisions SET categories = '{IDENTITY}'`},
		{"delete a consent", `DELETE FROM consents`},
		{"change the change log", `UPDATE change_records SET action = 'x'`},
		{"delete the check log", `DELETE FROM eligibility_checks`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asApp(demo.SlugKPWKM, officer, func(_ *postgres.Session, exec func(string, ...any) error) {
				if err := exec(tc.sql); err == nil {
					t.Errorf("%s: allowed", tc.sql)
				}
			})
		})
	}
	withdrawn := ""
	mustScan(t, f.db, []any{&withdrawn}, `SELECT id::text FROM consents WHERE withdrawn_at IS NOT NULL LIMIT 1`)
	asApp(demo.SlugKPWKM, officer, func(_ *postgres.Session, exec func(string, ...any) error) {
		if err := exec(`UPDATE consents SET withdrawn_at = now() WHERE id = $1`, withdrawn); err == nil {
			t.Error("a withdrawal was moved")
		}
	})
	mustExec(t, f.db, `INSERT INTO eligibility_codes (victim_id, code_hash, expires_at)
		SELECT id, sha256('KNOWNCODE1'), now() + interval '1 day' FROM victims LIMIT 1`)
	asApp(demo.SlugEmployerLadang, employer, func(s *postgres.Session, exec func(string, ...any) error) {
		rows, err := s.QueryForTest(ctx, `SELECT id::text FROM eligibility_codes`)
		if err != nil || len(rows) != 0 {
			t.Errorf("the employer reads %d eligibility codes (%v)", len(rows), err)
		}
		unknown := sha256.Sum256([]byte("UNKNOWNCOD"))
		res, err := s.CheckEligibilityCode(ctx, unknown[:], 0, lindung.SetOf(lindung.Employment), "req", "employer")
		if err != nil || res.Eligible || res.VictimID != "" || res.ValidUntil != nil {
			t.Errorf("unknown code: %+v %v", res, err)
		}
		known := sha256.Sum256([]byte("KNOWNCODE1")) // no eligibility decision, no consent: not eligible either
		res, err = s.CheckEligibilityCode(ctx, known[:], 0, lindung.SetOf(lindung.Employment), "req", "employer")
		if err != nil || res.Eligible || res.VictimID != "" {
			t.Errorf("ineligible code: %+v %v", res, err)
		}
	})
	var checks int
	mustScan(t, f.db, []any{&checks}, `SELECT count(*) FROM eligibility_checks`)
	if checks != 0 {
		t.Errorf("%d checks committed by rolled-back sessions", checks)
	}
}
