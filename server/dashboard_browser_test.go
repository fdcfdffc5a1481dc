package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/lindung/lindung/demo"
)

// chromium returns the path of the headless browser, skipping the test where there is none, except under
// CI=true, where .ci/run installs it and a missing browser is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("LINDUNG_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is required in CI (.ci/run installs it)")
	}
	t.Skip("no chromium: install the Debian package chromium to run the browser test")
	return ""
}

// browse runs headless Chromium on url with extra flags and returns its standard output. Virtual time lets
// the page's fetch and drawing finish before the DOM is dumped, without a timed wait in the test.
func browse(t *testing.T, bin, url string, extra ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=15000", "--window-size=1280,2400"}, extra...)
	out, err := exec.CommandContext(ctx, bin, append(args, url)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", extra, err)
	}
	return out
}

var rowPattern = regexp.MustCompile(`<tr data-panel="([A-Za-z]+)" data-key="([^"]+)" data-suppressed="(true|false)" data-count="([0-9]*)"`)

// TestDashboardInABrowser loads /dashboard in headless Chromium with an analyst's token, and checks that
// the figures the page shows are the API's, that a suppressed cell is shown as suppressed, and saves a
// screenshot to artifacts/dashboard.png.
func TestDashboardInABrowser(t *testing.T) {
	bin := chromium(t)
	h := newHub(t)
	// Make sure the demo has a suppressed state: two cases in a Labuan shelter, no other.
	h.exec(`UPDATE placements SET to_date = current_date WHERE to_date IS NULL
		AND shelter_id IN (SELECT id FROM shelters WHERE state = 'LABUAN')`)
	h.exec(`INSERT INTO placements (victim_id, shelter_id, from_date)
		SELECT v.id, (SELECT id FROM shelters WHERE state = 'LABUAN' LIMIT 1), current_date
		FROM victims v WHERE NOT EXISTS (SELECT 1 FROM placements p WHERE p.victim_id = v.id AND p.to_date IS NULL)
		ORDER BY v.id LIMIT 2`)
	token := h.token(demo.SlugKPWKM, demo.RoleMinistryAnalyst)
	_, api := statistics(t, h, token, nil)

	// The token travels in the fragment, which the browser never sends to the server.
	url := h.URL + "/dashboard/#token=" + token
	dom := browse(t, bin, url, "--dump-dom")
	if !regexp.MustCompile(`<body[^>]*data-ready="true"`).Match(dom) {
		t.Fatalf("the page did not finish drawing:\n%.2000s", dom)
	}
	shown := map[string]map[string]statCell{}
	for _, m := range rowPattern.FindAllSubmatch(dom, -1) {
		panel, key := string(m[1]), string(m[2])
		c := statCell{Key: key, Suppressed: string(m[3]) == "true"}
		if !c.Suppressed {
			n, _ := strconv.Atoi(string(m[4]))
			c.Count = &n
		}
		if shown[panel] == nil {
			shown[panel] = map[string]statCell{}
		}
		shown[panel][key] = c
	}
	compared := 0
	for panel, b := range map[string]breakdown{"byState": api["byState"], "byGender": api["byGender"],
		"byTraffickingStatus": api["byTraffickingStatus"], "byAgeBand": api["byAgeBand"], "byMonth": api["byMonth"]} {
		for _, want := range append(b.Cells, b.Total) {
			got, ok := shown[panel][want.Key]
			switch {
			case !ok:
				t.Errorf("%s %s: not shown", panel, want.Key)
			case got.Suppressed != want.Suppressed || (!want.Suppressed && *got.Count != *want.Count):
				t.Errorf("%s %s: shown %+v, the API says %+v", panel, want.Key, got, want)
			}
			compared++
		}
	}
	if compared < 30 {
		t.Errorf("compared only %d figures", compared)
	}
	if c := shown["byState"]["LABUAN"]; !c.Suppressed {
		t.Errorf("Labuan (2 cases) is shown as %+v, want suppressed", c)
	}
	if !regexp.MustCompile(`<td class="num suppressed">suppressed \(&lt;5\)</td>`).Match(dom) {
		t.Error(`no cell reads "suppressed (<5)"`)
	}

	dir, err := filepath.Abs(filepath.Join("..", "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "dashboard.png")
	browse(t, bin, url, "--screenshot="+shot)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
}
