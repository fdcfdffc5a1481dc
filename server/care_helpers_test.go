package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lindung/lindung/demo"
)

// careHub is a hub with the tokens the care workflow tests act with.
type careHub struct {
	*hub
	officer, harapan, suara, employer, kilang, operator, pdrm string
}

func newCareHub(t *testing.T) *careHub {
	h := newHub(t)
	return &careHub{hub: h,
		officer:  h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer),
		harapan:  h.token(demo.SlugNGOHarapan, demo.RoleNGOCaseworker),
		suara:    h.token(demo.SlugNGOSuara, demo.RoleNGOCaseworker),
		employer: h.token(demo.SlugEmployerLadang, demo.RoleEmployerHR),
		kilang:   h.token(demo.SlugEmployerKilang, demo.RoleEmployerHR),
		operator: h.token(demo.SlugOperator, demo.RoleOperator),
		pdrm:     h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer),
	}
}

// ok runs a request that must succeed and decodes its data into out (when out is not nil).
func (h *careHub) ok(t *testing.T, token, query string, vars map[string]any, out any) *response {
	t.Helper()
	res := h.do(request{Token: token, Query: query, Variables: vars})
	if len(res.Errors) > 0 {
		t.Fatalf("unexpected errors: %s", res.Body)
	}
	if out != nil {
		mustDecode(t, res.Data, out)
	}
	return res
}

// fails runs a request that must fail with code, the message starting with prefix (when given) and, when
// field is given, extensions.field naming it.
func (h *careHub) fails(t *testing.T, token, query string, vars map[string]any, code, prefix, field string) *response {
	t.Helper()
	res := h.do(request{Token: token, Query: query, Variables: vars})
	if res.Code() != code {
		t.Fatalf("code %q, want %q: %s", res.Code(), code, res.Body)
	}
	if prefix != "" && !strings.HasPrefix(res.Errors[0].Message, prefix) {
		t.Errorf("message %q, want it to start with %q", res.Errors[0].Message, prefix)
	}
	if field != "" && res.Errors[0].Extensions["field"] != field {
		t.Errorf("extensions.field %v, want %q: %s", res.Errors[0].Extensions["field"], field, res.Body)
	}
	if len(res.Data) != 0 && string(res.Data) != "null" {
		t.Errorf("a failed mutation returned data: %s", res.Data)
	}
	return res
}

// rowCounts counts the rows of the tables the care workflows write, to show a failure wrote nothing.
func (h *careHub) rowCounts() string {
	var parts []string
	for _, table := range []string{"consents", "consent_provisions", "referrals", "protection_orders", "placements",
		"service_records", "family_contacts", "work_eligibility", "eligibility_codes", "change_records",
		"idempotency_keys", "training_completions"} {
		parts = append(parts, table+"="+jsonInt(h.count(`SELECT count(*) FROM `+table)))
	}
	return strings.Join(parts, " ")
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

// changes returns the change log of a victim as "entity action fields" lines, oldest first.
func (h *careHub) changes(victimID string) []string {
	return h.strings(`SELECT entity || ' ' || action || ' ' || array_to_string(fields, ',') FROM change_records
		WHERE victim_id = $1 ORDER BY id`, victimID)
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }
