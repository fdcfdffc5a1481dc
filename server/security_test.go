package server_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/server"
)

// TestIntrospection: outside demo mode only the operator may introspect; everyone else is refused with
// FORBIDDEN before any SQL. In demo mode GraphiQL's docs work for every caller.
func TestIntrospection(t *testing.T) {
	q := `{ __schema { queryType { name } } __type(name: "Victim") { name } }`
	h := newHub(t)
	for _, tc := range []struct {
		who    caller
		status int
	}{
		{caller{demo.SlugOperator, demo.RoleOperator}, 200},
		{caller{demo.SlugKPWKM, demo.RoleProtectionOfficer}, 403},
		{caller{demo.SlugEmployerLadang, demo.RoleEmployerHR}, 403},
		{caller{demo.SlugNGOHarapan, demo.RoleNGOCaseworker}, 403},
	} {
		before := h.trace.Statements()
		res := h.do(request{Token: h.token(tc.who.Partner, tc.who.Role), Query: q})
		if res.Status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.who, res.Status, tc.status, res.Body)
		}
		if tc.status == 403 {
			if res.Code() != "FORBIDDEN" || !strings.Contains(res.Errors[0].Message, "introspection") {
				t.Errorf("%s: %s, want a FORBIDDEN that names introspection", tc.who, res.Body)
			}
			if n := h.trace.Statements() - before; n != 0 {
				t.Errorf("%s: %d SQL statements for refused introspection", tc.who, n)
			}
		} else if !strings.Contains(string(res.Data), `"Victim"`) {
			t.Errorf("%s: no schema in %s", tc.who, res.Body)
		}
	}
	d := newHubWith(t, func(c *server.Config) { c.Demo = true })
	res := d.do(request{Token: d.token(demo.SlugEmployerLadang, demo.RoleEmployerHR), Query: q})
	if res.Status != 200 || !strings.Contains(string(res.Data), `"Victim"`) {
		t.Errorf("demo mode: %d %s, want the schema", res.Status, res.Body)
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestTrustedDocuments: partner types held to the allow-list run its documents, sent whole or by hash,
// and nothing else; a hash the hub does not hold is never registered, whoever sends the document with it.
func TestTrustedDocuments(t *testing.T) {
	trusted := `query Viewer { viewer { username purpose } }`
	other := `{ viewer { username } }`
	docs, err := server.NewTrustedDocuments(map[string]string{sha(trusted): trusted})
	if err != nil {
		t.Fatal(err)
	}
	h := newHubWith(t, func(c *server.Config) {
		c.TrustedDocuments = docs
		c.TrustedFor = []lindung.PartnerType{lindung.PartnerPrivate}
	})
	employer := h.token(demo.SlugEmployerLadang, demo.RoleEmployerHR)
	typed := h.issue(auth.Claims{Subject: demo.DemoUsername(demo.RoleEmployerHR, demo.SlugEmployerLadang),
		Partner: demo.SlugEmployerLadang, PartnerType: lindung.PartnerPrivate, Roles: []string{demo.RoleEmployerHR}})
	officer := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	send := func(token, query, hash string) *response {
		t.Helper()
		body := map[string]any{}
		if query != "" {
			body["query"] = query
		}
		if hash != "" {
			body["extensions"] = map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
		}
		b, _ := json.Marshal(body)
		return h.post(token, "", "application/json", b)
	}
	for _, tc := range []struct {
		name         string
		token        string
		query, hash  string
		status       int
		code         string
		beforeAnySQL bool
	}{
		{"employer, trusted document", employer, trusted, "", 200, "", false},
		{"employer, trusted document by hash", employer, "", sha(trusted), 200, "", false},
		{"employer, trusted document with its hash", employer, trusted, sha(trusted), 200, "", false},
		{"employer, other document", employer, other, "", 403, "FORBIDDEN", false},
		{"employer, other document with its hash", employer, other, sha(other), 403, "FORBIDDEN", false},
		{"employer, other document with the trusted hash", employer, other, sha(trusted), 400, "INVALID", true},
		{"employer whose token says PRIVATE, other document", typed, other, "", 403, "FORBIDDEN", true},
		{"employer, unknown hash", employer, "", sha(other), 400, "PERSISTED_QUERY_NOT_FOUND", true},
		{"officer, other document", officer, other, "", 200, "", false},
		{"officer, other document with its hash", officer, other, sha(other), 200, "", false},
		{"officer, the hash just sent is still unknown", officer, "", sha(other), 400, "PERSISTED_QUERY_NOT_FOUND", true},
		{"employer, the hash the officer sent is still unknown", employer, "", sha(other), 400, "PERSISTED_QUERY_NOT_FOUND", true},
	} {
		before := h.trace.Statements()
		res := send(tc.token, tc.query, tc.hash)
		if res.Status != tc.status || res.Code() != tc.code {
			t.Errorf("%s: %d %q, want %d %q: %s", tc.name, res.Status, res.Code(), tc.status, tc.code, res.Body)
		}
		if tc.code != "" && string(res.Data) != "null" && len(res.Data) != 0 {
			t.Errorf("%s: data in a refusal: %s", tc.name, res.Body)
		}
		if n := h.trace.Statements() - before; tc.beforeAnySQL && n != 0 {
			t.Errorf("%s: %d SQL statements", tc.name, n)
		}
	}
}

// TestTrustedDocumentsNeedAList: holding partner types to a list that was not loaded is a configuration
// error at start, not a hub that refuses them everything.
func TestTrustedDocumentsNeedAList(t *testing.T) {
	_, err := server.New(server.Config{TrustedFor: []lindung.PartnerType{lindung.PartnerNGO}})
	if err == nil {
		t.Error("TrustedFor without TrustedDocuments was accepted")
	}
}

// TestUnauditedOnlyUnguarded: the benchmark switch that writes no access records is refused with the
// guarded schema, so it cannot turn the audit off under the policy.
func TestUnauditedOnlyUnguarded(t *testing.T) {
	pol, err := policy.Load("")
	if err != nil {
		t.Fatal(err)
	}
	_, err = server.New(server.Config{Policy: pol, Verifier: auth.NewHS256Verifier(testSecret), UnauditedBenchmark: true})
	if err == nil || !strings.Contains(err.Error(), "refusing to serve unaudited") {
		t.Errorf("a guarded, unaudited server: %v", err)
	}
}

// TestRateLimits: a user's burst is theirs, a partner's is shared by its users, the refusal is a 429 with
// Retry-After and RATE_LIMITED, and it comes before any SQL.
func TestRateLimits(t *testing.T) {
	h := newHubWith(t, func(c *server.Config) {
		// Refill so slowly that no token comes back while the test runs.
		c.RateLimits = server.RateLimits{UserRate: 0.001, UserBurst: 3, PartnerRate: 0.001, PartnerBurst: 5, EligibilityRate: -1}
	})
	officer := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	analyst := h.token(demo.SlugKPWKM, demo.RoleMinistryAnalyst)
	police := h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer)
	q := request{Query: `{ viewer { username } }`}
	for i, tc := range []struct {
		token  string
		status int
	}{
		{officer, 200}, {officer, 200}, {officer, 200}, {officer, 429}, // the officer's burst
		{analyst, 200}, {analyst, 200}, {analyst, 429}, // kpwkm's burst of 5 is spent
		{police, 200}, // another partner
	} {
		q.Token = tc.token
		before := h.trace.Statements()
		status, body, retry := h.doWithHeaders(q)
		if status != tc.status {
			t.Errorf("request %d: status %d, want %d: %s", i, status, tc.status, body)
		}
		if tc.status == 429 {
			if n, err := strconv.Atoi(retry); err != nil || n < 1 {
				t.Errorf("request %d: Retry-After %q, want whole seconds", i, retry)
			}
			if !strings.Contains(body, `"RATE_LIMITED"`) || strings.Contains(body, `"data":{`) {
				t.Errorf("request %d: %s", i, body)
			}
			if n := h.trace.Statements() - before; n != 0 {
				t.Errorf("request %d: %d SQL statements for a rate-limited request", i, n)
			}
		}
	}
}

