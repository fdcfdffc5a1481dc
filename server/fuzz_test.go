package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/server"
)

// FuzzGraphQLRequest sends random bodies to /graphql as each kind of caller: whatever the body, the answer
// is JSON, never a 5xx, never a schema suggestion or internal detail. The seeds are the hostile corpus.
func FuzzGraphQLRequest(f *testing.F) {
	for _, c := range loadHostileCases(f) {
		f.Add(c.body, uint8(0))
	}
	h := newHubWith(f, func(c *server.Config) {
		c.RateLimits = server.RateLimits{UserRate: -1, PartnerRate: -1, EligibilityRate: -1}
	})
	callers := []caller{{demo.SlugKPWKM, demo.RoleProtectionOfficer}, {demo.SlugEmployerLadang, demo.RoleEmployerHR},
		{demo.SlugNGOHarapan, demo.RoleNGOCaseworker}, {demo.SlugOperator, demo.RoleOperator}}
	tokens := make([]string, len(callers))
	for i, c := range callers {
		tokens[i] = h.token(c.Partner, c.Role)
	}
	f.Fuzz(func(t *testing.T, body []byte, who uint8) {
		req := httptest.NewRequest("POST", "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokens[int(who)%len(tokens)])
		rec := httptest.NewRecorder()
		h.Handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if rec.Code != http.StatusOK && rec.Code < 400 {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("not JSON for %q: %s", body, rec.Body)
		}
		for _, p := range leakPatterns {
			if p != "MARKER-" && bytes.Contains(rec.Body.Bytes(), []byte(p)) && !bytes.Contains(body, []byte(p)) {
				t.Fatalf("the response holds %q for %q: %s", p, body, rec.Body)
			}
		}
	})
}
