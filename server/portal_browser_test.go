package server_test

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/server"
)

// axeSource is axe-core, the accessibility suite, copied from npm by web/portal/build.sh.
//
//go:embed testdata/axe.min.js
var axeSource string

// portalTab is one browser tab of the portal, signed in with one token: sessionStorage is per tab, so the
// tabs of one browser are separate callers.
type portalTab struct {
	t    *testing.T
	ctx  context.Context
	base string
	name string
	mu   sync.Mutex
	urls []string // every request the page made
}

// openPortal opens a tab at /portal/ with token in the fragment, on a 390×844 phone-sized screen, and waits
// for the role's first page.
func openPortal(t *testing.T, browser context.Context, base, name, token string) *portalTab {
	return openPortalAt(t, browser, base, name, token, "")
}

// openPortalAt is openPortal waiting for the page of route.
func openPortalAt(t *testing.T, browser context.Context, base, name, token, route string) *portalTab {
	t.Helper()
	p := &portalTab{t: t, base: base, name: name}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithListener(func(ev any) {
		var url string
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			url = e.Request.URL
		case network.EventRequestWillBeSent:
			url = e.Request.URL
		default:
			return
		}
		p.mu.Lock()
		p.urls = append(p.urls, url)
		p.mu.Unlock()
	}))
	t.Cleanup(cancel)
	p.ctx = ctx
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	p.run(chromedp.EmulateViewport(390, 844), chromedp.Navigate(base+"/portal/#token="+token))
	p.waitRoute(route, -1)
	return p
}

func (p *portalTab) run(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// eval evaluates a JavaScript expression into out (through JSON), awaiting it when it is a promise.
func (p *portalTab) eval(expr string, out any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string]("(async () => JSON.stringify(await ("+expr+")))()",
		chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, expr, err)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(raw), out); err != nil {
			p.t.Fatalf("%s: %s: %v", p.name, raw, err)
		}
	}
}

func (p *portalTab) renders() int {
	p.t.Helper()
	var n int
	p.eval(`Number(document.body.dataset.renders || 0)`, &n)
	return n
}

// waitRoute waits until the page of route has been drawn after the after-th drawing (-1: any).
func (p *portalTab) waitRoute(route string, after int) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf(`document.body.dataset.ready === "true" && document.body.dataset.route === %q &&
		Number(document.body.dataset.renders || 0) > %d`, route, after))
}

