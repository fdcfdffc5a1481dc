package postgres_test

import (
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// importedTables are the tables Import fills, with how many rows a data set puts in each.
var importedTables = []struct {
	table string
	count func(ds *lindung.Dataset) int
}{
	{"partners", func(ds *lindung.Dataset) int { return len(ds.Partners) }},
	{"users", func(ds *lindung.Dataset) int { return len(ds.Users) }},
	{"training_completions", func(ds *lindung.Dataset) int { return len(ds.Trainings) }},
	{"shelters", func(ds *lindung.Dataset) int { return len(ds.Shelters) }},
	{"victims", func(ds *lindung.Dataset) int { return len(ds.Victims) }},
	{"case_links", func(ds *lindung.Dataset) int { return len(ds.CaseLinks) }},
	{"family_links", func(ds *lindung.Dataset) int { return len(ds.FamilyLinks) }},
	{"protection_orders", func(ds *lindung.Dataset) int { return len(ds.Orders) }},
	{"placements", func(ds *lindung.Dataset) int { return len(ds.Placements) }},
	{"service_records", func(ds *lindung.Dataset) int { return len(ds.ServiceRecords) }},
	{"referrals", func(ds *lindung.Dataset) int { return len(ds.Referrals) }},
	{"consents", func(ds *lindung.Dataset) int { return len(ds.Consents) }},
	{"consent_provisions", func(ds *lindung.Dataset) int {
		n := 0
		for _, c := range ds.Consents {
			n += len(c.Provisions)
		}
		return n
	}},
	{"work_eligibility", func(ds *lindung.Dataset) int { return len(ds.WorkEligibility) }},
}

func tableCounts(t *testing.T, db *postgres.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tc := range importedTables {
		var n int
		mustScan(t, db, []any{&n}, `SELECT count(*) FROM `+tc.table)
		out[tc.table] = n
	}
	return out
}

// TestImportDemo: the demo data set loads into an empty hub whole, through the owner login (as `lindung
// seed` and `serve --demo` load it), and its values read back as given.
func TestImportDemo(t *testing.T) {
	t.Parallel()
	db := open(t, pgtest.OwnerURL(pgtest.New(t)))
	if empty, err := db.IsEmpty(ctx); err != nil || !empty {
		t.Fatalf("IsEmpty before import: %v, %v", empty, err)
	}
	ds := demoDataset()
	progress := map[string]int{}
	if err := db.Import(ctx, ds, func(table string, rows int) { progress[table] += rows }); err != nil {
		t.Fatal(err)
	}
	counts := tableCounts(t, db)
	for _, tc := range importedTables {
		want := tc.count(ds)
		if want == 0 {
			t.Errorf("%s: the demo data set has no rows for it", tc.table)
		}
		if counts[tc.table] != want || progress[tc.table] != want {
			t.Errorf("%s: %d rows (progress said %d), want %d", tc.table, counts[tc.table], progress[tc.table], want)
		}
	}
	if empty, err := db.IsEmpty(ctx); err != nil || empty {
		t.Errorf("IsEmpty after import: %v, %v", empty, err)
	}
	// The planner knows the tables' sizes at once (reltuples is -1 for a table never analyzed), not only
	// once autovacuum has come by.
	for _, tc := range importedTables {
		var estimate float64
		mustScan(t, db, []any{&estimate}, `SELECT reltuples FROM pg_class WHERE oid = $1::regclass`, tc.table)
		if want := tc.count(ds); estimate != float64(want) {
			t.Errorf("%s: the planner estimates %.0f rows after the import, want %d", tc.table, estimate, want)
		}
	}
	// Values survive the trip: one victim read back through the store as its owner sees it, bit sets included.
	kp := ""
	for _, p := range ds.Partners {
		if p.Slug == demo.SlugKPWKM {
			kp = p.ID
		}
	}
	s := session(t, db, scopeCases[1])
	for _, want := range ds.Victims[:25] {
		if want.OwnerPartnerID != kp {
			continue
		}
		got, err := s.FindVictimByID(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.CaseRef != want.CaseRef || got.TraffickingStatus != want.TraffickingStatus ||
			!eq(got.LegalName, want.LegalName) || !eq(got.Phone, want.Phone) || !eq(got.AgeBand, want.AgeBand) ||
			!got.IdentifiedOn.Equal(want.IdentifiedOn) || len(got.ExploitationTypes) != len(want.ExploitationTypes) {
			t.Errorf("victim %s read back as %+v, want %+v", want.ID, got, want)
		}
	}
	refs, err := s.FindReferralsByVictimIDs(ctx, []string{ds.Referrals[0].VictimID})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range refs[0] {
		if r.ID == ds.Referrals[0].ID {
			found = true
			if r.Categories != ds.Referrals[0].Categories || r.Status != ds.Referrals[0].Status {
				t.Errorf("referral read back as %v %s, want %v %s", r.Categories, r.Status, ds.Referrals[0].Categories, ds.Referrals[0].Status)
			}
		}
	}
	if !found {
		t.Error("the first referral is not read back")
	}
}

func eq[T comparable](a, b *T) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// TestImportIsAllOrNothing: a data set that fails anywhere leaves the hub as empty as it was.
func TestImportIsAllOrNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		break_ func(ds *lindung.Dataset)
	}{
		{"duplicate case ref (half-way)", func(ds *lindung.Dataset) { ds.Victims[5].CaseRef = ds.Victims[2].CaseRef }},
		{"duplicate work eligibility (last table)", func(ds *lindung.Dataset) {
			ds.WorkEligibility = append(ds.WorkEligibility, ds.WorkEligibility[0])
		}},
		{"provision with no category (after the consents)", func(ds *lindung.Dataset) {
			for _, c := range ds.Consents {
				if len(c.Provisions) > 0 {
					c.Provisions[0].Categories = 0
					return
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := open(t, pgtest.OwnerURL(pgtest.New(t)))
			ds := demo.Generate(40, pgtest.Today()) // a copy of its own to break
			tc.break_(ds)
			var loaded []string
			err := db.Import(ctx, ds, func(table string, _ int) { loaded = append(loaded, table) })
			if err == nil {
				t.Fatal("import of a broken data set succeeded")
			}
			if len(loaded) < 4 {
				t.Errorf("failed after %v: the failure should come after some tables loaded", loaded)
			}
			for table, n := range tableCounts(t, db) {
				if n != 0 {
					t.Errorf("%s: %d rows left behind", table, n)
				}
			}
			if empty, err := db.IsEmpty(ctx); err != nil || !empty {
				t.Errorf("IsEmpty after a failed import: %v, %v", empty, err)
			}
		})
	}
}
