package postgres_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// The tests of this file run on the runtime login, the one the hub serves through (pgtest hands it out),
// and try what a statement injected into a request, or a mistaken one, could try.

// TestRoleSwitchingGainsNothing: there is no role to switch back to. RESET ROLE and RESET SESSION
// AUTHORIZATION leave the runtime login as it is; SET ROLE to the owner or a superuser is refused; SET ROLE
// lindung_app (the runtime login's own privilege role) sees no row more.
func TestRoleSwitchingGainsNothing(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	for _, sc := range scopeCases {
		t.Run(sc.name, func(t *testing.T) {
			s := session(t, f.db, sc)
			count := func() string {
				t.Helper()
				got, err := s.QueryForTest(ctx, `SELECT (SELECT count(*) FROM victims) || '/' || (SELECT count(*) FROM access_records)
					|| '/' || current_user || '/' || coalesce(current_setting('lindung.scope', true), '')`)
				if err != nil {
					t.Fatal(err)
				}
				return got[0]
			}
			before := count()
			if want := len(f.visible(sc)); !strings.HasPrefix(before, strconv.Itoa(want)+"/") {
				t.Fatalf("before: %s, want %d victims", before, want)
			}
			for _, stmt := range []string{`RESET ROLE`, `SET LOCAL ROLE NONE`, `RESET SESSION AUTHORIZATION`, `SET LOCAL ROLE lindung_app`} {
				if err := s.ExecForTest(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
				if after := count(); after != before && !(stmt == `SET LOCAL ROLE lindung_app` && sameCounts(after, before)) {
					t.Errorf("after %s: %s, before %s", stmt, after, before)
				}
			}
		})
	}
	for _, stmt := range []string{`SET ROLE postgres`, `SET ROLE ` + ownerOf(t, f.db), `SET SESSION AUTHORIZATION postgres`,
		`SET SESSION AUTHORIZATION ` + ownerOf(t, f.db)} {
		if _, err := f.db.Pool.Exec(ctx, stmt); !isPermissionDenied(err) {
			t.Errorf("%s: %v, want permission denied", stmt, err)
		}
	}
}

// sameCounts compares the row counts of two count() results, ignoring the role name between them.
func sameCounts(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	return as[0] == bs[0] && as[1] == bs[1] && as[3] == bs[3]
}

// ownerOf is the login that owns db's tables.
func ownerOf(t *testing.T, db *postgres.DB) string {
	t.Helper()
	var owner string
	mustScan(t, db, []any{&owner}, `SELECT tableowner::text FROM pg_tables WHERE tablename = 'victims' AND schemaname = 'public'`)
	return owner
}

func isPermissionDenied(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42501"
}

// updateTables are the victim-owned tables the runtime login may UPDATE, each with a deliberately
// unscoped UPDATE that changes nothing but returns, for every row it touched, the victim the row belongs
// to and the partners a referral is between.
var updateTables = []struct{ table, update string }{
	{"victims", `UPDATE victims SET updated_at = updated_at RETURNING id::text AS victim, '{}'::text[] AS parties`},
	{"placements", `UPDATE placements SET to_date = to_date RETURNING victim_id::text AS victim, '{}'::text[] AS parties`},
	{"protection_orders", `UPDATE protection_orders SET ended_on = ended_on RETURNING victim_id::text AS victim, '{}'::text[] AS parties`},
	{"service_records", `UPDATE service_records SET status = status RETURNING victim_id::text AS victim, ARRAY[provider_partner_id::text] AS parties`},
	{"work_eligibility", `UPDATE work_eligibility SET decided_on = decided_on RETURNING victim_id::text AS victim, '{}'::text[] AS parties`},
	{"consents", `UPDATE consents SET withdrawn_at = withdrawn_at RETURNING victim_id::text AS victim, '{}'::text[] AS parties`},
	{"eligibility_codes", `UPDATE eligibility_codes SET revoked_at = revoked_at RETURNING victim_id::text AS victim, '{}'::text[] AS parties`},
	{"referrals", `UPDATE referrals SET status = status RETURNING victim_id::text AS victim, ARRAY[from_partner_id::text, to_partner_id::text] AS parties`},
}

// TestUnscopedUpdatesTouchOnlyWritableRows: an UPDATE without a WHERE clause, in each row scope, touches
// only rows of the victims the scope may see (or, for referrals, the caller's own), and only where the
// scope may write: the case file only in the partner scope, service records in the referred scope only
// the NGO's own, nothing in the linked scope or the scope none.
func TestUnscopedUpdatesTouchOnlyWritableRows(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	all := map[string]int{} // rows per table, as the superuser sees them
	for _, tc := range updateTables {
		var n int
		mustScan(t, f.db, []any{&n}, `SELECT count(*) FROM `+tc.table)
		all[tc.table] = n
	}
	for _, sc := range scopeCases {
		visible := f.visible(sc)
		me := f.partners[sc.slug].ID
		for _, tc := range updateTables {
			t.Run(sc.name+"/"+tc.table, func(t *testing.T) {
				s := session(t, f.db, sc)
				type row struct {
					victim  string
					parties []string
				}
				var touched []row
				rows, err := s.QueryForTest(ctx, `WITH u AS (`+tc.update+`) SELECT u.victim || '|' || array_to_string(u.parties, ',') FROM u`)
				if err != nil {
					t.Fatalf("%s: %v", tc.update, err)
				}
				for _, r := range rows {
					v, parties, _ := strings.Cut(r, "|")
					touched = append(touched, row{v, strings.Split(parties, ",")})
				}
				for _, r := range touched {
					party := slices.Contains(r.parties, me)
					switch {
					case tc.table == "referrals" && !party:
						t.Errorf("touched a referral between other partners (victim %s)", r.victim)
					case tc.table == "service_records" && sc.rows == lindung.ScopeReferred && !party:
						t.Errorf("touched another provider's service record (victim %s)", r.victim)
					case tc.table != "referrals" && !visible[r.victim]:
						t.Errorf("touched a row of victim %s, outside the scope", r.victim)
					}
				}
				n := len(touched)
				switch {
				case sc.rows == lindung.ScopePartner && tc.table != "referrals" && all[tc.table] > 0 && n == 0:
					t.Errorf("the owning agency could change none of its %s", tc.table)
				case (sc.rows == lindung.ScopeLinked || sc.rows == lindung.ScopeNone) && tc.table != "referrals" && n != 0:
					t.Errorf("the %s scope changed %d rows of %s", sc.rows, n, tc.table)
				case sc.rows == lindung.ScopeReferred && tc.table != "referrals" && tc.table != "service_records" && n != 0:
					t.Errorf("a referred NGO changed %d rows of %s, part of the owner's case file", n, tc.table)
				}
			})
		}
	}
}

// TestRuntimeLoginCannotTamper: outside and inside a request, the runtime login cannot change or remove
// an access record, disable the audit's triggers, turn row security off or escape it, change the schema,
// or give itself more rights.
func TestRuntimeLoginCannotTamper(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	var before string
	mustScan(t, f.db, []any{&before}, `SELECT md5(string_agg(a::text, ',' ORDER BY id)) FROM access_records a`)
	owner := ownerOf(t, f.db)
	for _, stmt := range []string{
		`UPDATE access_records SET purpose = 'STATISTICS'`,
		`DELETE FROM access_records`,
		`TRUNCATE access_records`,
		`ALTER TABLE access_records DISABLE TRIGGER append_only`,
		`ALTER TABLE access_records DISABLE TRIGGER ALL`,
		`ALTER TABLE access_records DISABLE ROW LEVEL SECURITY`,
		`ALTER TABLE victims NO FORCE ROW LEVEL SECURITY`,
		`DROP POLICY scope_read ON victims`,
		`CREATE POLICY everything ON victims FOR SELECT USING (true)`,
		`DROP TRIGGER append_only ON access_records`,
		`CREATE TABLE public.mine (x int)`,
		`CREATE FUNCTION public.mine() RETURNS int LANGUAGE sql AS 'SELECT 1'`,
		`SET session_replication_role = replica`,
		`ALTER ROLE CURRENT_USER BYPASSRLS`,
		`GRANT ` + owner + ` TO CURRENT_USER`,
		`UPDATE statistics_bases SET legal = -1`,
		// Columns no action changes: a referral's receiver may answer it, never widen or redirect it.
		`UPDATE referrals SET categories = '{IDENTITY,CONTACT,HEALTH,COUNSELLING}'`,
		`UPDATE referrals SET to_partner_id = from_partner_id`,
		`UPDATE service_records SET victim_id = victim_id`,
		`UPDATE protection_orders SET victim_id = victim_id`,
		`UPDATE placements SET reason = ''`,
		`UPDATE victims SET id = id`,
		`SELECT * FROM statistics_bases`,
		`SELECT * FROM statistics_counted(8, -1, -1)`,
		`SELECT * FROM statistics_counted_for(8, -1, -1, NULL, NULL)`,
		`SELECT * FROM statistics_caller(-1, -1)`,
	} {
		if _, err := f.db.Pool.Exec(ctx, stmt); !isPermissionDenied(err) {
			t.Errorf("%s: %v, want permission denied (42501)", stmt, err)
		}
	}
	// row_security = off does not turn the policies off for a login subject to them: it makes its queries fail.
	err := pgx.BeginFunc(ctx, f.db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL row_security = off`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT count(*) FROM victims`)
		return err
	})
	if !isPermissionDenied(err) {
		t.Errorf("row_security = off: %v, want permission denied", err)
	}
	// Within a request of the owning agency too.
	for _, stmt := range []string{`UPDATE access_records SET purpose = 'STATISTICS'`, `DELETE FROM access_records`,
		`TRUNCATE access_records`, `ALTER TABLE access_records DISABLE TRIGGER append_only`, `SET LOCAL session_replication_role = replica`} {
		s := session(t, f.db, scopeCases[1])
		if err := s.ExecForTest(ctx, stmt); !isPermissionDenied(err) {
			t.Errorf("in a request: %s: %v, want permission denied", stmt, err)
		}
		s.Rollback(ctx)
	}
	var after string
	mustScan(t, f.db, []any{&after}, `SELECT md5(string_agg(a::text, ',' ORDER BY id)) FROM access_records a`)
	if after != before || before == "" {
		t.Errorf("access_records changed (%s -> %s)", before, after)
	}
}

