package postgres_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
)

// TestUsersRowSecurity is the second wall in front of the staff directory (migration 022): a query in a
// request's transaction that forgets its scope sees the caller's own user and training alone, whatever the
// caller's partner; the operator sees every user; nobody else registers or changes a user, even with an
// UPDATE that forgot its WHERE clause.
func TestUsersRowSecurity(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	var allUsers []string
	for _, u := range f.ds.Users {
		allUsers = append(allUsers, u.Username)
	}
	slices.Sort(allUsers)
	trainedUser := map[string]bool{} // user id → has a training completion
	for _, tr := range f.ds.Trainings {
		trainedUser[tr.UserID] = true
	}
	if len(allUsers) < 5 || len(trainedUser) == 0 {
		t.Fatalf("the demo holds %d users and %d trained ones: the test would prove nothing", len(allUsers), len(trainedUser))
	}

	for _, u := range f.ds.Users {
		var partner *lindung.Partner
		for _, p := range f.ds.Partners {
			if p.ID == u.PartnerID {
				partner = p
			}
		}
		s := f.db.NewSession(postgres.SessionRequest{PartnerSlug: partner.Slug, Username: u.Username,
			Scope: lindung.Scope{Rows: lindung.ScopeNone, Purpose: lindung.PurposeCaseManagement}})
		id, err := s.Start(ctx)
		if err != nil {
			t.Fatalf("start %s: %v", u.Username, err)
		}
		if id.UserID != u.ID {
			t.Fatalf("%s: the start statement found user %q, want %q", u.Username, id.UserID, u.ID)
		}
		seen, err := s.QueryForTest(ctx, `SELECT username FROM users ORDER BY username`)
		if err != nil {
			t.Fatal(err)
		}
		training, err := s.QueryForTest(ctx, `SELECT DISTINCT user_id::text FROM training_completions`)
		if err != nil {
			t.Fatal(err)
		}
		updated, err := s.QueryForTest(ctx, `UPDATE users SET display_name = 'renamed' RETURNING username`)
		if partner.Type == lindung.PartnerOperator {
			if !slices.Equal(seen, allUsers) {
				t.Errorf("operator %s sees users %q, want every user %q", u.Username, seen, allUsers)
			}
			if len(training) != len(trainedUser) {
				t.Errorf("operator %s sees the training of %d users, want %d", u.Username, len(training), len(trainedUser))
			}
			if err != nil || len(updated) != len(allUsers) {
				t.Errorf("operator %s: an UPDATE of every user changed %d rows (%v), want %d", u.Username, len(updated), err, len(allUsers))
			}
		} else {
			if !slices.Equal(seen, []string{u.Username}) {
				t.Errorf("%s (%s) sees users %q, want itself alone", u.Username, partner.Slug, seen)
			}
			if want := trainedUser[u.ID]; len(training) > 1 || (len(training) == 1) != want || (want && training[0] != u.ID) {
				t.Errorf("%s sees the training of %q, want its own only (has any: %v)", u.Username, training, want)
			}
			if err != nil || len(updated) != 0 {
				t.Errorf("%s: an UPDATE of every user changed %q (%v), want nothing", u.Username, updated, err)
			}
			if _, err := s.QueryForTest(ctx, `INSERT INTO users (partner_id, username, roles)
				VALUES ($1::uuid, 'planted@`+partner.Slug+`', '{protection_officer}') RETURNING id::text`, u.PartnerID); err == nil {
				t.Errorf("%s registered a user", u.Username)
			}
		}
		s.Rollback(ctx)
	}
}

