package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/disclosure"
	"github.com/lindung/lindung/server"
)

// statCell and breakdown are the statistics API's shapes as the tests read them.
type statCell struct {
	Key        string `json:"key"`
	Count      *int   `json:"count"`
	Suppressed bool   `json:"suppressed"`
}

type breakdown struct {
	Cells []statCell `json:"cells"`
	Total statCell   `json:"total"`
}

const statsQuery = `query($filter: StatisticsFilter) { statistics(filter: $filter) { threshold
	byTraffickingStatus { ...B } byExploitationType { ...B } bySector { ...B } byGender { ...B } byAgeBand { ...B }
	byCitizenship { ...B } byState { ...B } byMonth { ...B }
	orders { active { ...B } expiring { ...B } } services { byService { ...B } byProvider { ...B } }
	referralTurnaround { toAccept { ...B } toComplete { ...B } } } }
fragment B on Breakdown { total { key count suppressed } cells { key count suppressed } }`

// statistics runs statsQuery and returns every breakdown by its path.
func statistics(t *testing.T, h *hub, token string, filter map[string]any) (int, map[string]breakdown) {
	t.Helper()
	res := h.do(request{Token: token, Query: statsQuery, Variables: map[string]any{"filter": filter}})
	if len(res.Errors) > 0 {
		t.Fatalf("statistics: %s", res.Body)
	}
	var raw struct {
		Statistics map[string]json.RawMessage `json:"statistics"`
	}
	if err := json.Unmarshal(res.Data, &raw); err != nil {
		t.Fatal(err)
	}
	var k int
	json.Unmarshal(raw.Statistics["threshold"], &k)
	out := map[string]breakdown{}
	for name, v := range raw.Statistics {
		var b breakdown
		if json.Unmarshal(v, &b) == nil && b.Cells != nil {
			out[name] = b
			continue
		}
		var nested map[string]breakdown
		if json.Unmarshal(v, &nested) == nil {
			for sub, b := range nested {
				out[name+"."+sub] = b
			}
		}
	}
	return k, out
}

// checkProtected asserts the disclosure-control guarantee on every breakdown: no published count from 1
// to k-1, and a breakdown with a published total has no suppressed cell or at least two, holding at least
// k between them, so the total minus the published cells reveals none.
func checkProtected(t *testing.T, k int, bs map[string]breakdown) {
	t.Helper()
	for name, b := range bs {
		suppressed, hidden := 0, 0
		if !b.Total.Suppressed {
			hidden = *b.Total.Count
		}
		for _, c := range append(b.Cells, b.Total) {
			if c.Suppressed != (c.Count == nil) {
				t.Errorf("%s %s: suppressed %v with count %v", name, c.Key, c.Suppressed, c.Count)
			}
			if c.Count != nil && *c.Count > 0 && *c.Count < k {
				t.Errorf("%s %s: count %d published under k = %d", name, c.Key, *c.Count, k)
			}
		}
		for _, c := range b.Cells {
			if c.Suppressed {
				suppressed++
			} else {
				hidden -= *c.Count
			}
		}
		multi := name == "byExploitationType" || name == "byCitizenship"
		if !b.Total.Suppressed && !multi && (suppressed == 1 || (suppressed > 1 && hidden < k)) {
			t.Errorf("%s: %d suppressed cells holding %d: recoverable from the total", name, suppressed, hidden)
		}
	}
}

func TestStatisticsForTheAnalyst(t *testing.T) {
	h := newHub(t)
	token := h.token(demo.SlugKPWKM, demo.RoleMinistryAnalyst)
	k, bs := statistics(t, h, token, nil)
	if k != 5 {
		t.Fatalf("threshold = %d, want the default 5", k)
	}
	checkProtected(t, k, bs)

	// Every state is listed, Sabah and Sarawak included, and published counts equal the database's.
	states := map[string]statCell{}
	for _, c := range bs["byState"].Cells {
		states[c.Key] = c
	}
	if len(states) != 16 {
		t.Errorf("byState lists %d states, want 16", len(states))
	}
	for _, st := range []string{"SABAH", "SARAWAK"} {
		c, ok := states[st]
		if !ok || c.Suppressed {
			t.Fatalf("%s: %+v; the demo has enough cases there to publish", st, c)
		}
		want := h.count(`SELECT count(*) FROM victims v JOIN placements p ON p.victim_id = v.id AND p.to_date IS NULL
			JOIN shelters s ON s.id = p.shelter_id WHERE s.state = $1`, st)
		if int64(*c.Count) != disclosure.Round(int64(want), disclosure.DefaultBase) {
			t.Errorf("%s: %d cases, the database says %d (rounded by default to %d)", st, *c.Count, want, disclosure.DefaultBase)
		}
	}
	if got, want := *bs["byGender"].Total.Count, h.count(`SELECT count(*) FROM victims`); int64(got) != disclosure.Round(int64(want), disclosure.DefaultBase) {
		t.Errorf("total %d, want every demo case (%d): the analyst counts every case on a legal basis", got, want)
	}
	// Statistics disclose no victim: no access record is written, and no case reference is in the response.
	if n := h.count(`SELECT count(*) FROM access_records WHERE username = $1`, demo.DemoUsername(demo.RoleMinistryAnalyst, demo.SlugKPWKM)); n != 0 {
		t.Errorf("%d access records for statistics", n)
	}
	res := h.do(request{Token: token, Query: statsQuery})
	for _, ref := range h.strings(`SELECT case_ref FROM victims LIMIT 50`) {
		if strings.Contains(string(res.Body), ref) {
			t.Fatalf("the response holds case reference %s", ref)
		}
	}
}