// TestFunctionsAreGrantedExplicitly: no function of the schema is executable by PUBLIC, and every function
// the runtime login may execute is granted to lindung_app by name; the SECURITY DEFINER functions that
// return case rows or ids are executable by no one but their owner.
func TestFunctionsAreGrantedExplicitly(t *testing.T) {
	t.Parallel()
	db := open(t, pgtest.New(t))
	public := ownerStrings(t, db, `SELECT p.oid::regprocedure::text FROM pg_proc p
		WHERE p.pronamespace = 'public'::regnamespace
		  AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))`)
	if len(public) > 0 {
		t.Errorf("executable by PUBLIC: %v", public)
	}
	var login string
	if err := db.Pool.QueryRow(ctx, `SELECT current_user::text`).Scan(&login); err != nil {
		t.Fatal(err)
	}
	implicit := ownerStrings(t, db, `SELECT p.oid::regprocedure::text FROM pg_proc p
		WHERE p.pronamespace = 'public'::regnamespace AND has_function_privilege($1, p.oid, 'EXECUTE')
		  AND NOT EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 'lindung_app'::regrole AND a.privilege_type = 'EXECUTE')`, login)
	if len(implicit) > 0 {
		t.Errorf("executable by the runtime login without a grant to lindung_app: %v", implicit)
	}
	granted := ownerStrings(t, db, `SELECT p.proname::text FROM pg_proc p
		WHERE p.pronamespace = 'public'::regnamespace AND has_function_privilege($1, p.oid, 'EXECUTE') ORDER BY 1`, login)
	for _, never := range []string{"statistics_counted", "statistics_counted_for", "statistics_caller", "statistics_check", "access_records_append_only",
		"victims_consent_refresh", "victims_consent_track", "victims_consent_empty"} {
		if slices.Contains(granted, never) {
			t.Errorf("the runtime login may execute %s", never)
		}
	}
	if !slices.Contains(granted, "viewer_bits") || !slices.Contains(granted, "statistics_cases") {
		t.Errorf("the runtime login may execute only %v", granted)
	}
}

