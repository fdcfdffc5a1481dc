package server_test

import (
	"strings"
	"testing"

	"github.com/lindung/lindung/demo"
)

// TestMalformedDateIsInvalid: a Date argument in the wrong form is the caller's mistake (INVALID, 4xx),
// and its value, which may be a victim's date of birth, is not echoed back.
func TestMalformedDateIsInvalid(t *testing.T) {
	h := newHub(t)
	token := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	for _, tc := range []struct {
		name string
		vars map[string]any
	}{
		{"day first", map[string]any{"dob": "31-12-1999"}},
		{"not a date", map[string]any{"dob": "MARKER-DOB-1999"}},
		{"a number", map[string]any{"dob": 19991231}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.do(request{Token: token, Variables: tc.vars,
				Query: `mutation($dob: Date) { createVictim(input: {caseRef: "TST-2026-000777", dateOfBirth: $dob}) { id } }`})
			if res.Status < 400 || res.Status >= 500 {
				t.Errorf("HTTP %d, want 4xx: %s", res.Status, res.Body)
			}
			if code := res.Code(); code != "INVALID" && code != "GRAPHQL_VALIDATION_FAILED" {
				t.Errorf("code %q, want INVALID: %s", code, res.Body)
			}
			if strings.Contains(string(res.Body), "MARKER-DOB") || strings.Contains(string(res.Body), "31-12-1999") {
				t.Errorf("the value is echoed: %s", res.Body)
			}
		})
	}
}
