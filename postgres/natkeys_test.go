package postgres_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/postgres"
)

// TestNaturalKeysAnswerTheSame: registering a case or an order under a natural key that another agency
// uses answers exactly as under a key nobody uses. Before case references and order numbers were unique
// per owning agency, the first answered CONFLICT and enumerated other agencies' cases.
func TestNaturalKeysAnswerTheSame(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	officer := scopeCases[1]
	own := f.ds.Victims[0]
	tries := []struct {
		name, caseRef, orderNumber string
	}{
		{"used by another agency", "JIM-2026-000001", "TEST/IPO/1"},
		{"used by nobody", "JIM-2026-000002", "TEST/IPO/2"},
	}
	var answers []string
	for _, try := range tries {
		s := session(t, f.db, officer)
		v := &lindung.Victim{CaseRef: try.caseRef, TraffickingStatus: "PRESUMED"}
		errV := s.CreateVictim(ctx, v)
		today := time.Now().UTC().Truncate(24 * time.Hour)
		o := &lindung.ProtectionOrder{Owned: lindung.Owned{VictimID: own.ID}, Type: "IPO", Court: "Test court",
			OrderNumber: try.orderNumber, StartsOn: today, EndsOn: today.AddDate(0, 0, 21)}
		errO := s.CreateOrder(ctx, o)
		answers = append(answers, fmt.Sprintf("victim: %v, order: %v", lindung.CodeOf(errV), lindung.CodeOf(errO)))
		if errV != nil || errO != nil {
			t.Errorf("%s: create victim %v, create order %v; want both created", try.name, errV, errO)
		}
		s.Rollback(ctx)
	}
	if answers[0] != answers[1] {
		t.Errorf("a key used by another agency answers %q, an unused one %q", answers[0], answers[1])
	}

	// Within the agency, a reference is still unique: the conflict names only the agency's own case.
	s := session(t, f.db, officer)
	err := s.CreateVictim(ctx, &lindung.Victim{CaseRef: own.CaseRef, TraffickingStatus: "PRESUMED"})
	if lindung.CodeOf(err) != lindung.ECONFLICT {
		t.Errorf("the agency's own case reference again: %v, want CONFLICT", err)
	}
	s.Rollback(ctx)
	s = session(t, f.db, officer)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var number string
	mustScan(t, f.db, []any{&number}, `SELECT order_number FROM protection_orders o JOIN victims v ON v.id = o.victim_id
		WHERE v.owner_partner_id = $1::uuid LIMIT 1`, f.partners[officer.slug].ID)
	err = s.CreateOrder(ctx, &lindung.ProtectionOrder{Owned: lindung.Owned{VictimID: own.ID}, Type: "IPO", Court: "Test court",
		OrderNumber: number, StartsOn: today, EndsOn: today.AddDate(0, 0, 21)})
	if lindung.CodeOf(err) != lindung.ECONFLICT {
		t.Errorf("the agency's own order number again: %v, want CONFLICT", err)
	}
}

// TestCaseRefFilterTakesTheSameTime: filtering victims by another agency's case reference does the same
// work as filtering by one that names no case. Both are timed, interleaved, a few hundred times each;
// each median must lie within the other's interquartile range. Before, the lookup found the foreign row
// by a global index and then dropped it, and nearly every such request was slower than the other's median.
func TestCaseRefFilterTakesTheSameTime(t *testing.T) {
	if testing.Short() {
		t.Skip("times a few hundred lookups")
	}
	f := openDemo(t)
	for _, sc := range scopeCases[:3] {
		t.Run(sc.name, func(t *testing.T) {
			visible := f.visible(sc)
			outside := ""
			for _, v := range append([]*lindung.Victim{{ID: f.foreign, CaseRef: "JIM-2026-000001"}}, f.ds.Victims...) {
				if outside == "" && !visible[v.ID] {
					outside = v.CaseRef
				}
			}
			timeCaseRefs(t, session(t, f.db, sc), outside, "JIM-2026-999999")
		})
	}
}

// timeCaseRefs times the filter by an out-of-scope and by a missing case reference, interleaved, and
// fails unless each median lies within the other's interquartile range.
func timeCaseRefs(t *testing.T, s *postgres.Session, outside, missing string) {
	refs := map[string]string{"out of scope": outside, "missing": missing}
	const n = 300
	times := map[string][]time.Duration{}
	for i := range n + 20 {
		for _, name := range []string{"out of scope", "missing"} {
			ref := refs[name]
			start := time.Now()
			page, err := s.FindVictims(ctx, lindung.VictimFilter{CaseRef: &ref}, lindung.Page{First: 10})
			d := time.Since(start)
			if err != nil || len(page.Victims) != 0 || page.TotalCount != 0 {
				t.Fatalf("%s: %+v, %v; want nothing", name, page, err)
			}
			if i >= 20 { // the first ones warm the statement cache
				times[name] = append(times[name], d)
			}
		}
	}
	q := func(ds []time.Duration, p float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[int(p*float64(len(s)-1))]
	}
	a, b := times["out of scope"], times["missing"]
	t.Logf("median out of scope %v, missing %v (interquartile %v–%v and %v–%v)",
		q(a, .5), q(b, .5), q(a, .25), q(a, .75), q(b, .25), q(b, .75))
	if m := q(a, .5); m < q(b, .25) || m > q(b, .75) {
		t.Errorf("the out-of-scope median %v is outside the missing case's interquartile range", m)
	}
	if m := q(b, .5); m < q(a, .25) || m > q(a, .75) {
		t.Errorf("the missing case's median %v is outside the out-of-scope interquartile range", m)
	}
}
