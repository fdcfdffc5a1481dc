package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func TestIndex(t *testing.T) {
	h := GraphiQL()
	rec := get(t, h, http.MethodGet, "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET / = %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}
	body := rec.Body.String()
	if !strings.Contains(body, "<title>Lindung GraphQL</title>") {
		t.Error("index.html lacks the title Lindung GraphQL")
	}
	if strings.Contains(body, noncePlaceholder) {
		t.Error("nonce placeholder was not replaced")
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("index Cache-Control = %q, want no-store", cc)
	}
}

var nonceRE = regexp.MustCompile(`'nonce-([A-Za-z0-9+/=]+)'`)

func TestSecurityHeaders(t *testing.T) {
	h := GraphiQL()
	for _, target := range []string{"/", "/assets/app.js", "/assets/vendor/graphiql.min.js", "/nope"} {
		rec := get(t, h, http.MethodGet, target)
		csp := rec.Header().Get("Content-Security-Policy")
		if csp == "" {
			t.Errorf("%s: no Content-Security-Policy", target)
			continue
		}
		directives := map[string]string{}
		for _, d := range strings.Split(csp, ";") {
			name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
			directives[name] = value
		}
		for name, want := range map[string]string{
			"default-src":     "'none'",
			"script-src":      "'self'",
			"connect-src":     "'self'",
			"img-src":         "'self' data:",
			"font-src":        "'self' data:",
			"frame-ancestors": "'none'",
		} {
			if got := directives[name]; got != want {
				t.Errorf("%s: CSP %s = %q, want %q", target, name, got, want)
			}
		}
		if s := directives["style-src"]; !strings.HasPrefix(s, "'self' 'nonce-") || strings.Contains(s, "unsafe") {
			t.Errorf("%s: CSP style-src = %q, want 'self' plus a nonce", target, s)
		}
		if strings.Contains(csp, "unsafe-") {
			t.Errorf("%s: CSP allows something unsafe: %s", target, csp)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q", target, got)
		}
		if got := rec.Header().Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy = %q", target, got)
		}
	}
}

func TestNonceMatchesPageAndChanges(t *testing.T) {
	h := GraphiQL()
	seen := map[string]bool{}
	for range 3 {
		rec := get(t, h, http.MethodGet, "/")
		m := nonceRE.FindStringSubmatch(rec.Header().Get("Content-Security-Policy"))
		if m == nil {
			t.Fatal("no nonce in CSP")
		}
		if !strings.Contains(rec.Body.String(), `content="`+m[1]+`"`) {
			t.Errorf("page does not carry the CSP nonce %q", m[1])
		}
		if seen[m[1]] {
			t.Errorf("nonce %q reused", m[1])
		}
		seen[m[1]] = true
	}
}

var refRE = regexp.MustCompile(`(?i)\b(?:src|href)\s*=\s*["']([^"']*)["']`)

// indexRefs returns every src= and href= value in index.html.
func indexRefs(t *testing.T) []string {
	t.Helper()
	b, err := fs.ReadFile(static, "static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, m := range refRE.FindAllStringSubmatch(string(b), -1) {
		refs = append(refs, m[1])
	}
	if len(refs) < 4 {
		t.Fatalf("found only %d src/href references in index.html: %q", len(refs), refs)
	}
	return refs
}

func TestIndexReferencesAreLocal(t *testing.T) {
	for _, ref := range indexRefs(t) {
		low := strings.ToLower(ref)
		if strings.HasPrefix(low, "http:") || strings.HasPrefix(low, "https:") || strings.HasPrefix(low, "//") {
			t.Errorf("index.html references an external URL %q", ref)
			continue
		}
		u, err := url.Parse(ref)
		if err != nil {
			t.Errorf("bad reference %q: %v", ref, err)
			continue
		}
		if u.Scheme != "" && u.Scheme != "data" {
			t.Errorf("reference %q has scheme %q", ref, u.Scheme)
		}
		if u.Host != "" {
			t.Errorf("reference %q names a host", ref)
		}
	}
}

func TestReferencedAssetsAreServed(t *testing.T) {
	h := GraphiQL()
	base, _ := url.Parse("http://example.test/")
	for _, ref := range indexRefs(t) {
		if strings.HasPrefix(ref, "data:") {
			continue
		}
		u, _ := url.Parse(ref)
		target := base.ResolveReference(u).Path
		rec := get(t, h, http.MethodGet, target)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s (from %q) = %d, want 200", target, ref, rec.Code)
			continue
		}
		ct := rec.Header().Get("Content-Type")
		switch {
		case strings.HasSuffix(target, ".js") && !strings.HasPrefix(ct, "text/javascript"),
			strings.HasSuffix(target, ".css") && !strings.HasPrefix(ct, "text/css"):
			t.Errorf("GET %s: Content-Type %q", target, ct)
		}
		if rec.Header().Get("Cache-Control") == "" || rec.Header().Get("ETag") == "" {
			t.Errorf("GET %s: missing Cache-Control or ETag", target)
		}
		if rec.Body.Len() == 0 {
			t.Errorf("GET %s: empty body", target)
		}
	}
}