// TestCheckLogin: serve's start-up check accepts the runtime login and refuses, saying what to change, a
// superuser, the owner (which can bypass row security), and a login that owns a table or a function.
func TestCheckLogin(t *testing.T) {
	t.Parallel()
	url := pgtest.New(t)
	runtime := open(t, url)
	if err := runtime.CheckLogin(ctx); err != nil {
		t.Fatalf("the runtime login is refused: %v", err)
	}
	var login string
	if err := runtime.Pool.QueryRow(ctx, `SELECT current_user::text`).Scan(&login); err != nil {
		t.Fatal(err)
	}
	tableOwner, functionOwner := pgtest.New(t), pgtest.New(t)
	mustExec(t, open(t, tableOwner), `ALTER TABLE placements OWNER TO `+pgx.Identifier{login}.Sanitize())
	mustExec(t, open(t, functionOwner), `ALTER FUNCTION viewer_bits(consent_grant[], uuid, purpose, uuid, partner_type) OWNER TO `+pgx.Identifier{login}.Sanitize())
	for _, tc := range []struct {
		name, url string
		want      []string
	}{
		{"superuser", pgtest.SuperuserURL(url), []string{"a superuser", "NOSUPERUSER NOBYPASSRLS", "LINDUNG_MIGRATE_DATABASE_URL"}},
		{"owner", pgtest.OwnerURL(url), []string{"BYPASSRLS", "ALTER ROLE", "NOBYPASSRLS"}},
		{"table owner", tableOwner, []string{"owns (or is a member of the owner of) table placements", "owns nothing"}},
		{"function owner", functionOwner, []string{"function viewer_bits", "owns nothing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := open(t, tc.url).CheckLogin(ctx)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v\nwant it to say %q", err, w)
				}
			}
		})
	}
}