// waitFor waits until the expression is true.
func (p *portalTab) waitFor(expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr)); err != nil {
		html, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.querySelector("main").outerHTML`))
		p.t.Fatalf("%s: waiting for %s: %v\n%.3000s", p.name, expr, err, html)
	}
}

// tabTo presses Tab (or Shift+Tab, when the element comes before the focus) until the focused element
// matches selector: the tests use the keyboard only.
func (p *portalTab) tabTo(selector string) {
	p.t.Helper()
	q, _ := json.Marshal(selector)
	where := fmt.Sprintf(`(() => { const a = document.activeElement, e = document.querySelector(%s);
		if (a && a.matches(%s)) return "here";
		if (e && a && a !== document.body && (a.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_PRECEDING)) return "back";
		return "forward"; })()`, q, q)
	for range 400 {
		var dir string
		p.eval(where, &dir)
		switch dir {
		case "here":
			return
		case "back":
			p.run(chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(kb.ModifierShift)))
		default:
			p.run(chromedp.KeyEvent(kb.Tab))
		}
	}
	p.t.Fatalf("%s: Tab never reaches %s", p.name, selector)
}

// keys types text (or presses keys such as kb.Enter) into the focused element.
func (p *portalTab) keys(text string) {
	p.t.Helper()
	p.run(chromedp.KeyEvent(text))
}

// follow tabs to a link or button, presses Enter, and waits for route to be drawn.
func (p *portalTab) follow(selector, route string) {
	p.t.Helper()
	n := p.renders()
	p.tabTo(selector)
	p.keys(kb.Enter)
	p.waitRoute(route, n)
}

// axe runs axe-core on the page at WCAG 2.1 AA and fails on any violation.
func (p *portalTab) axe(page string) {
	p.t.Helper()
	var loaded bool
	p.eval(`typeof axe !== "undefined"`, &loaded)
	if !loaded {
		if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[*runtime.RemoteObject](axeSource)); err != nil {
			p.t.Fatalf("%s: loading axe-core: %v", page, err)
		}
	}
	var violations []struct {
		ID, Impact, Help string
		Nodes            []struct{ Target []any }
	}
	p.eval(`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
		.then((r) => r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({target: n.target}))})))`,
		&violations)
	for _, v := range violations {
		p.t.Errorf("%s: axe %s (%s): %s at %v", page, v.ID, v.Impact, v.Help, v.Nodes)
	}
}

// shot saves a screenshot of the screen, 390×844, to artifacts/portal-<page>.png.
func (p *portalTab) shot(page string) {
	p.t.Helper()
	buf, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", page, err)
	}
	dir, err := filepath.Abs(filepath.Join("..", "artifacts"))
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "portal-"+page+".png"), buf, 0o644)
	}
	if err != nil || len(buf) < 5_000 {
		p.t.Fatalf("screenshot %s: %v (%d bytes)", page, err, len(buf))
	}
}

// page checks a page: axe-core, then a screenshot.
func (p *portalTab) page(name string) {
	p.t.Helper()
	p.axe(name)
	p.shot(name)
}

// onlyOwnRequests checks that the page asked for nothing but /graphql and its own assets, and that the
// token is in no URL it requested and in no storage but the tab's sessionStorage.
func (p *portalTab) onlyOwnRequests(token string) {
	p.t.Helper()
	p.mu.Lock()
	urls := append([]string(nil), p.urls...)
	p.mu.Unlock()
	if len(urls) < 5 {
		p.t.Errorf("%s: only %d requests seen", p.name, len(urls))
	}
	for _, u := range urls {
		// data: URLs never leave the browser (Chromium draws the date inputs' icon from one).
		if u != p.base+"/graphql" && !strings.HasPrefix(u, p.base+"/portal/") && !strings.HasPrefix(u, "data:") {
			p.t.Errorf("%s: the page requested %s", p.name, u)
		}
		if strings.Contains(strings.SplitN(u, "#", 2)[0], token) {
			p.t.Errorf("%s: the token is in the request URL %s", p.name, u)
		}
	}
	var leaks string
	p.eval(`[localStorage.length ? "localStorage" : "", document.cookie ? "cookie" : "",
		location.href.includes("token=") ? "address bar" : ""].filter(Boolean).join(" ")`, &leaks)
	if leaks != "" {
		p.t.Errorf("%s: the token is kept in %s", p.name, leaks)
	}
}

// pageFields reads the victim fields a case page shows: the value, or "withheld:REASON".
func (p *portalTab) pageFields() map[string]string {
	p.t.Helper()
	var out map[string]string
	p.eval(`Object.fromEntries([...document.querySelectorAll("main dd[data-field]")].map((d) =>
		[d.dataset.field, d.dataset.withheld ? "withheld:" + d.dataset.withheld : d.dataset.value]))`, &out)
	return out
}

// compareCase checks that a case page shows exactly what the API answers the same token: each value, and
// each withheld field with the reason the API gives (in Victim.withheld and in extensions.withheld).
func compareCase(t *testing.T, h *careHub, p *portalTab, token, victimID string) (withheld int) {
	t.Helper()
	shown := p.pageFields()
	if len(shown) < 15 {
		var html string
		p.eval(`document.querySelector("main").outerHTML`, &html)
		t.Fatalf("%s: only %d fields shown: %v\n%.3000s", p.name, len(shown), shown, html)
	}
	var fields []string
	for f := range shown {
		if f == "currentShelter" {
			fields = append(fields, "currentShelter { name }")
		} else {
			fields = append(fields, f)
		}
	}
	res := h.ok(t, token, `query($id: ID!) { victim(id: $id) { `+strings.Join(fields, " ")+` withheld { field reason } } }`,
		map[string]any{"id": victimID}, nil)
	var data struct{ Victim map[string]json.RawMessage }
	mustDecode(t, res.Data, &data)
	var reasons []struct{ Field, Reason string }
	mustDecode(t, data.Victim["withheld"], &reasons)
	why := map[string]string{}
	for _, w := range reasons {
		why[w.Field] = w.Reason
	}
	ext := map[string]string{}
	for _, w := range res.Extensions.Withheld {
		for _, path := range w.Paths {
			ext[path[strings.LastIndex(path, ".")+1:]] = w.Reason
		}
	}
	for f, got := range shown {
		if r, ok := why[f]; ok {
			withheld++
			if got != "withheld:"+r || ext[f] != r {
				t.Errorf("%s: %s shown as %q; the API withholds it (%s; extensions %q)", p.name, f, got, r, ext[f])
			}
			continue
		}
		var a, b any
		if err := json.Unmarshal([]byte(got), &a); err != nil {
			t.Errorf("%s: %s shown as %q", p.name, f, got)
			continue
		}
		_ = json.Unmarshal(data.Victim[f], &b)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s: %s shown as %s, the API answers %s", p.name, f, ja, jb)
		}
	}
	return withheld
}

func sortedStrings(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

// TestPortalInABrowser walks each role's main task in the partner portal in one headless Chromium, on the
// demo data, by keyboard only: the protection officer records consent, refers the case to an NGO and opens
// the victim's receipt and disclosure report in Malay; the NGO accepts one referral, rejects another,
// reads the case and records the service; the officer withdraws the consent; the employer checks a code
// until the rate limit answers; the operator suspends and reinstates a partner, registers a user and
// records training. Every page is checked with axe-core (WCAG 2.1 AA, no violation) and photographed at
// 390×844 into artifacts/; what each page shows is compared with the API's answer to the same token, and
// every request of every tab must be to /graphql or the portal's own assets.
func TestPortalInABrowser(t *testing.T) {
	bin := chromium(t)
	start := time.Now()
	hub := newHubWith(t, func(c *server.Config) {
		// Three checks, then the employer must wait: the page shows the limit as a message.
		c.RateLimits.EligibilityBurst, c.RateLimits.EligibilityRate = 3, 0.001
	})
	h := &careHub{hub: hub,
		officer:  hub.token(demo.SlugKPWKM, demo.RoleProtectionOfficer),
		suara:    hub.token(demo.SlugNGOSuara, demo.RoleNGOCaseworker),
		employer: hub.token(demo.SlugEmployerLadang, demo.RoleEmployerHR),
		operator: hub.token(demo.SlugOperator, demo.RoleOperator),
	}
	var partners struct {
		Partners []struct {
			Slug, Name string
			Suspended  bool
		}
	}
	h.ok(t, h.operator, `{ partners { slug name suspended } }`, nil, &partners)
	name := map[string]string{}
	for _, p := range partners.Partners {
		name[p.Slug] = p.Name
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(390, 844))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		t.Fatal(err)
	}

	// A token the hub refuses: the sign-in form, saying why; an analyst: the way to the dashboard.
	in := openPortalAt(t, browser, h.URL, "sign-in", "not-a-token", "signin")
	var said string
	in.eval(`document.getElementById("status").textContent`, &said)
	if !strings.Contains(said, "sign in again") {
		t.Errorf("a refused token reads %q", said)
	}
	in.page("sign-in")
	analyst := openPortalAt(t, browser, h.URL, "analyst", hub.token(demo.SlugKPWKM, demo.RoleMinistryAnalyst), "norole")
	analyst.axe("analyst")

	// The protection officer: the case list is the API's; open the first case.
	off := openPortal(t, browser, h.URL, "officer", h.officer)
	var list struct {
		Victims struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	h.ok(t, h.officer, `{ victims(first: 20) { edges { node { id } } } }`, nil, &list)
	var want, shown []string
	for _, e := range list.Victims.Edges {
		want = append(want, e.Node.ID)
	}
	off.eval(`[...document.querySelectorAll("tr[data-case]")].map((r) => r.dataset.case)`, &shown)
	if strings.Join(shown, ",") != strings.Join(want, ",") || len(want) == 0 {
		t.Errorf("officer's case list shows %v, the API answers %v", shown, want)
	}
	off.page("officer-cases")
	off.follow(`nav a[href="#/overdue"]`, "overdue")
	var overdue struct{ OverdueReferrals []struct{ ID string } }
	h.ok(t, h.officer, `{ overdueReferrals { id } }`, nil, &overdue)
	var overdueIDs []string
	for _, r := range overdue.OverdueReferrals {
		overdueIDs = append(overdueIDs, r.ID)
	}
	off.eval(`[...document.querySelectorAll("tr[data-overdue]")].map((l) => l.dataset.overdue)`, &shown)
	if strings.Join(shown, ",") != strings.Join(overdueIDs, ",") || len(shown) == 0 {
		t.Errorf("overdue referrals shown %v, the API's %v", shown, overdueIDs)
	}
	off.page("officer-overdue")
	off.follow(`nav a[href="#/"]`, "")
	vid := want[0]
	off.follow(`a[href="#/case/`+vid+`"]`, "case")
	compareCase(t, h, off, h.officer, vid)
	off.page("officer-case")

	// Record the victim's written consent to share with ngo-suara for service delivery.
	off.follow(`a[href="#/consent/`+vid+`"]`, "consent")
	off.page("officer-consent")
	off.tabTo("#language")
	off.keys("id")
	off.tabTo("#documentRef")
	off.keys("KPW/CONSENT/PORTAL-1")
	off.tabTo("#grantee-0")
	off.keys(name[demo.SlugNGOSuara])
	for _, c := range []string{"CASE", "DEMOGRAPHIC", "CONTACT", "COUNSELLING"} {
		off.tabTo(`input[name="categories-0"][value="` + c + `"]`)
		off.keys(" ")
	}
	off.tabTo(`input[name="purposes-0"][value="SERVICE_DELIVERY"]`)
	off.keys(" ")
	off.follow(`form button[type="submit"]`, "case")
	var consents struct {
		Victim struct {
			Consents  []struct{ ID, Status, DocumentRef string }
			Referrals []struct {
				ID, Status, Reason string
				To                 struct{ Slug string }
			}
		}
	}
	caseQuery := `query($id: ID!) { victim(id: $id) { consents { id status documentRef } referrals { id status reason to { slug } } } }`
	h.ok(t, h.officer, caseQuery, map[string]any{"id": vid}, &consents)
	var cid string
	for _, c := range consents.Victim.Consents {
		if c.DocumentRef == "KPW/CONSENT/PORTAL-1" && c.Status == "ACTIVE" {
			cid = c.ID
		}
	}
	if cid == "" {
		t.Fatalf("the consent recorded on the page is not active in the API: %+v", consents)
	}
	off.waitFor(`!!document.querySelector('article[data-consent="` + cid + `"]')`)

	// Refer the case to ngo-suara for counselling.
	off.follow(`a[href="#/refer/`+vid+`"]`, "refer")
	off.page("officer-refer")
	off.tabTo("#toSlug")
	off.keys(name[demo.SlugNGOSuara])
	off.tabTo("#service")
	off.keys("Counselling")
	for _, c := range []string{"CONTACT", "COUNSELLING"} {
		off.tabTo(`input[name="categories"][value="` + c + `"]`)
		off.keys(" ")
	}
	off.tabTo("#reason")
	off.keys("Trauma counselling (portal)")
	off.follow(`form button[type="submit"]`, "case")
	h.ok(t, h.officer, caseQuery, map[string]any{"id": vid}, &consents)
	var rid string
	for _, r := range consents.Victim.Referrals {
		if r.Reason == "Trauma counselling (portal)" && r.To.Slug == demo.SlugNGOSuara && r.Status == "IN_PROGRESS" {
			rid = r.ID
		}
	}
	if rid == "" {
		t.Fatalf("the referral sent on the page is not in the API: %+v", consents.Victim.Referrals)
	}

	// The consent receipt and the disclosure report, in Malay, as the API words them; printed without the
	// portal's own controls.
	off.follow(`a[href="#/receipt/`+vid+`/`+cid+`/ms"]`, "receipt")
	var receipt struct {
		Victim struct {
			Consents []struct{ ID, Receipt string }
		}
	}
	h.ok(t, h.officer, `query($id: ID!) { victim(id: $id) { consents { id receipt(language: MS) } } }`, map[string]any{"id": vid}, &receipt)
	var pageReceipt, docLang string
	off.eval(`document.querySelector("[data-receipt]").dataset.receipt`, &pageReceipt)
	off.eval(`document.querySelector("article.doc").lang`, &docLang)
	for _, c := range receipt.Victim.Consents {
		if c.ID == cid && (c.Receipt != pageReceipt || pageReceipt == "" || docLang != "ms") {
			t.Errorf("receipt shown (%s) %q, the API's %q", docLang, pageReceipt, c.Receipt)
		}
	}
	off.page("officer-receipt")
	var printHides bool
	if _, err := chromedp.Call(off.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	off.eval(`["header.top", "nav", ".no-print"].every((s) => getComputedStyle(document.querySelector(s)).display === "none")`, &printHides)
	if _, err := chromedp.Call(off.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatal(err)
	}
	if !printHides {
		t.Error("the printed receipt shows the portal's header, navigation or buttons")
	}
	off.follow(`a[href="#/case/`+vid+`"]`, "case")
	off.follow(`a[href="#/report/`+vid+`/ms"]`, "report")
	var disclosures struct {
		Disclosures []struct {
			On, PartnerName, Purpose string
			Categories               []string
		}
	}
	h.ok(t, h.officer, `query($id: ID!) { disclosures(victimId: $id) { on partnerName purpose categories } }`, map[string]any{"id": vid}, &disclosures)
	var lines []string
	off.eval(`[...document.querySelectorAll("ol.report li")].map((l) => [l.dataset.on, l.dataset.partner, l.dataset.purpose, l.dataset.categories].join("|"))`, &lines)
	var apiLines []string
	for _, d := range disclosures.Disclosures {
		apiLines = append(apiLines, strings.Join([]string{d.On, d.PartnerName, d.Purpose, strings.Join(d.Categories, ",")}, "|"))
	}
	// The report page's own request is audited after it is answered, so the API may list one more line.
	if len(lines) == 0 || len(apiLines) < len(lines) || strings.Join(apiLines[:len(lines)], "\n") != strings.Join(lines, "\n") {
		t.Errorf("report shows\n%s\nthe API answers\n%s", strings.Join(lines, "\n"), strings.Join(apiLines, "\n"))
	}
	off.page("officer-report")

	// The NGO: the inbox is the API's open referrals; accept the new one, reject another, read the case,
	// record the counselling session, complete the referral.
	var second struct{ ReferVictim struct{ ID string } }
	h.ok(t, h.officer, `mutation($in: ReferVictimInput!) { referVictim(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"victimId": want[1], "toSlug": demo.SlugNGOSuara, "service": "COUNSELLING", "categories": []string{"CASE"},
		"dueOn": h.day(7), "reason": "Second referral (portal)"}}, &second)
	ngo := openPortal(t, browser, h.URL, "ngo", h.suara)
	var inbox struct{ Referrals []struct{ ID, Status string } }
	h.ok(t, h.suara, `{ referrals { id status } }`, nil, &inbox)
	want = nil
	for _, r := range inbox.Referrals {
		if r.Status == "IN_PROGRESS" || r.Status == "ACCEPTED" {
			want = append(want, r.ID)
		}
	}
	ngo.eval(`[...document.querySelectorAll("article[data-referral]")].map((a) => a.dataset.referral)`, &shown)
	if strings.Join(sortedStrings(shown), ",") != strings.Join(sortedStrings(want), ",") {
		t.Errorf("the inbox shows %v, the API's open referrals are %v", shown, want)
	}
	// Each referral's reason: the API's, or withheld with the API's reason (before the NGO accepts, the
	// case's data is not its to see).
	res := h.ok(t, h.suara, `{ referrals { id reason } }`, nil, nil)
	var reasons struct{ Referrals []struct{ ID, Reason string } }
	mustDecode(t, res.Data, &reasons)
	withheldAt := map[string]string{}
	for _, w := range res.Extensions.Withheld {
		for _, path := range w.Paths {
			withheldAt[path] = w.Reason
		}
	}
	var cards map[string]string
	ngo.eval(`Object.fromEntries([...document.querySelectorAll("article[data-referral]")].map((a) => {
		const d = a.querySelector("dd[data-withheld], dd[data-value]");
		return [a.dataset.referral, d.dataset.withheld ? "withheld:" + d.dataset.withheld : JSON.parse(d.dataset.value) ?? ""]; }))`, &cards)
	marked := 0
	for i, r := range reasons.Referrals {
		got, ok := cards[r.ID]
		if !ok {
			continue
		}
		want := r.Reason
		if why, ok := withheldAt[fmt.Sprintf("referrals[%d].reason", i)]; ok {
			want = "withheld:" + why
			marked++
		}
		if got != want {
			t.Errorf("referral %s: the reason is shown as %q, the API answers %q", r.ID, got, want)
		}
	}
	if marked == 0 {
		t.Error("no referral's reason is marked withheld")
	}
	ngo.page("ngo-inbox")
	// The NGO's own answer gives the status; the rejection's reason, victim data it no longer sees, is
	// read from the database.
	status := func(id string) (string, string) {
		var out struct{ Referrals []struct{ ID, Status string } }
		h.ok(t, h.suara, `{ referrals { id status } }`, nil, &out)
		for _, r := range out.Referrals {
			if r.ID == id {
				return r.Status, h.strings(`SELECT coalesce(rejection_reason, '') FROM referrals WHERE id = $1`, id)[0]
			}
		}
		return "", ""
	}
	ngo.follow(`article[data-referral="`+rid+`"] button[data-action="accept"]`, "")
	if s, _ := status(rid); s != "ACCEPTED" {
		t.Errorf("accepted on the page, the API says %s", s)
	}
	ngo.tabTo(`article[data-referral="` + second.ReferVictim.ID + `"] button[data-action="reject"]`)
	ngo.keys(kb.Enter)
	ngo.waitFor(`document.activeElement.name === "reason"`)
	ngo.keys("No counsellor free this month")
	ngo.follow(`article[data-referral="`+second.ReferVictim.ID+`"] form button[type="submit"]`, "")
	if s, why := status(second.ReferVictim.ID); s != "REJECTED" || why != "No counsellor free this month" {
		t.Errorf("rejected on the page, the API says %s %q", s, why)
	}
	ngo.follow(`a[href="#/case/`+vid+`"]`, "case")
	if compareCase(t, h, ngo, h.suara, vid) == 0 {
		t.Error("the NGO's case view marks no field as withheld")
	}
	ngo.page("ngo-case")
	ngo.follow(`form button[type="submit"]`, "case")
	var services struct {
		Victim struct {
			Services []struct {
				Status      string
				Service     struct{ Code string }
				Provider    struct{ Slug string }
				DeliveredOn string
			}
		}
	}
	h.ok(t, h.suara, `query($id: ID!) { victim(id: $id) { services { status deliveredOn service { code } provider { slug } } } }`,
		map[string]any{"id": vid}, &services)
	delivered := 0
	for _, s := range services.Victim.Services {
		if s.Status == "DELIVERED" && s.Service.Code == "COUNSELLING" && s.Provider.Slug == demo.SlugNGOSuara && s.DeliveredOn == h.day(0) {
			delivered++
		}
	}
	if delivered == 0 {
		t.Errorf("the service recorded on the page is not in the API: %+v", services)
	}
	ngo.follow(`nav a[href="#/"]`, "")
	ngo.follow(`article[data-referral="`+rid+`"] button[data-action="complete"]`, "")
	if s, _ := status(rid); s != "COMPLETED" {
		t.Errorf("completed on the page, the API says %s", s)
	}

	// The officer withdraws the consent (two presses of the same button).
	off.follow(`a[href="#/case/`+vid+`"]`, "case")
	n := off.renders()
	off.tabTo(`button[data-withdraw="` + cid + `"]`)
	off.keys(kb.Enter)
	off.keys(kb.Enter)
	off.waitRoute("case", n)
	h.ok(t, h.officer, caseQuery, map[string]any{"id": vid}, &consents)
	for _, c := range consents.Victim.Consents {
		if c.ID == cid && c.Status != "WITHDRAWN" {
			t.Errorf("withdrawn on the page, the API says %s", c.Status)
		}
	}

	// The employer, in Malay: a valid code, an unknown one, then the rate limit as a message.
	v := h.newMarkerVictim(victimSpec{NoChild: true, NoExtras: true})
	h.order(t, v.ID, "IPO", -30, 21)
	h.order(t, v.ID, "PO", -9, 90)
	h.ok(t, h.officer, `mutation($in: EligibilityDecisionInput!) { recordEligibilityDecision(input: $in) { decision } }`,
		map[string]any{"in": map[string]any{"victimId": v.ID, "medicalScreeningPassed": true, "riskAssessmentPassed": true,
			"validUntil": h.day(60)}}, nil)
	h.ok(t, h.officer, recordConsentMutation, map[string]any{"in": map[string]any{"victimId": v.ID, "grantor": "SELF",
		"language": "id", "method": "VERBAL", "provisions": []any{map[string]any{"granteeSlug": demo.SlugEmployerLadang,
			"categories": []string{"EMPLOYMENT"}, "purposes": []string{"EMPLOYMENT_CHECK"}}}}}, nil)
	var code struct{ IssueEligibilityCode struct{ Code string } }
	h.ok(t, h.officer, `mutation($in: IssueEligibilityCodeInput!) { issueEligibilityCode(input: $in) { code } }`,
		map[string]any{"in": map[string]any{"victimId": v.ID, "employerSlug": demo.SlugEmployerLadang}}, &code)
	emp := openPortal(t, browser, h.URL, "employer", h.employer)
	n = emp.renders()
	emp.tabTo("#lang")
	emp.keys("Bahasa Melayu")
	emp.waitRoute("", n)
	var title, lang string
	emp.eval(`document.querySelector("h1").textContent`, &title)
	emp.eval(`document.documentElement.lang`, &lang)
	if title != "Semak kebenaran bekerja" || lang != "ms" {
		t.Errorf("in Malay the page reads %q (lang %q)", title, lang)
	}
	emp.tabTo("#code")
	emp.keys(code.IssueEligibilityCode.Code + kb.Enter)
	emp.waitFor(`!!document.querySelector("#result [data-eligible]")`)
	var verdict struct {
		Eligible   string `json:"eligible"`
		ValidUntil string `json:"validUntil"`
		Text       string `json:"text"`
	}
	readVerdict := `(() => { const r = document.querySelector("#result [data-eligible]");
		return {eligible: r.dataset.eligible, validUntil: r.dataset.validUntil || "", text: r.textContent}; })()`
	emp.eval(readVerdict, &verdict)
	var permit struct {
		WorkPermitEligibility struct {
			Eligible   bool
			ValidUntil string
		}
	}
	h.ok(t, h.employer, checkQuery, map[string]any{"code": code.IssueEligibilityCode.Code}, &permit)
	if verdict.Eligible != "true" || verdict.ValidUntil != permit.WorkPermitEligibility.ValidUntil ||
		!permit.WorkPermitEligibility.Eligible || !strings.HasPrefix(verdict.Text, "Boleh bekerja sehingga ") {
		t.Errorf("the page says %+v, the API %+v", verdict, permit)
	}
	emp.page("employer-eligible")
	emp.keys("ABCDE-FGHJK" + kb.Enter)
	emp.waitFor(`document.querySelector("#result [data-eligible]")?.dataset.eligible === "false"`)
	emp.eval(readVerdict, &verdict)
	if verdict.Text != "Tidak layak" {
		t.Errorf("an unknown code reads %q", verdict.Text)
	}
	emp.keys(kb.Enter)
	emp.waitFor(`!!document.querySelector("#result [data-rate-limited]")`)
	var limited string
	emp.eval(`document.querySelector("#result").textContent`, &limited)
	if !strings.Contains(limited, "saat") || strings.Contains(limited, "RATE_LIMITED") {
		t.Errorf("the rate limit reads %q", limited)
	}
	emp.page("employer-rate-limited")

	// The operator: partners as the API lists them; suspend and reinstate one; register a user; record
	// the user's training.
	op := openPortal(t, browser, h.URL, "operator", h.operator)
	var rows []string
	op.eval(`[...document.querySelectorAll("tr[data-partner]")].map((r) => r.dataset.partner + ":" + r.querySelector("[data-suspended]").dataset.suspended)`, &rows)
	want = nil
	for _, p := range partners.Partners {
		want = append(want, fmt.Sprintf("%s:%v", p.Slug, p.Suspended))
	}
	if strings.Join(sortedStrings(rows), ",") != strings.Join(sortedStrings(want), ",") {
		t.Errorf("partners shown %v, the API's %v", rows, want)
	}
	op.page("operator-partners")
	suspended := func() bool {
		return h.count(`SELECT count(*) FROM partners WHERE slug = $1 AND suspended_at IS NOT NULL`, demo.SlugEmployerKilang) == 1
	}
	op.follow(`button[data-toggle="`+demo.SlugEmployerKilang+`"]`, "")
	if !suspended() {
		t.Error("suspended on the page, not in the hub")
	}
	op.follow(`button[data-toggle="`+demo.SlugEmployerKilang+`"]`, "")
	if suspended() {
		t.Error("reinstated on the page, still suspended in the hub")
	}
	op.follow(`nav a[href="#/users"]`, "users")
	op.tabTo("#partnerSlug")
	op.keys(name[demo.SlugNGOSuara])
	op.tabTo("#username")
	op.keys("portal.tester")
	op.tabTo("#displayName")
	op.keys("Portal Tester")
	op.tabTo(`input[name="roles"][value="ngo_caseworker"]`)
	op.keys(" ")
	op.follow(`form[aria-labelledby="h-new-user"] button[type="submit"]`, "users")
	if h.count(`SELECT count(*) FROM users u JOIN partners p ON p.id = u.partner_id WHERE u.username = 'portal.tester' AND p.slug = $1`, demo.SlugNGOSuara) != 1 {
		t.Error("the user registered on the page is not in the hub")
	}
	op.waitFor(`!!document.querySelector('tr[data-user="portal.tester"]')`)
	op.page("operator-users")
	op.follow(`nav a[href="#/training"]`, "training")
	op.tabTo("#username")
	op.keys("portal.tester")
	op.tabTo("#moduleVersion")
	op.keys("PO-2026.1")
	op.follow(`form button[type="submit"]`, "training")
	op.waitFor(`!!document.querySelector('tr[data-training="portal.tester"]')`)
	if h.count(`SELECT count(*) FROM training_completions c JOIN users u ON u.id = c.user_id
		WHERE u.username = 'portal.tester' AND c.module_version = 'PO-2026.1' AND c.completed_on = current_date`) != 1 {
		t.Error("the training recorded on the page is not in the hub")
	}
	op.page("operator-training")

	for _, p := range []*portalTab{off, ngo, emp, op} {
		p.onlyOwnRequests(map[string]string{"officer": h.officer, "ngo": h.suara, "employer": h.employer, "operator": h.operator}[p.name])
	}
	t.Logf("portal browser test: %s", time.Since(start).Round(time.Second))
}
