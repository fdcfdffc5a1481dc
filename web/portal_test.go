package web

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestPortalServesPagesAndLanguages: the portal's page, its assets and the catalogs the server found,
// with the same security headers as GraphiQL and the dashboard.
func TestPortalServesPagesAndLanguages(t *testing.T) {
	h := Portal()
	rec := get(t, h, http.MethodGet, "/")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `src="assets/portal.js"`) {
		t.Fatalf("index: %d %.200s", rec.Code, rec.Body.String())
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, a := range []string{"portal.js", "i18n.js", "ngo.js", "employer.js", "officer.js", "operator.js", "portal.css",
		"i18n/en.json", "i18n/ms.json"} {
		if rec := get(t, h, http.MethodGet, "/assets/"+a); rec.Code != 200 || rec.Body.Len() < 500 {
			t.Errorf("%s: %d, %d bytes", a, rec.Code, rec.Body.Len())
		}
	}
	rec = get(t, h, http.MethodGet, "/assets/i18n/languages.json")
	var langs []Language
	if err := json.Unmarshal(rec.Body.Bytes(), &langs); err != nil || rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("languages.json: %v %s", err, rec.Body)
	}
	if len(langs) != 2 || langs[0] != (Language{"en", "English"}) || langs[1] != (Language{"ms", "Bahasa Melayu"}) {
		t.Errorf("languages %+v", langs)
	}
	if rec := get(t, h, http.MethodGet, "/assets/i18n/xx.json"); rec.Code != 404 {
		t.Errorf("an unknown catalog: %d", rec.Code)
	}
}

// TestPortalCatalogsAreComplete: every catalog has every English key, with the same parameters, and every
// message key the pages name literally is in English.
func TestPortalCatalogsAreComplete(t *testing.T) {
	read := func(name string) map[string]string {
		b, err := fs.ReadFile(portalFiles, "portal/static/assets/i18n/"+name)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(name, err)
		}
		return m
	}
	en := read("en.json")
	params := regexp.MustCompile(`\{[a-zA-Z]+\}`)
	entries, _ := fs.ReadDir(portalFiles, "portal/static/assets/i18n")
	for _, e := range entries {
		if e.Name() == "en.json" {
			continue
		}
		other := read(e.Name())
		for k, v := range en {
			w, ok := other[k]
			switch {
			case !ok:
				t.Errorf("%s lacks %q", e.Name(), k)
			case strings.Join(sorted(params.FindAllString(v, -1)), ",") != strings.Join(sorted(params.FindAllString(w, -1)), ","):
				t.Errorf("%s %q has parameters %v, English %v", e.Name(), k, params.FindAllString(w, -1), params.FindAllString(v, -1))
			}
		}
	}
	key := regexp.MustCompile(`\b[td]\("([a-zA-Z]+\.[a-zA-Z.]+)"`)
	scripts, _ := fs.Glob(portalFiles, "portal/static/assets/*.js")
	for _, s := range scripts {
		b, _ := fs.ReadFile(portalFiles, s)
		for _, m := range key.FindAllStringSubmatch(string(b), -1) {
			if _, ok := en[m[1]]; !ok {
				t.Errorf("%s uses %q, which en.json lacks", s, m[1])
			}
		}
	}
	b, _ := fs.ReadFile(portalFiles, "portal/static/index.html")
	for _, m := range regexp.MustCompile(`data-i18n="([^"]+)"`).FindAllStringSubmatch(string(b), -1) {
		if _, ok := en[m[1]]; !ok {
			t.Errorf("index.html uses %q, which en.json lacks", m[1])
		}
	}
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

// TestPortalLoadsNothingFromElsewhere: no file of the portal names another origin.
func TestPortalLoadsNothingFromElsewhere(t *testing.T) {
	err := fs.WalkDir(portalFiles, "portal/static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(portalFiles, name)
		if err != nil {
			return err
		}
		if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`).FindString(string(b)); m != "" {
			t.Errorf("%s names another origin: %q", name, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