// TestWritePoliciesPerAction: within the rows a scope may see, the write policies let each scope write only
// what its actions write. Each statement runs in its own request transaction on the runtime login; a
// refused one fails with the row-security violation, an allowed one succeeds (and is rolled back).
func TestWritePoliciesPerAction(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	ngo, officer, police := scopeCases[0], scopeCases[1], scopeCases[2]
	anyOf := func(m map[string]bool) string {
		for id := range m {
			return id
		}
		t.Fatal("no visible victim")
		return ""
	}
	referred, owned, linked := anyOf(f.visible(ngo)), anyOf(f.visible(officer)), anyOf(f.visible(police))
	self := func(sc scopeCase) string { return f.partners[sc.slug].ID }
	other := f.partners["jim"].ID
	var shelter, user string
	mustScan(t, f.db, []any{&shelter, &user}, `SELECT (SELECT id::text FROM shelters ORDER BY id LIMIT 1), (SELECT id::text FROM users ORDER BY id LIMIT 1)`)
	placement := `INSERT INTO placements (victim_id, shelter_id, from_date, to_date) VALUES ($1, $2, current_date - 400, current_date - 390)`
	order := `INSERT INTO protection_orders (victim_id, type, court, order_number, starts_on, ends_on)
		VALUES ($1, 'IPO', 'Court', 'RLS/' || gen_random_uuid(), current_date, current_date + 21)`
	consent := `INSERT INTO consents (victim_id, grantor_victim_id, grantor_relation, recorded_by_user_id, language, method)
		VALUES ($1, $1, 'SELF', $2, 'en', 'VERBAL')`
	service := `INSERT INTO service_records (victim_id, service_code, provider_partner_id, status, requested_on)
		VALUES ($1, 'HEALTH', $2, 'REQUESTED', current_date)`
	contact := `INSERT INTO family_contacts (victim_id, kind, with_whom, occurred_on, recorded_by_partner_id)
		VALUES ($1, 'CALL', 'sister', current_date, $2)`
	referral := `INSERT INTO referrals (victim_id, from_partner_id, to_partner_id, service_code, categories, due_on)
		VALUES ($1, $2, $3, 'HEALTH', '{HEALTH}', current_date + 7)`
	for _, tc := range []struct {
		name  string
		sc    scopeCase
		sql   string
		args  []any
		allow bool
	}{
		{"agency places its own case", officer, placement, []any{owned, shelter}, true},
		{"agency records an order for its own case", officer, order, []any{owned}, true},
		{"agency records consent for its own case", officer, consent, []any{owned, user}, true},
		{"agency refers its own case", officer, referral, []any{owned, self(officer), self(ngo)}, true},
		{"agency refers in another partner's name", officer, referral, []any{owned, other, self(ngo)}, false},
		{"agency records a family contact in another's name", officer, contact, []any{owned, other}, false},
		{"NGO places a referred case", ngo, placement, []any{referred, shelter}, false},
		{"NGO records an order for a referred case", ngo, order, []any{referred}, false},
		{"NGO records consent for a referred case", ngo, consent, []any{referred, user}, false},
		{"NGO refers a referred case onward", ngo, referral, []any{referred, self(ngo), other}, false},
		{"NGO records its own service", ngo, service, []any{referred, self(ngo)}, true},
		{"NGO records another provider's service", ngo, service, []any{referred, other}, false},
		{"NGO records a family contact as itself", ngo, contact, []any{referred, self(ngo)}, true},
		{"NGO records a family contact as another", ngo, contact, []any{referred, other}, false},
		{"police record a service for a linked case", police, service, []any{linked, self(police)}, false},
		{"police record an order for a linked case", police, order, []any{linked}, false},
		{"police record a family contact for a linked case", police, contact, []any{linked, self(police)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := session(t, f.db, tc.sc)
			err := s.ExecForTest(ctx, tc.sql, tc.args...)
			if tc.allow && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.allow && !isPermissionDenied(err) {
				t.Fatalf("%v, want a row-security violation (42501)", err)
			}
		})
	}
}
