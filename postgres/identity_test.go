package postgres_test

import (
	"slices"
	"testing"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// TestIdentityRecord: the session's start reads what the hub knows of the caller — registered or not,
// disabled or not, the partner suspended or not, the roles held — and the operator's changes to those
// records are what the next session reads.
func TestIdentityRecord(t *testing.T) {
	db := open(t, pgtest.NewDemo(t))
	officer := demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM)
	start := func(slug, username string) (*postgres.Identity, error) {
		t.Helper()
		s := db.NewSession(postgres.SessionRequest{PartnerSlug: slug, Username: username,
			Scope: lindung.Scope{Rows: lindung.ScopeNone, Purpose: lindung.PurposeCaseManagement}})
		id, err := s.Start(ctx)
		if err == nil {
			s.Rollback(ctx)
		}
		return id, err
	}
	// admin runs fn in an operator's session and commits it.
	admin := func(fn func(s *postgres.Session) error) error {
		t.Helper()
		s := db.NewSession(postgres.SessionRequest{PartnerSlug: demo.SlugOperator, Username: demo.DemoUsername(demo.RoleOperator, demo.SlugOperator),
			Scope: lindung.Scope{Rows: lindung.ScopeNone, Purpose: lindung.PurposeCaseManagement}})
		if _, err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := fn(s); err != nil {
			s.Rollback(ctx)
			return err
		}
		return s.Commit(ctx)
	}

	id, err := start(demo.SlugKPWKM, officer)
	if err != nil || id.UserID == "" || id.UserDisabled || id.PartnerSuspended || !slices.Equal(id.UserRoles, []string{demo.RoleProtectionOfficer}) {
		t.Fatalf("registered officer: %+v %v", id, err)
	}
	if id, err := start(demo.SlugNGOHarapan, officer); err != nil || id.UserID != "" || id.UserRoles != nil {
		t.Errorf("the officer looked up at another partner: %+v %v", id, err)
	}
	if id, err := start(demo.SlugNGOHarapan, "ghost@ngo-harapan"); err != nil || id.UserID != "" {
		t.Errorf("an unregistered user: %+v %v", id, err)
	}

	var first *lindung.User
	if err := admin(func(s *postgres.Session) (err error) { first, err = s.SetUserDisabled(ctx, officer, true); return err }); err != nil || !first.Disabled {
		t.Fatalf("disable: %+v %v", first, err)
	}
	var since1, since2 time.Time
	mustScan(t, db, []any{&since1}, `SELECT disabled_at FROM users WHERE username = $1`, officer)
	if err := admin(func(s *postgres.Session) error { _, err := s.SetUserDisabled(ctx, officer, true); return err }); err != nil {
		t.Fatal(err)
	}
	mustScan(t, db, []any{&since2}, `SELECT disabled_at FROM users WHERE username = $1`, officer)
	if !since1.Equal(since2) {
		t.Errorf("a second disable moved disabled_at from %v to %v", since1, since2)
	}
	if id, _ := start(demo.SlugKPWKM, officer); !id.UserDisabled {
		t.Error("the next session does not see the user disabled")
	}
	if err := admin(func(s *postgres.Session) error { _, err := s.SetUserDisabled(ctx, officer, false); return err }); err != nil {
		t.Fatal(err)
	}
	if id, _ := start(demo.SlugKPWKM, officer); id.UserDisabled {
		t.Error("the next session still sees the user disabled")
	}

	var p *lindung.Partner
	if err := admin(func(s *postgres.Session) (err error) {
		p, err = s.SetPartnerSuspended(ctx, demo.SlugNGOHarapan, true)
		return err
	}); err != nil || !p.Suspended {
		t.Fatalf("suspend: %+v %v", p, err)
	}
	if id, _ := start(demo.SlugNGOHarapan, demo.DemoUsername(demo.RoleNGOCaseworker, demo.SlugNGOHarapan)); !id.PartnerSuspended {
		t.Error("the next session does not see the partner suspended")
	}
	if id, _ := start(demo.SlugKPWKM, officer); id.PartnerSuspended {
		t.Error("another partner is seen suspended")
	}
	if err := admin(func(s *postgres.Session) (err error) {
		p, err = s.SetPartnerSuspended(ctx, demo.SlugNGOHarapan, false)
		return err
	}); err != nil || p.Suspended {
		t.Fatalf("reinstate: %+v %v", p, err)
	}

	var u *lindung.User
	roles := []string{demo.RoleProtectionOfficer, demo.RoleMinistryAnalyst}
	if err := admin(func(s *postgres.Session) (err error) { u, err = s.SetUserRoles(ctx, officer, roles); return err }); err != nil || !slices.Equal(u.Roles, roles) {
		t.Fatalf("set roles: %+v %v", u, err)
	}
	if id, _ := start(demo.SlugKPWKM, officer); !slices.Equal(id.UserRoles, roles) {
		t.Errorf("the next session reads roles %v", id.UserRoles)
	}

	for name, fn := range map[string]func(s *postgres.Session) error{
		"disable":   func(s *postgres.Session) error { _, err := s.SetUserDisabled(ctx, "nobody@kpwkm", true); return err },
		"set roles": func(s *postgres.Session) error { _, err := s.SetUserRoles(ctx, "nobody@kpwkm", roles); return err },
		"suspend":   func(s *postgres.Session) error { _, err := s.SetPartnerSuspended(ctx, "ngo-nowhere", true); return err },
	} {
		if err := admin(fn); lindung.CodeOf(err) != lindung.ENOTFOUND {
			t.Errorf("%s of an unknown record: %v, want NOT_FOUND", name, err)
		}
	}
}
