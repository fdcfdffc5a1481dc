package postgres_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
)

// rlsTables are the victim-owned tables, each with a deliberately unscoped query as the app runs it, and
// the owner's query that returns every row's key with the victims it belongs to (and, for referrals, the
// partners that see it whatever the case's scope).
var rlsTables = []struct {
	table string
	app   string // key of every row the app role can see
	owner string // key, victims text[], parties text[] of every row
	// ngoOwn: under the referred scope a row must also concern the NGO itself (one of its parties): an NGO
	// sees the services it provides and its own referrals, not other partners'.
	ngoOwn bool
}{
	{"victims", `SELECT id::text FROM victims`,
		`SELECT id::text, ARRAY[id::text], '{}'::text[] FROM victims`, false},
	{"placements", `SELECT id::text FROM placements`,
		`SELECT id::text, ARRAY[victim_id::text], '{}'::text[] FROM placements`, false},
	{"consents", `SELECT id::text FROM consents`,
		`SELECT id::text, ARRAY[victim_id::text], '{}'::text[] FROM consents`, false},
	{"protection_orders", `SELECT id::text FROM protection_orders`,
		`SELECT id::text, ARRAY[victim_id::text], '{}'::text[] FROM protection_orders`, false},
	{"service_records", `SELECT id::text FROM service_records`,
		`SELECT id::text, ARRAY[victim_id::text], ARRAY[provider_partner_id::text] FROM service_records`, true},
	{"work_eligibility", `SELECT victim_id::text FROM work_eligibility`,
		`SELECT victim_id::text, ARRAY[victim_id::text], '{}'::text[] FROM work_eligibility`, false},
	// A family link is seen from either end: the mother's case shows her child, the child's its mother.
	{"family_links", `SELECT victim_id || '>' || related_victim_id FROM family_links`,
		`SELECT victim_id || '>' || related_victim_id, ARRAY[victim_id::text, related_victim_id::text], '{}'::text[] FROM family_links`, false},
	{"case_links", `SELECT victim_id || '>' || partner_id FROM case_links`,
		`SELECT victim_id || '>' || partner_id, ARRAY[victim_id::text], '{}'::text[] FROM case_links`, false},
	// Provisions are checked on their own key, not joined to consents, so their own policy is what is tested.
	{"consent_provisions", `SELECT consent_id || '#' || position FROM consent_provisions`,
		`SELECT p.consent_id || '#' || p.position, ARRAY[c.victim_id::text], '{}'::text[]
		 FROM consent_provisions p JOIN consents c ON c.id = p.consent_id`, false},
	{"access_records", `SELECT id::text FROM access_records`,
		`SELECT id::text, ARRAY[victim_id::text], '{}'::text[] FROM access_records`, false},
	// The two partners a referral is between see it whatever the case's scope.
	{"referrals", `SELECT id::text FROM referrals`,
		`SELECT id::text, ARRAY[victim_id::text], ARRAY[from_partner_id::text, to_partner_id::text] FROM referrals`, true},
}