func TestConditionalGet(t *testing.T) {
	h := GraphiQL()
	rec := get(t, h, http.MethodGet, "/assets/vendor/graphiql.min.js")
	etag := rec.Header().Get("ETag")
	req := httptest.NewRequest(http.MethodGet, "/assets/vendor/graphiql.min.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec2 := httptest.NewRecorder()
	h.ServeHTTP(rec2, req)
	if rec2.Code != http.StatusNotModified {
		t.Errorf("conditional GET = %d, want 304", rec2.Code)
	}
}

func TestUnknownPaths(t *testing.T) {
	h := GraphiQL()
	for _, p := range []string{
		"/index.html", "/static/index.html", "/assets/", "/assets", "/assets/vendor/",
		"/assets/nope.js", "/graphql", "/favicon.ico", "/assets/../index.html",
		"/assets/vendor/graphiql.min.js.map",
	} {
		if rec := get(t, h, http.MethodGet, p); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, rec.Code)
		}
	}
}

func TestMethods(t *testing.T) {
	h := GraphiQL()
	if rec := get(t, h, http.MethodHead, "/assets/app.js"); rec.Code != http.StatusOK {
		t.Errorf("HEAD = %d, want 200", rec.Code)
	}
	if rec := get(t, h, http.MethodPost, "/"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", rec.Code)
	}
}

// cdnRE matches hosts of well-known CDNs.
var cdnRE = regexp.MustCompile(`(?i)(unpkg\.com|cdn\.jsdelivr\.net|jsdelivr\.com|esm\.sh|cdnjs\.cloudflare\.com|cdnjs\.com|cdn\.skypack\.dev|fonts\.googleapis\.com|fonts\.gstatic\.com)`)

// urlRE matches absolute or protocol-relative URLs.
var urlRE = regexp.MustCompile(`(?i)(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>)]*`)

// allowedURL reports whether an absolute URL found in a shipped file is known
// not to be loaded by the browser. The graphiql bundle mentions a few URLs in
// licence comments, error/warning messages and help links, and the SVG
// namespace; none is fetched.
func allowedURL(u string) bool {
	u = strings.TrimSuffix(strings.ToLower(u), "`;return")
	for _, prefix := range []string{
		"http://www.w3.org/", // XML/SVG namespace identifiers
		"https://github.com/",
		"https://radix-ui.com/primitives/docs/", // in a dev warning message
		"https://en.wikipedia.org/wiki/",
		"https://commonmark.org/",
		"https://codemirror.net/",
		"https://reactjs.org/docs/error-decoder.html", // React error messages
		"https://react.dev/",
		"https://opensource.org/",
	} {
		if strings.HasPrefix(u, prefix) {
			return true
		}
	}
	return false
}

func TestNoExternalURLs(t *testing.T) {
	err := fs.WalkDir(static, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := static.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			return err
		}
		s := string(b)
		if m := cdnRE.FindString(s); m != "" {
			t.Errorf("%s mentions CDN %q", name, m)
		}
		for _, u := range urlRE.FindAllString(s, -1) {
			if !allowedURL(u) {
				t.Errorf("%s contains unexpected URL %q", name, u)
			}
		}
		if strings.HasSuffix(name, ".css") && regexp.MustCompile(`url\(\s*["']?(?:https?:)?//`).MatchString(s) {
			t.Errorf("%s loads a url() from another origin", name)
		}
		if strings.Contains(s, "sourceMappingURL=") {
			t.Errorf("%s references a source map that is not shipped", name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAppConfig(t *testing.T) {
	b, err := fs.ReadFile(static, "static/assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		`url: '/graphql'`,
		`'{"Authorization": "Bearer PASTE-TOKEN-HERE"}'`,
		`go run ./cmd/lindung token`,
		`--partner kpwkm --role protection_officer`,
		`X-Lindung-Purpose`,
		`isHeadersEditorEnabled: true`,
		`shouldPersistHeaders: false`,
		`storage: storage`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("app.js lacks %q", want)
		}
	}
	if strings.Contains(s, "subscriptionUrl") {
		t.Error("app.js configures a subscription URL")
	}
}
