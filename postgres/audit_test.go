package postgres_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// openCounted opens a new demo hub whose statements and round trips counter counts.
func openCounted(t *testing.T) (*postgres.DB, *pgtest.Tracer) {
	t.Helper()
	counter := &pgtest.Tracer{}
	url := pgtest.NewDemo(t)
	db, err := postgres.Open(ctx, url, postgres.Options{Tracer: counter, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	admins.Store(db, &adminPool{url: pgtest.SuperuserURL(url)})
	return db, counter
}

// TestAccessRecordsAreOneStatement: a request's access records go in with one statement, in one round trip
// with the COMMIT, one row each, every field kept, and commit with the request or not at all.
func TestAccessRecordsAreOneStatement(t *testing.T) {
	t.Parallel()
	db, counter := openCounted(t)
	f := &fixture{db: db, ds: demoDataset(), partners: map[string]*lindung.Partner{}}
	for _, p := range f.ds.Partners {
		f.partners[p.Slug] = p
	}
	sc := scopeCases[0]
	var victims []string
	for id := range f.visible(sc) {
		victims = append(victims, id)
	}
	sort.Strings(victims)
	victims = victims[:7]
	userID := ""
	for _, u := range f.ds.Users {
		if u.PartnerID == f.partners[sc.slug].ID {
			userID = u.ID
		}
	}
	access := &lindung.RequestAccess{Accessor: lindung.Accessor{RequestID: "req-1", UserID: userID,
		Username: "caseworker", PartnerID: f.partners[sc.slug].ID, Roles: []string{"ngo_caseworker", "extra"},
		Purpose: sc.purpose, PolicyVersion: "pv-1", OperationName: "CaseFile"}}
	for i, v := range victims {
		access.Victims = append(access.Victims, lindung.VictimAccess{VictimID: v,
			Disclosed: lindung.SetOf(lindung.Health, lindung.Category(i%10)), Withheld: lindung.SetOf(lindung.Counselling)})
	}
	// A user the hub does not know (a token for a user not registered) is recorded without a user id.
	unregistered := &lindung.RequestAccess{Accessor: lindung.Accessor{RequestID: "req-2", Username: "someone",
		PartnerID: access.PartnerID, Purpose: sc.purpose, PolicyVersion: "pv-1"},
		Victims: access.Victims[2:3]}
	var records []*lindung.AccessRecord
	for i := range access.Victims {
		records = append(records, access.Record(i))
	}
	records = append(records, unregistered.Record(0))

	// commit writes a's records with the COMMIT and returns the statements and round trips that took.
	commit := func(a *lindung.RequestAccess) (statements, trips int64) {
		t.Helper()
		s := session(t, db, sc)
		n, rt := counter.Statements(), counter.RoundTrips()
		if err := s.CommitWithAccess(ctx, a); err != nil {
			t.Fatal(err)
		}
		return counter.Statements() - n, counter.RoundTrips() - rt
	}
	if n, rt := commit(nil); n != 1 || rt != 1 {
		t.Errorf("no records: %d statements in %d round trips, want the COMMIT alone", n, rt)
	}
	if n, rt := commit(access); n != 2 || rt != 1 {
		t.Errorf("%d records: %d statements in %d round trips, want the INSERT and the COMMIT in 1", len(access.Victims), n, rt)
	}
	commit(unregistered)
	rows, err := admin(t, db).Pool.Query(ctx, `SELECT request_id, coalesce(user_id::text, ''), username, partner_id::text, roles, purpose::text,
		victim_id::text, category_bits(disclosed), category_bits(withheld), policy_version, operation_name
		FROM access_records WHERE request_id IN ('req-1', 'req-2') ORDER BY request_id, victim_id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*lindung.AccessRecord, error) {
		a := &lindung.AccessRecord{}
		var d, w int32
		err := r.Scan(&a.RequestID, &a.UserID, &a.Username, &a.PartnerID, &a.Roles, &a.Purpose, &a.VictimID, &d, &w, &a.PolicyVersion, &a.OperationName)
		a.Disclosed, a.Withheld = lindung.CategorySet(d), lindung.CategorySet(w)
		return a, err
	})
	if err != nil || len(got) != len(records) {
		t.Fatalf("%d rows, %v; want %d", len(got), err, len(records))
	}
	for i, g := range got {
		w := records[i]
		if g.RequestID != w.RequestID || g.UserID != w.UserID || g.Username != w.Username || g.PartnerID != w.PartnerID ||
			strings.Join(g.Roles, ",") != strings.Join(w.Roles, ",") || g.Purpose != w.Purpose || g.VictimID != w.VictimID ||
			g.Disclosed != w.Disclosed || g.Withheld != w.Withheld || g.PolicyVersion != w.PolicyVersion || g.OperationName != w.OperationName {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}

	// Rolled back with its request: no victim data left, so no record of it either.
	s2 := session(t, db, sc)
	if err := s2.RecordAccessForTest(ctx, &lindung.RequestAccess{Accessor: lindung.Accessor{RequestID: "req-1",
		UserID: userID, Username: "caseworker", PartnerID: access.PartnerID, Purpose: sc.purpose,
		PolicyVersion: "pv-1"},
		Victims: access.Victims[:1]}); err != nil {
		t.Fatal(err)
	}
	s2.Rollback(ctx)
	var n int
	mustScan(t, db, []any{&n}, `SELECT count(*) FROM access_records WHERE request_id = 'req-1'`)
	if n != len(access.Victims) {
		t.Errorf("after a rolled back request: %d records, want %d", n, len(access.Victims))
	}
}

// TestAuditIsAppendOnlyEvenForTheOwner: no role, the superuser that owns the table included, can update,
// delete or truncate an access record.
func TestAuditIsAppendOnlyEvenForTheOwner(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	var before string
	mustScan(t, f.db, []any{&before}, `SELECT md5(string_agg(a::text, ',' ORDER BY id)) FROM access_records a`)
	var super bool
	mustScan(t, f.db, []any{&super}, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`)
	if !super {
		t.Log("the test database user is not a superuser; the owner case is weaker than it could be")
	}
	for _, sql := range []string{
		`UPDATE access_records SET purpose = 'STATISTICS'`,
		`UPDATE access_records SET disclosed = '{}' WHERE id = (SELECT min(id) FROM access_records)`,
		`DELETE FROM access_records`,
		`DELETE FROM access_records WHERE id = (SELECT max(id) FROM access_records)`,
		`TRUNCATE access_records`,
		`TRUNCATE victims CASCADE`,
		`TRUNCATE partners CASCADE`,
	} {
		if _, err := admin(t, f.db).Pool.Exec(ctx, sql); err == nil {
			t.Errorf("%s: succeeded", sql)
		}
	}
	var after string
	mustScan(t, f.db, []any{&after}, `SELECT md5(string_agg(a::text, ',' ORDER BY id)) FROM access_records a`)
	if after != before || before == "" {
		t.Errorf("access_records changed (%s -> %s)", before, after)
	}
}

// TestFindDisclosures: the report merges records per day, partner and purpose, newest day first, keeps
// records that disclosed no category (a look-up of the case reference is an access too), leaves out other
// victims' records, and is NOT_FOUND outside the caller's scope.
func TestFindDisclosures(t *testing.T) {
	t.Parallel()
	f := openConsentFixture(t)
	var twin string // another NGO that happens to carry the same name as ngo-a
	mustScan(t, f.db, []any{&twin}, `INSERT INTO partners (slug, name, type, state) VALUES ('ngo-twin', 'ngo-a', 'NGO', 'JOHOR') RETURNING id::text`)
	d1 := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	d0 := d1.AddDate(0, 0, -1)
	rec := func(at time.Time, partner, purpose, victim, disclosed, withheld string) {
		mustExec(t, f.db, `INSERT INTO access_records (at, request_id, username, partner_id, roles, purpose, victim_id,
			disclosed, withheld, policy_version) VALUES ($1, 'r', 'u', $2, '{r}', $3, $4, $5::data_category[], $6::data_category[], 'v')`,
			at, partner, purpose, victim, disclosed, withheld)
	}
	rec(d1.Add(12*time.Hour), f.ngoA, "SERVICE_DELIVERY", f.v, "{HEALTH}", "{}")
	rec(d1.Add(13*time.Hour), f.ngoA, "SERVICE_DELIVERY", f.v, "{IDENTITY}", "{COUNSELLING}")
	rec(d1.Add(23*time.Hour+59*time.Minute), f.ngoA, "SERVICE_DELIVERY", f.v, "{HEALTH}", "{}")
	rec(d1.Add(14*time.Hour), f.ngoA, "FAMILY_CONTACT", f.v, "{FAMILY}", "{}")
	rec(d1.Add(15*time.Hour), f.gov, "CASE_MANAGEMENT", f.v, "{CASE}", "{}")
	rec(d1.Add(12*time.Hour+30*time.Minute), twin, "SERVICE_DELIVERY", f.v, "{LEGAL}", "{}")
	rec(d0.Add(12*time.Hour), f.ngoA, "SERVICE_DELIVERY", f.v, "{CONTACT}", "{}")
	rec(d1.Add(16*time.Hour), f.ngoB, "SERVICE_DELIVERY", f.v, "{}", "{HEALTH}") // the case reference only
	rec(d1.Add(12*time.Hour), f.ngoA, "SERVICE_DELIVERY", f.m, "{LOCATION}", "{}")
	rec(d1.Add(12*time.Hour), f.ngoB, "SERVICE_DELIVERY", f.unseen, "{LOCATION}", "{}")

	type line struct {
		day, partner string
		typ          lindung.PartnerType
		purpose      lindung.Purpose
		cats         lindung.CategorySet
	}
	want := []line{
		{"2026-03-10", "gov", lindung.PartnerGovernment, lindung.PurposeCaseManagement, lindung.SetOf(lindung.Case)},
		{"2026-03-10", "ngo-b", lindung.PartnerNGO, lindung.PurposeServiceDelivery, 0},
		{"2026-03-10", "ngo-a", lindung.PartnerNGO, lindung.PurposeFamilyContact, lindung.SetOf(lindung.Family)},
		{"2026-03-10", "ngo-a", lindung.PartnerNGO, lindung.PurposeServiceDelivery, lindung.SetOf(lindung.Health, lindung.Identity)},
		{"2026-03-10", "ngo-a", lindung.PartnerNGO, lindung.PurposeServiceDelivery, lindung.SetOf(lindung.Legal)},
		{"2026-03-09", "ngo-a", lindung.PartnerNGO, lindung.PurposeServiceDelivery, lindung.SetOf(lindung.Contact)},
	}
	s := f.session(t, "ngo-a", lindung.PurposeServiceDelivery)
	ds, err := s.FindDisclosures(ctx, f.v)
	if err != nil {
		t.Fatal(err)
	}
	var got []line
	for _, d := range ds {
		got = append(got, line{d.At.UTC().Format("2006-01-02"), d.PartnerName, d.PartnerType, d.Purpose, d.Categories})
	}
	// Lines of one day may come in any order among equal names; the days must be newest first.
	for i := 1; i < len(got); i++ {
		if got[i].day > got[i-1].day {
			t.Errorf("line %d (%s) after line %d (%s): not newest first", i, got[i].day, i-1, got[i-1].day)
		}
	}
	key := func(l line) string { return l.day + l.partner + string(l.purpose) + l.cats.String() }
	sort.Slice(got, func(i, j int) bool { return key(got[i]) < key(got[j]) })
	sort.Slice(want, func(i, j int) bool { return key(want[i]) < key(want[j]) })
	if len(got) != len(want) {
		t.Fatalf("got %d lines %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	if ds, err := s.FindDisclosures(ctx, f.c); err != nil || len(ds) != 0 {
		t.Errorf("a visible case without records: %v, %v; want none", ds, err)
	}
	for _, id := range []string{f.unseen, uuid.NewString(), "nope"} {
		if ds, err := s.FindDisclosures(ctx, id); err != lindung.ErrNotFound || ds != nil {
			t.Errorf("FindDisclosures(%s) = %v, %v; want ErrNotFound", id, ds, err)
		}
	}
	// And the session still works after the NOT_FOUNDs.
	if ds, err := s.FindDisclosures(ctx, f.v); err != nil || len(ds) != len(want) {
		t.Errorf("after NOT_FOUND: %d lines, %v", len(ds), err)
	}
}