// TestEligibilityChecksCountEachAlias: an employer's eligibility bucket is taken once per occurrence of
// the check in the operation, so aliases and fragments do not multiply the rate.
func TestEligibilityChecksCountEachAlias(t *testing.T) {
	h := newHubWith(t, func(c *server.Config) {
		c.RateLimits = server.RateLimits{UserRate: -1, PartnerRate: -1, EligibilityRate: 0.001, EligibilityBurst: 4}
	})
	employer := h.token(demo.SlugEmployerLadang, demo.RoleEmployerHR)
	checks := func(n int) string {
		var b strings.Builder
		b.WriteString("{ ")
		for i := range n {
			fmt.Fprintf(&b, "c%d: workPermitEligibility(code: \"NOPE-%d\") { eligible } ", i, i)
		}
		return b.String() + "}"
	}
	for i, tc := range []struct {
		query  string
		status int
		code   string
	}{
		{checks(5), 400, "LIMIT_EXCEEDED"}, // more than the bucket ever holds
		{checks(3), 200, ""},
		{`{ ...F ...G } fragment F on Query { a: workPermitEligibility(code: "X") { eligible } } fragment G on Query { ...F }`, 429, "RATE_LIMITED"},
		{checks(1), 200, ""},
	} {
		before := h.trace.Statements()
		res := h.do(request{Token: employer, Query: tc.query})
		if res.Status != tc.status || res.Code() != tc.code {
			t.Errorf("request %d: %d %q, want %d %q: %s", i, res.Status, res.Code(), tc.status, tc.code, res.Body)
		}
		if n := h.trace.Statements() - before; tc.code != "" && n != 0 {
			t.Errorf("request %d: %d SQL statements for a refused request", i, n)
		}
	}
}

// doWithHeaders sends a GraphQL request and returns the status, the body and the Retry-After header.
func (h *hub) doWithHeaders(r request) (int, string, string) {
	h.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": r.Query, "variables": r.Variables})
	req, _ := http.NewRequest("POST", h.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header.Get("Retry-After")
}