// TestStatisticsStateFilterStaysConsistent: a panel filtered to a state has that state's by-state cell as
// its total; where the national breakdown suppresses the cell, the filtered panel is suppressed whole, or
// the filter would read the suppressed count off the total.
func TestStatisticsStateFilterStaysConsistent(t *testing.T) {
	h := newHub(t)
	token := h.token(demo.SlugKPWKM, demo.RoleMinistryAnalyst)
	// A state with 1 to 4 cases (moved out of their shelters, so they count under the owner's state:
	// PUTRAJAYA) is made by hand: place two cases in a Labuan shelter, take every other Labuan case out.
	h.exec(`UPDATE placements SET to_date = current_date WHERE to_date IS NULL
		AND shelter_id IN (SELECT id FROM shelters WHERE state = 'LABUAN')`)
	h.exec(`INSERT INTO placements (victim_id, shelter_id, from_date)
		SELECT v.id, (SELECT id FROM shelters WHERE state = 'LABUAN' LIMIT 1), current_date
		FROM victims v WHERE NOT EXISTS (SELECT 1 FROM placements p WHERE p.victim_id = v.id AND p.to_date IS NULL)
		ORDER BY v.id LIMIT 2`)
	k, bs := statistics(t, h, token, nil)
	var labuan statCell
	for _, c := range bs["byState"].Cells {
		if c.Key == "LABUAN" {
			labuan = c
		}
	}
	if !labuan.Suppressed {
		t.Fatalf("Labuan holds 2 cases and is published: %+v", labuan)
	}
	_, filtered := statistics(t, h, token, map[string]any{"state": "LABUAN"})
	checkProtected(t, k, filtered)
	for name, b := range filtered {
		for _, c := range append(b.Cells, b.Total) {
			if !c.Suppressed {
				t.Errorf("filtered to Labuan, %s %s is published (%v)", name, c.Key, *c.Count)
			}
		}
	}
}

func TestStatisticsThresholdIsConfigurable(t *testing.T) {
	// Without rounding, so that the suppression pattern is checked on exact arithmetic.
	h := newHubWith(t, func(c *server.Config) { c.StatisticsK, c.StatisticsRounding = 11, 1 })
	k, bs := statistics(t, h, h.token(demo.SlugKPWKM, demo.RoleMinistryAnalyst), nil)
	if k != 11 {
		t.Fatalf("threshold = %d, want 11", k)
	}
	checkProtected(t, k, bs)
	if _, err := server.New(server.Config{DB: h.DB, Policy: h.Policy, StatisticsK: 3, StatisticsRounding: 5}); err == nil {
		t.Error("a rounding base above k was accepted: small counts would round to published zeros")
	}
}

// TestStatisticsOnlyForTheAnalyst: every other role is refused, and the analyst only for STATISTICS.
func TestStatisticsOnlyForTheAnalyst(t *testing.T) {
	h := newHub(t)
	for _, tc := range []struct{ partner, role string }{
		{demo.SlugKPWKM, demo.RoleProtectionOfficer},
		{demo.SlugPDRM, demo.RoleEnforcementOfficer},
		{demo.SlugNGOHarapan, demo.RoleNGOCaseworker},
		{demo.SlugEmployerLadang, demo.RoleEmployerHR},
		{demo.SlugOperator, demo.RoleOperator},
	} {
		res := h.do(request{Token: h.token(tc.partner, tc.role), Query: `{ statistics { byGender { total { count } } } }`})
		if res.Code() != "FORBIDDEN" || !strings.Contains(string(res.Data), "null") {
			t.Errorf("%s: %s, want FORBIDDEN and no data", tc.role, res.Body)
		}
	}
}

// TestStatisticsOneRoundTripPerPanel: each panel is one SQL statement, whatever it holds.
func TestStatisticsOneRoundTripPerPanel(t *testing.T) {
	h := newHub(t)
	token := h.token(demo.SlugKPWKM, demo.RoleMinistryAnalyst)
	run := func(fields string) int64 {
		before := h.trace.Statements()
		res := h.do(request{Token: token, Query: `{ statistics { ` + fields + ` } }`})
		if len(res.Errors) > 0 {
			t.Fatalf("%s: %s", fields, res.Body)
		}
		return h.trace.Statements() - before
	}
	run(`threshold`) // the first request may open a connection, whose set-up is traced too
	base := run(`threshold`)
	for _, panel := range []string{
		`byGender { total { count } }`, `byCitizenship { total { count } }`, `byMonth { total { count } }`,
		`occupancyByState { total { occupancy } }`, `orders { active { total { count } } expiring { total { count } } }`,
		`services { byService { total { count } } byProvider { total { count } } }`,
		`referralTurnaround { toAccept { total { count } } toComplete { total { count } } }`,
	} {
		if n := run(`threshold ` + panel); n != base+1 {
			t.Errorf("%s: %d statements beyond the request's own %d, want 1", panel, n-base, base)
		}
	}
}