// TestUsersOnGrantsStayNamed: the users named on an emergency grant are read with it by those who see the
// grant, across partners (a reviewer of another partner sees who opened it), and by no one else.
func TestUsersOnGrantsStayNamed(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	var victim string
	for _, l := range f.ds.CaseLinks {
		if l.PartnerID == f.partners[demo.SlugPDRM].ID {
			victim = l.VictimID
			break
		}
	}
	err := officer.run(t, f.db, func(s *postgres.Session) error {
		_, err := s.OpenEmergency(ctx, lindung.EmergencyOpen{VictimID: victim, Categories: lindung.SetOf(lindung.Health),
			Need: lindung.EmergencyReview, Roles: []string{"test"}, Reason: "the victim collapsed at the shelter and is unconscious", Minutes: 60})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who  emergencyCaller
		sees bool
	}{{officer, true}, {reviewer, true}, {police, false}} {
		var grants []*lindung.EmergencyGrant
		var users []string
		err := c.who.run(t, f.db, func(s *postgres.Session) (err error) {
			if grants, err = s.FindEmergencyGrants(ctx, false, c.who == reviewer); err != nil {
				return err
			}
			users, err = s.QueryForTest(ctx, `SELECT username FROM users ORDER BY username`)
			return err
		})
		if err != nil {
			t.Fatalf("%s: %v", c.who.username, err)
		}
		named := slices.Contains(users, officer.username)
		if c.sees && (len(grants) != 1 || grants[0].OpenedBy != officer.username || !named) {
			t.Errorf("%s: grants %d, opened by %q, opener among its users: %v; want the grant with its opener named",
				c.who.username, len(grants), openedBy(grants), named)
		}
		if !c.sees && (len(grants) != 0 || named) {
			t.Errorf("%s sees %d grants and the opener among its users (%v): want neither", c.who.username, len(grants), named)
		}
	}
}

func openedBy(gs []*lindung.EmergencyGrant) string {
	if len(gs) == 0 {
		return ""
	}
	return gs[0].OpenedBy
}

// TestPartnersAndSheltersRowSecurity (migrations 023 and 024): every request reads the partner directory,
// no private-sector partner reads a shelter (a place of refuge) or its occupancy, and only the operator
// registers or changes a partner or registers a shelter; nobody changes a shelter, though a placement may
// lock one.
func TestPartnersAndSheltersRowSecurity(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	var partners, shelters int
	mustScan(t, f.db, []any{&partners, &shelters}, `SELECT (SELECT count(*) FROM partners), (SELECT count(*) FROM shelters)`)
	if shelters == 0 {
		t.Fatal("the demo holds no shelter: the test would prove nothing")
	}
	var occupancy int // as a database administrator, with no partner: every shelter
	mustScan(t, f.db, []any{&occupancy}, `SELECT count(*) FROM shelter_occupancy`)
	if occupancy != shelters {
		t.Errorf("with no partner set, shelter_occupancy holds %d shelters, want all %d", occupancy, shelters)
	}
	count := func(s *postgres.Session, sql string) int {
		t.Helper()
		rows, err := s.QueryForTest(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return len(rows)
	}
	for _, sc := range append(slices.Clone(scopeCases), operatorCase) {
		operator := sc.slug == demo.SlugOperator
		wantShelters := shelters
		if sc.slug == demo.SlugEmployerLadang {
			wantShelters = 0
		}
		s := session(t, f.db, sc)
		if n := count(s, `SELECT id::text FROM partners`); n != partners {
			t.Errorf("%s reads %d partners, want the whole directory, %d", sc.name, n, partners)
		}
		if n := count(s, `SELECT id::text FROM shelters`); n != wantShelters {
			t.Errorf("%s reads %d shelters, want %d", sc.name, n, wantShelters)
		}
		if n := count(s, `SELECT id::text FROM shelters ORDER BY id FOR UPDATE`); n != wantShelters {
			t.Errorf("%s locks %d shelters, want %d", sc.name, n, wantShelters)
		}
		// The occupancy views count as their owner, past the policy above, and refuse the same (024).
		if n := count(s, `SELECT shelter_id::text FROM shelter_occupancy`); n != wantShelters {
			t.Errorf("%s reads the occupancy of %d shelters, want %d", sc.name, n, wantShelters)
		}
		if n := count(s, `SELECT state::text FROM state_occupancy`); (n == 0) != (wantShelters == 0) {
			t.Errorf("%s reads the occupancy of %d states, want some only if it reads shelters", sc.name, n)
		}
		wantRenamed := 0
		if operator {
			wantRenamed = partners
		}
		if n := count(s, `UPDATE partners SET name = name RETURNING slug`); n != wantRenamed {
			t.Errorf("%s: an UPDATE of every partner changed %d rows, want %d", sc.name, n, wantRenamed)
		}
		s.Rollback(ctx)

		for _, write := range []string{
			`UPDATE shelters SET capacity = capacity + 1 RETURNING id::text`,
			`INSERT INTO shelters (name, operator_partner_id, state, category, order_type, capacity)
			 SELECT 'Planted', id, 'JOHOR', 'WOMEN', 'IPO', 1 FROM partners LIMIT 1 RETURNING id::text`,
			`INSERT INTO partners (slug, name, type, state) VALUES ('planted', 'Planted', 'NGO', 'JOHOR') RETURNING id::text`,
		} {
			s := session(t, f.db, sc)
			rows, err := s.QueryForTest(ctx, write)
			allowed := operator && !strings.HasPrefix(write, "UPDATE shelters")
			if allowed && (err != nil || len(rows) != 1) {
				t.Errorf("%s: %.40s… = %d rows, %v; want it written", sc.name, write, len(rows), err)
			}
			if !allowed && err == nil && len(rows) > 0 {
				t.Errorf("%s: %.40s… wrote %d rows, want none", sc.name, write, len(rows))
			}
			s.Rollback(ctx)
		}
	}
}