// TestRowSecurityHoldsForUnscopedQueries is the second wall: a query inside a request's transaction that
// forgets the scope still returns only the rows of the victims the caller may see.
func TestRowSecurityHoldsForUnscopedQueries(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	type ownerRow struct {
		key              string
		victims, parties []string
	}
	owner := map[string][]ownerRow{}
	for _, tc := range rlsTables {
		rows, err := admin(t, f.db).Pool.Query(ctx, tc.owner)
		if err != nil {
			t.Fatalf("%s: %v", tc.owner, err)
		}
		for rows.Next() {
			var r ownerRow
			if err := rows.Scan(&r.key, &r.victims, &r.parties); err != nil {
				t.Fatal(err)
			}
			owner[tc.table] = append(owner[tc.table], r)
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		if len(owner[tc.table]) == 0 {
			t.Fatalf("%s holds no rows: the test would prove nothing", tc.table)
		}
	}
	for _, sc := range scopeCases {
		visible := f.visible(sc)
		pid := f.partners[sc.slug].ID
		if sc.rows != lindung.ScopeNone && (len(visible) == 0 || len(visible) >= len(f.allVictimIDs())) {
			t.Fatalf("%s: sees %d of %d cases: the scope must hide some and show some", sc.name, len(visible), len(f.allVictimIDs()))
		}
		t.Run(sc.name, func(t *testing.T) {
			for _, tc := range rlsTables {
				t.Run(tc.table, func(t *testing.T) {
					var want []string
					for _, r := range owner[tc.table] {
						caseSeen, party := false, false
						for _, v := range r.victims {
							caseSeen = caseSeen || visible[v]
						}
						for _, p := range r.parties {
							party = party || p == pid
						}
						seen := caseSeen
						switch {
						case tc.table == "referrals":
							seen = party || (caseSeen && sc.rows != lindung.ScopeReferred)
						case tc.ngoOwn && sc.rows == lindung.ScopeReferred:
							seen = caseSeen && party
						}
						if seen {
							want = append(want, r.key)
						}
					}
					s := session(t, f.db, sc)
					got, err := s.QueryForTest(ctx, tc.app)
					if err != nil {
						t.Fatalf("%s: %v", tc.app, err)
					}
					if missing, extra := diff(got, want); len(missing)+len(extra) > 0 {
						t.Errorf("%s: got %d rows, want %d; missing %v, foreign rows %v", tc.table, len(got), len(want), missing, extra)
					}
					if sc.rows == lindung.ScopeNone && len(got) != 0 {
						t.Errorf("%s: scope none sees %d rows", tc.table, len(got))
					}
				})
			}
		})
	}
}

// TestSessionRunsAsTheRuntimeLogin: the request transaction runs as the login the hub connected with, no
// role switched to, which is a member of lindung_app and owns nothing, so row-level security applies to
// it, with the scope in transaction-local settings.
func TestSessionRunsAsTheRuntimeLogin(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	sc := scopeCases[0]
	s := session(t, f.db, sc)
	var login string
	if err := f.db.Pool.QueryRow(ctx, `SELECT session_user::text`).Scan(&login); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ sql, want string }{
		{`SELECT current_user::text`, login},
		{`SELECT (current_user = session_user)::text`, "true"},
		{`SELECT pg_has_role(current_user, 'lindung_app', 'USAGE')::text`, "true"},
		{`SELECT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user)::text`, "false"},
		{`SELECT count(*)::text FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)`, "0"},
		{`SELECT current_setting('lindung.partner_id')`, f.partners[sc.slug].ID},
		{`SELECT current_setting('lindung.partner_type')`, string(lindung.PartnerNGO)},
		{`SELECT current_setting('lindung.scope')`, string(sc.rows)},
		{`SELECT current_setting('lindung.purpose')`, string(sc.purpose)},
	} {
		got, err := s.QueryForTest(ctx, tc.sql)
		if err != nil || len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s = %v, %v; want %q", tc.sql, got, err, tc.want)
		}
	}
	// The settings are transaction-local: a connection back in the pool carries no scope.
	s.Rollback(ctx)
	for i := 0; i < 4; i++ {
		var user, scope string
		if err := f.db.Pool.QueryRow(ctx, `SELECT current_user::text, coalesce(current_setting('lindung.scope', true), '')`).Scan(&user, &scope); err != nil {
			t.Fatal(err)
		}
		if user != login || scope != "" {
			t.Errorf("pooled connection after the session: user %q scope %q", user, scope)
		}
	}
}

// TestAppRoleCannotChangeTheAudit: the runtime login may append access records in its own partner's name only,
// and never update or delete one.
func TestAppRoleCannotChangeTheAudit(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	ngo := scopeCases[0]
	own, foreign := f.partners[ngo.slug].ID, f.partners[demo.SlugKPWKM].ID
	visibleVictim := ""
	for id := range f.visible(ngo) {
		visibleVictim = id
		break
	}
	insert := `INSERT INTO access_records (request_id, username, partner_id, roles, purpose, victim_id, disclosed,
		withheld, policy_version) VALUES ('t', 't', $1, '{ngo_caseworker}', 'SERVICE_DELIVERY', $2, '{HEALTH}', '{}', 'test')`
	for _, tc := range []struct {
		name  string
		sql   string
		args  []any
		allow bool
	}{
		{"insert in own name", insert, []any{own, visibleVictim}, true},
		{"insert in another partner's name", insert, []any{foreign, visibleVictim}, false},
		{"update", `UPDATE access_records SET purpose = 'STATISTICS'`, nil, false},
		{"update own", `UPDATE access_records SET purpose = 'STATISTICS' WHERE partner_id = $1`, []any{own}, false},
		{"delete", `DELETE FROM access_records`, nil, false},
		{"truncate", `TRUNCATE access_records`, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before int
			mustScan(t, f.db, []any{&before}, `SELECT count(*) FROM access_records`)
			s := session(t, f.db, ngo)
			err := s.ExecForTest(ctx, tc.sql, tc.args...)
			if tc.allow {
				if err != nil {
					t.Fatalf("%v", err)
				}
				return
			}
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
				t.Fatalf("got %v, want insufficient_privilege (42501)", err)
			}
			if code := lindung.CodeOf(postgres.MapError(err, "test")); code != lindung.EFORBIDDEN {
				t.Errorf("mapped to %s, want FORBIDDEN", code)
			}
			s.Rollback(ctx)
			var after int
			mustScan(t, f.db, []any{&after}, `SELECT count(*) FROM access_records`)
			if after != before {
				t.Errorf("access_records: %d rows before, %d after", before, after)
			}
		})
	}
	// Through the store's write, too: access records in another partner's name are refused.
	s := session(t, f.db, ngo)
	err := s.CommitWithAccess(ctx, &lindung.RequestAccess{Accessor: lindung.Accessor{RequestID: "r", Username: "u",
		PartnerID: foreign, Purpose: lindung.PurposeServiceDelivery, PolicyVersion: "t"},
		Victims: []lindung.VictimAccess{{VictimID: visibleVictim, Disclosed: lindung.SetOf(lindung.Health)}}})
	if lindung.CodeOf(err) != lindung.EFORBIDDEN {
		t.Errorf("access records in another partner's name: %v, want FORBIDDEN", err)
	}
}

