package postgres_test

import (
	"context"
	"net/url"
	"sort"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

var ctx = context.Background()

// demoDataset is the data set the demo template holds, generated again so that the tests' expectations
// come from Go, not from the SQL under test.
var demoDataset = sync.OnceValue(func() *lindung.Dataset { return demo.Generate(pgtest.DemoSize, pgtest.Today()) })

// fixture is a fresh demo database, with one extra case owned by another agency (jim), so that the
// partner scope has something to hide: every demo case is owned by kpwkm.
type fixture struct {
	db       *postgres.DB
	ds       *lindung.Dataset
	partners map[string]*lindung.Partner // by slug
	foreign  string                      // the id of the case owned by jim
}

func openDemo(t *testing.T) *fixture {
	t.Helper()
	db := open(t, pgtest.NewDemo(t))
	f := &fixture{db: db, ds: demoDataset(), partners: map[string]*lindung.Partner{}}
	for _, p := range f.ds.Partners {
		f.partners[p.Slug] = p
	}
	var n int
	mustScan(t, db, []any{&n}, `SELECT count(*) FROM victims`)
	if n != len(f.ds.Victims) {
		t.Fatalf("demo template holds %d victims, the data set %d: template and data set differ", n, len(f.ds.Victims))
	}
	mustScan(t, db, []any{&f.foreign}, `
		WITH v AS (INSERT INTO victims (case_ref, owner_partner_id, legal_name)
			VALUES ('JIM-2026-000001', (SELECT id FROM partners WHERE slug = 'jim'), 'Fictional Foreign Case')
			RETURNING id),
		pl AS (INSERT INTO placements (victim_id, shelter_id, from_date)
			SELECT v.id, (SELECT id FROM shelters ORDER BY id LIMIT 1), current_date FROM v),
		po AS (INSERT INTO protection_orders (victim_id, type, court, order_number, starts_on, ends_on)
			SELECT v.id, 'IPO', 'Test court', 'TEST/IPO/1', current_date, current_date + 21 FROM v),
		sr AS (INSERT INTO service_records (victim_id, service_code, provider_partner_id, status, requested_on)
			SELECT v.id, 'HEALTH', (SELECT id FROM partners WHERE slug = 'ngo-harapan'), 'REQUESTED', current_date FROM v),
		we AS (INSERT INTO work_eligibility (victim_id, protection_order_held, medical_screening_passed,
				risk_assessment_passed, decision)
			SELECT v.id, false, false, false, 'PENDING' FROM v),
		cl AS (INSERT INTO case_links (victim_id, partner_id, role)
			SELECT v.id, (SELECT id FROM partners WHERE slug = 'jim'), 'IMMIGRATION' FROM v),
		c AS (INSERT INTO consents (victim_id, grantor_victim_id, grantor_relation, recorded_by_user_id, language, method, document_ref)
			SELECT v.id, v.id, 'SELF', (SELECT id FROM users ORDER BY id LIMIT 1), 'en', 'WRITTEN', 'TEST/FORM/1' FROM v
			RETURNING id),
		cp AS (INSERT INTO consent_provisions (consent_id, position, grantee_type, categories, purposes, period_start)
			SELECT c.id, 0, 'NGO', '{IDENTITY}', '{SERVICE_DELIVERY}', now() - interval '1 day' FROM c)
		SELECT id::text FROM v`)
	// Audit rows for every case, written by the owner, so that the audit's read policy has rows to hide.
	mustExec(t, db, `INSERT INTO access_records (request_id, username, partner_id, roles, purpose, victim_id,
		disclosed, withheld, policy_version)
		SELECT 'seed', 'seed', owner_partner_id, '{protection_officer}', 'CASE_MANAGEMENT', id, '{CASE}', '{}', 'test'
		FROM victims`)
	return f
}

// open opens the store on url with a small pool, closed when the test ends. pgtest's URLs are the runtime
// login's, as the hub serves; fixtures and checks go through admin.
func open(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(db.Close)
	a := &adminPool{url: pgtest.SuperuserURL(url)}
	admins.Store(db, a)
	t.Cleanup(func() {
		admins.Delete(db)
		if a.db != nil {
			a.db.Close()
		}
	})
	return db
}

// adminPool is the superuser's pool on an opened store's database, opened when first needed.
type adminPool struct {
	url  string
	once sync.Once
	db   *postgres.DB
	err  error
}

// admins maps each store that open returned to its adminPool.
var admins sync.Map

// admin returns a pool on db's database as the test server's superuser, which row-level security does
// not apply to: fixtures are written and expectations read through it, never through the hub's login.
func admin(t *testing.T, db *postgres.DB) *postgres.DB {
	t.Helper()
	v, ok := admins.Load(db)
	if !ok {
		t.Fatal("admin: the store was not opened by open")
	}
	a := v.(*adminPool)
	a.once.Do(func() { a.db, a.err = postgres.Open(ctx, a.url, postgres.Options{MaxConns: 2}) })
	if a.err != nil {
		t.Fatalf("open as superuser: %v", a.err)
	}
	return a.db
}

// scopeCase is a caller: a demo partner with the row scope and purpose its role gets.
type scopeCase struct {
	name    string
	slug    string
	rows    lindung.RowScope
	purpose lindung.Purpose
}

var scopeCases = []scopeCase{
	{"referred ngo-harapan", demo.SlugNGOHarapan, lindung.ScopeReferred, lindung.PurposeServiceDelivery},
	{"partner kpwkm", demo.SlugKPWKM, lindung.ScopePartner, lindung.PurposeCaseManagement},
	{"linked pdrm", demo.SlugPDRM, lindung.ScopeLinked, lindung.PurposeProsecution},
	{"none employer-ladang", demo.SlugEmployerLadang, lindung.ScopeNone, lindung.PurposeEmploymentCheck},
}

// operatorCase is the hub operator's session: no victim rows, and the directory it administers.
var operatorCase = scopeCase{"operator", demo.SlugOperator, lindung.ScopeNone, lindung.PurposeCaseManagement}

// visible computes, in Go from the data set, the ids of the victims sc may see.
func (f *fixture) visible(sc scopeCase) map[string]bool {
	pid := f.partners[sc.slug].ID
	out := map[string]bool{}
	switch sc.rows {
	case lindung.ScopePartner:
		for _, v := range f.ds.Victims {
			if v.OwnerPartnerID == pid {
				out[v.ID] = true
			}
		}
	case lindung.ScopeLinked:
		for _, l := range f.ds.CaseLinks {
			if l.PartnerID == pid {
				out[l.VictimID] = true
			}
		}
	case lindung.ScopeReferred:
		for _, r := range f.ds.Referrals {
			if r.ToPartnerID == pid && r.Status == "ACCEPTED" {
				out[r.VictimID] = true
			}
		}
	}
	return out
}

// allVictimIDs returns the ids of every case in the fixture, the foreign one included.
func (f *fixture) allVictimIDs() []string {
	ids := []string{f.foreign}
	for _, v := range f.ds.Victims {
		ids = append(ids, v.ID)
	}
	return ids
}

// session starts a session for sc, rolled back when the test ends.
func session(t *testing.T, db *postgres.DB, sc scopeCase) *postgres.Session {
	t.Helper()
	return sessionWithin(t, ctx, db, sc)
}

// sessionWithin is session started under rctx, as a request's session is started under the request's
// context.
func sessionWithin(t *testing.T, rctx context.Context, db *postgres.DB, sc scopeCase) *postgres.Session {
	t.Helper()
	s := db.NewSession(postgres.SessionRequest{PartnerSlug: sc.slug, Username: "test@" + sc.slug,
		Scope: lindung.Scope{Rows: sc.rows, Purpose: sc.purpose, Legal: lindung.AllCategories}})
	if _, err := s.Start(rctx); err != nil {
		t.Fatalf("start session for %s: %v", sc.name, err)
	}
	t.Cleanup(func() { s.Rollback(ctx) })
	return s
}

// mustExec runs sql on db's database as the superuser.
func mustExec(t *testing.T, db *postgres.DB, sql string, args ...any) {
	t.Helper()
	if _, err := admin(t, db).Pool.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// mustScan runs sql on db's database as the superuser.
func mustScan(t *testing.T, db *postgres.DB, dest []any, sql string, args ...any) {
	t.Helper()
	if err := admin(t, db).Pool.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// ownerStrings runs sql as the superuser (no row-level security) and returns its first column.
func ownerStrings(t *testing.T, db *postgres.DB, sql string, args ...any) []string {
	t.Helper()
	rows, err := admin(t, db).Pool.Query(ctx, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// diff describes how got differs from want as multisets, at most a few elements each way.
func diff(got, want []string) (missing, extra []string) {
	count := map[string]int{}
	for _, w := range want {
		count[w]++
	}
	for _, g := range got {
		count[g]--
	}
	for k, n := range count {
		for ; n > 0; n-- {
			missing = append(missing, k)
		}
		for ; n < 0; n++ {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return head(missing), head(extra)
}

func head(s []string) []string {
	if len(s) > 5 {
		return append(s[:5:5], "…")
	}
	return s
}

// otherDB returns url naming another database on the same server.
func otherDB(t *testing.T, u, name string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.Path = "/" + name
	return p.String()
}
