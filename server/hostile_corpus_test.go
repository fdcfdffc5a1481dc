package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/server"
)

// hostileCase is one file of testdata/hostile: a raw request and what the hub must answer. The file holds
// "key: value" headers, a blank line and the body, a text/template with << >> delimiters and the
// function repeat, so that oversized bodies need not be committed as such. Headers:
//
//	caller:       partner/role whose token is sent, or "none" (default kpwkm/protection_officer); several
//	              roles are comma-separated (partner/role1,role2)
//	subject:      the token's sub, when not the demo user of the (first) role: an identity attack
//	method:       HTTP method (default POST)
//	content-type: the Content-Type header (default application/json; "none" sends none)
//	purpose:      the X-Lindung-Purpose header
//	status:       the HTTP status expected
//	code:         the extensions.code of the first error expected
//	data:         the exact data expected of a 200 (an empty result); otherwise data must be absent or null
//	db:           "none" (default): no SQL statement may run for the request; "read": it may read
type hostileCase struct {
	name                          string
	caller, subject               string
	method, contentType           string
	purpose, code, data, database string
	status                        int
	body                          []byte
}

func loadHostileCases(t testing.TB) []hostileCase {
	files, err := filepath.Glob("testdata/hostile/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no hostile corpus: %v", err)
	}
	var out []hostileCase
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := hostileCase{name: strings.TrimSuffix(filepath.Base(f), ".txt"), caller: "kpwkm/protection_officer",
			method: "POST", contentType: "application/json", database: "none"}
		head, body, ok := bytes.Cut(raw, []byte("\n\n"))
		if !ok {
			t.Fatalf("%s: no blank line between headers and body", f)
		}
		sc := bufio.NewScanner(bytes.NewReader(head))
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				t.Fatalf("%s: header line %q", f, line)
			}
			v = strings.TrimSpace(v)
			switch k {
			case "caller":
				c.caller = v
			case "subject":
				c.subject = v
			case "method":
				c.method = v
			case "content-type":
				c.contentType = v
			case "purpose":
				c.purpose = v
			case "status":
				c.status, err = strconv.Atoi(v)
			case "code":
				c.code = v
			case "data":
				c.data = v
			case "db":
				c.database = v
			default:
				t.Fatalf("%s: unknown header %q", f, k)
			}
			if err != nil {
				t.Fatalf("%s: %s: %v", f, k, err)
			}
		}
		tmpl, err := template.New(c.name).Delims("<<", ">>").Funcs(template.FuncMap{"repeat": strings.Repeat}).Parse(string(body))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, nil); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		c.body = b.Bytes()
		if c.status == 0 || (c.code == "" && c.data == "") {
			t.Fatalf("%s: a case needs a status and a code (or the data of an empty result)", f)
		}
		out = append(out, c)
	}
	return out
}

// leakPatterns must never appear in a response to a hostile request: suggestions of schema names, SQL,
// driver and runtime details, file paths and policy rules.
var leakPatterns = []string{"Did you mean", "did you mean", "SELECT ", "INSERT ", "UPDATE ", "DELETE ", "SQLSTATE",
	"pgx", "pq:", "postgres", "goroutine", ".go:", "runtime.", "panic", "/home/", "/work/", "/root/", "policy.csv",
	"p3,", "casbin", "MARKER-"}

// TestHostileCorpus sends every request of testdata/hostile and checks that each gets its 4xx and code
// (or, for an injection that is a well-formed question, an empty answer), no data, no schema hint and no
// internal detail; that a request refused before execution runs no SQL at all; and that the corpus
// changes no row of the database.
func TestHostileCorpus(t *testing.T) {
	cases := loadHostileCases(t)
	h := newHubWith(t, func(c *server.Config) {
		// The corpus is about what one request may do; rate limits have their own test.
		c.RateLimits = server.RateLimits{UserRate: -1, PartnerRate: -1}
	})
	h.newMarkerVictim(hostileSpec())
	tables := []string{"victims", "referrals", "consents", "consent_provisions", "access_records", "partners", "users", "shelters", "placements"}
	counts := func() map[string]int {
		m := map[string]int{}
		for _, tb := range tables {
			m[tb] = h.count(`SELECT count(*) FROM ` + tb)
		}
		return m
	}
	tokens := map[string]string{"none|": ""}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			token, ok := tokens[c.caller+"|"+c.subject]
			if !ok {
				partner, roles, _ := strings.Cut(c.caller, "/")
				subject := c.subject
				if subject == "" {
					first, _, _ := strings.Cut(roles, ",")
					subject = demo.DemoUsername(first, partner)
				}
				token = h.issue(auth.Claims{Subject: subject, Partner: partner, Roles: strings.Split(roles, ",")})
				tokens[c.caller+"|"+c.subject] = token
			}
			before := counts()
			queries := h.trace.Statements()
			status, body := h.rawRequest(c.method, token, c.purpose, c.contentType, c.body)
			ran := h.trace.Statements() - queries
			if after := counts(); !equalCounts(before, after) {
				t.Errorf("the database changed: %v -> %v", before, after)
			}
			if status != c.status {
				t.Errorf("status %d, want %d: %s", status, c.status, truncate(body))
			}
			if status >= 500 {
				t.Errorf("server error %d: %s", status, truncate(body))
			}
			if c.database == "none" && ran != 0 {
				t.Errorf("%d SQL statements ran for a request refused before execution", ran)
			}
			var res response
			if err := json.Unmarshal(body, &res); err != nil {
				t.Fatalf("response is not JSON: %s", truncate(body))
			}
			if c.code != "" && res.Code() != c.code {
				t.Errorf("code %q, want %q: %s", res.Code(), c.code, truncate(body))
			}
			if c.data != "" {
				if !jsonEqual(res.Data, []byte(c.data)) {
					t.Errorf("data %s, want %s", res.Data, c.data)
				}
			} else if len(res.Data) > 0 && string(res.Data) != "null" {
				t.Errorf("a refused request got data: %s", truncate(body))
			}
			for _, p := range leakPatterns {
				if bytes.Contains(body, []byte(p)) {
					t.Errorf("the response holds %q: %s", p, truncate(body))
				}
			}
		})
	}
}

// rawRequest sends any method, content type and body to /graphql.
func (h *hub) rawRequest(method, token, purpose, contentType string, body []byte) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "none" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if purpose != "" {
		req.Header.Set(server.PurposeHeader, purpose)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

func equalCounts(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