// TestAppRoleCannotWriteOutsideItsScope: the write side of the policies holds for the victim-owned tables.
func TestAppRoleCannotWriteOutsideItsScope(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	ngo := scopeCases[0]
	for _, tc := range []struct{ name, sql string }{
		{"update a foreign victim", `UPDATE victims SET phone = '0123' WHERE id = $1`},
		{"insert a placement for a foreign victim", `INSERT INTO placements (victim_id, shelter_id, from_date)
			VALUES ($1, (SELECT id FROM shelters LIMIT 1), current_date - 400)`},
		{"insert a consent for a foreign victim", `INSERT INTO consents (victim_id, grantor_victim_id, grantor_relation,
			recorded_by_user_id, language, method) VALUES ($1, $1, 'SELF', (SELECT id FROM users LIMIT 1), 'en', 'VERBAL')`},
		{"delete a victim", `DELETE FROM victims WHERE id = $1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before string
			mustScan(t, f.db, []any{&before}, `SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (
				SELECT v::text FROM victims v UNION ALL SELECT p::text FROM placements p UNION ALL SELECT c::text FROM consents c) t`)
			s := session(t, f.db, ngo)
			err := s.ExecForTest(ctx, tc.sql, f.foreign)
			if err == nil {
				// An UPDATE that matches nothing is fine: the row is simply not there for this caller.
				err = s.Commit(ctx)
			}
			var after string
			mustScan(t, f.db, []any{&after}, `SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (
				SELECT v::text FROM victims v UNION ALL SELECT p::text FROM placements p UNION ALL SELECT c::text FROM consents c) t`)
			if after != before {
				t.Errorf("a write outside the scope changed the data (err %v)", err)
			}
		})
	}
}

// TestUnknownPartnerIsUnauthenticated: a token naming a partner the hub does not know opens nothing and
// leaves no transaction (nor connection) behind.
func TestUnknownPartnerIsUnauthenticated(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	for _, slug := range []string{"no-such-partner", "", "KPWKM", "kpwkm' OR '1'='1"} {
		s := f.db.NewSession(postgres.SessionRequest{PartnerSlug: slug, Username: "x",
			Scope: lindung.Scope{Rows: lindung.ScopePartner, Purpose: lindung.PurposeCaseManagement}})
		id, err := s.Start(ctx)
		if lindung.CodeOf(err) != lindung.EUNAUTHENTICATED || id != nil {
			t.Errorf("slug %q: %v, %v; want UNAUTHENTICATED", slug, id, err)
		}
		if n := f.db.Pool.Stat().AcquiredConns(); n != 0 {
			t.Errorf("slug %q: %d connections still held", slug, n)
		}
		if _, err := s.FindVictims(ctx, lindung.VictimFilter{}, lindung.Page{First: 10}); lindung.CodeOf(err) != lindung.EUNAVAILABLE {
			t.Errorf("slug %q: a query after the failed start: %v, want UNAVAILABLE", slug, err)
		}
		if err := s.Commit(ctx); err != nil {
			t.Errorf("slug %q: commit of a session never started: %v", slug, err)
		}
	}
	var open int
	mustScan(t, f.db, []any{&open}, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND state LIKE 'idle in transaction%'`)
	if open != 0 {
		t.Errorf("%d transactions left open", open)
	}
}
