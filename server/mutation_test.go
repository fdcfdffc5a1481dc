package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
)

const createVictimMutation = `mutation($in: CreateVictimInput!) { createVictim(input: $in) { ...All } } ` + allVictimFields

const updateVictimMutation = `mutation($id: ID!, $in: UpdateVictimInput!) { updateVictim(id: $id, input: $in) { ...All } } ` + allVictimFields

// newVictimInput returns a CreateVictimInput with a marker in each category it can carry.
func newVictimInput(tag string, n int) map[string]any {
	return map[string]any{
		"caseRef":          fmt.Sprintf("NEW-2099-%06d", n),
		"legalName":        "MARKER-IDENTITY-" + tag,
		"phone":            "MARKER-CONTACT-" + tag,
		"languages":        []string{"MARKER-DEMOGRAPHIC-" + tag},
		"medicalNeeds":     "MARKER-HEALTH-" + tag,
		"counsellingNotes": "MARKER-COUNSELLING-" + tag,
		"gender":           "FEMALE",
	}
}

// TestMutationPayloadsAreGuarded: what createVictim and updateVictim return passes the same guard as any
// query: the officer writes health and counselling notes but, without the victim's consent, does not get
// them back; the audit records what the payload disclosed.
func TestMutationPayloadsAreGuarded(t *testing.T) {
	h := newHub(t)
	officer := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	for i, tc := range []struct {
		purpose   string
		disclosed []string // categories served (non-null) of the new victim
		withheld  []string
	}{
		{"", []string{"IDENTITY", "CONTACT", "DEMOGRAPHIC", "CASE"}, []string{"HEALTH", "COUNSELLING"}},
		{"SERVICE_DELIVERY", []string{"DEMOGRAPHIC", "CASE"}, []string{"IDENTITY", "CONTACT", "HEALTH", "COUNSELLING", "LEGAL", "FAMILY", "EMPLOYMENT"}},
	} {
		t.Run("create "+tc.purpose, func(t *testing.T) {
			tag := fmt.Sprintf("NEW%03d", i)
			rid := newRequestID()
			res := h.do(request{Token: officer, Purpose: tc.purpose, Query: createVictimMutation, RequestID: rid,
				Variables: map[string]any{"in": newVictimInput(tag, i)}})
			if len(res.Errors) > 0 {
				t.Fatalf("createVictim: %s", res.Body)
			}
			disclosed, err := lindung.ParseCategorySet(tc.disclosed)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []lindung.Category{lindung.Identity, lindung.Contact, lindung.Demographic, lindung.Health, lindung.Counselling} {
				m := "MARKER-" + c.String() + "-" + tag
				if has := strings.Contains(string(res.Body), m); has != disclosed.Has(c) {
					t.Errorf("%s in the payload: %v, want %v", m, has, disclosed.Has(c))
				}
			}
			stored := h.strings(`SELECT medical_needs FROM victims WHERE case_ref = $1`, fmt.Sprintf("NEW-2099-%06d", i))
			if len(stored) != 1 || stored[0] != "MARKER-HEALTH-"+tag {
				t.Errorf("stored medical needs %v", stored)
			}
			recs := h.accessRecords(rid)
			if len(recs) != 1 || !sameStrings(recs[0].Disclosed, tc.disclosed) || !sameStrings(recs[0].Withheld, tc.withheld) {
				t.Errorf("access records %+v, want one disclosing %v and withholding %v", recs, tc.disclosed, tc.withheld)
			}
		})
	}

	t.Run("update", func(t *testing.T) {
		v := h.newMarkerVictim(victimSpec{})
		res := h.do(request{Token: officer, Query: updateVictimMutation, Variables: map[string]any{"id": v.ID,
			"in": map[string]any{"medicalNeeds": "MARKER-HEALTH-UPDATED", "legalName": "MARKER-IDENTITY-UPDATED"}}})
		if len(res.Errors) > 0 {
			t.Fatalf("updateVictim: %s", res.Body)
		}
		assertNoLeak(t, res.Body, []string{"MARKER-HEALTH-", "MARKER-COUNSELLING-"})
		if !strings.Contains(string(res.Body), "MARKER-IDENTITY-UPDATED") {
			t.Errorf("the payload lacks the new legal name: %s", truncate(res.Body))
		}
		if !hasWithheld(res, "NO_CONSENT", "HEALTH", "updateVictim.medicalNeeds") {
			t.Errorf("withheld %v", res.Extensions.Withheld)
		}
		if got := h.strings(`SELECT medical_needs FROM victims WHERE id = $1`, v.ID); got[0] != "MARKER-HEALTH-UPDATED" {
			t.Errorf("medical needs not updated: %v", got)
		}
	})
}

// TestMutationsRefusedToOtherRoles: no role but the protection officer registers or edits victims; a
// refused or failed mutation leaves the database exactly as it was and writes no access record.
func TestMutationsRefusedToOtherRoles(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM},
		Referrals: []referralSpec{{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: lindung.AllCategories.Names()}}})
	foreign := h.newMarkerVictim(victimSpec{Owner: demo.SlugPDRM, NoChild: true})
	snapshot := func() string {
		return strings.Join(h.strings(`SELECT concat_ws('|', count(*), max(updated_at), string_agg(md5(v::text), ',' ORDER BY id))
			FROM victims v`), "")
	}
	before := snapshot()
	records := h.count(`SELECT count(*) FROM access_records`)
	untrained := h.issue(auth.Claims{Subject: demo.UntrainedOfficerUsername, Partner: demo.SlugKPWKM, Roles: []string{demo.RoleProtectionOfficer}})
	officer := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	update := map[string]any{"id": v.ID, "in": map[string]any{"phone": "MARKER-CONTACT-CHANGED", "medicalNeeds": "changed"}}
	cases := []struct {
		name  string
		token string
		query string
		vars  map[string]any
		code  string
	}{
		{"ngo create", h.token(demo.SlugNGOHarapan, demo.RoleNGOCaseworker), createVictimMutation, map[string]any{"in": newVictimInput("X1", 901)}, "FORBIDDEN"},
		{"ngo update", h.token(demo.SlugNGOHarapan, demo.RoleNGOCaseworker), updateVictimMutation, update, "FORBIDDEN"},
		{"enforcement create", h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer), createVictimMutation, map[string]any{"in": newVictimInput("X2", 902)}, "FORBIDDEN"},
		{"enforcement update", h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer), updateVictimMutation, update, "FORBIDDEN"},
		{"employer create", h.token(demo.SlugEmployerLadang, demo.RoleEmployerHR), createVictimMutation, map[string]any{"in": newVictimInput("X3", 903)}, "FORBIDDEN"},
		{"employer update", h.token(demo.SlugEmployerKilang, demo.RoleEmployerHR), updateVictimMutation, update, "FORBIDDEN"},
		{"operator create", h.token(demo.SlugOperator, demo.RoleOperator), createVictimMutation, map[string]any{"in": newVictimInput("X4", 904)}, "FORBIDDEN"},
		{"operator update", h.token(demo.SlugOperator, demo.RoleOperator), updateVictimMutation, update, "FORBIDDEN"},
		{"analyst create", h.token(demo.SlugKPWKM, demo.RoleMinistryAnalyst), createVictimMutation, map[string]any{"in": newVictimInput("X5", 905)}, "FORBIDDEN"},
		{"analyst update", h.token(demo.SlugKPWKM, demo.RoleMinistryAnalyst), updateVictimMutation, update, "FORBIDDEN"},
		{"untrained officer create", untrained, createVictimMutation, map[string]any{"in": newVictimInput("X6", 906)}, "FORBIDDEN"},
		{"untrained officer update", untrained, updateVictimMutation, update, "FORBIDDEN"},
		{"officer updates another agency's victim", officer, updateVictimMutation,
			map[string]any{"id": foreign.ID, "in": map[string]any{"phone": "MARKER-CONTACT-CHANGED"}}, "NOT_FOUND"},
		{"officer updates a victim that does not exist", officer, updateVictimMutation,
			map[string]any{"id": randomUUID(), "in": map[string]any{"phone": "MARKER-CONTACT-CHANGED"}}, "NOT_FOUND"},
		{"second field fails", officer, `mutation($id: ID!, $other: ID!) {
			a: updateVictim(id: $id, input: {phone: "MARKER-CONTACT-CHANGED"}) { id phone legalName }
			b: updateVictim(id: $other, input: {phone: "MARKER-CONTACT-CHANGED"}) { id } }`,
			map[string]any{"id": v.ID, "other": randomUUID()}, "NOT_FOUND"},
		{"create then invalid create", officer, `mutation($a: CreateVictimInput!, $b: CreateVictimInput!) {
			a: createVictim(input: $a) { id legalName } b: createVictim(input: $b) { id } }`,
			map[string]any{"a": newVictimInput("X7", 907), "b": map[string]any{"caseRef": "not a case ref"}}, "INVALID"},
		{"create with a duplicate case reference", officer, createVictimMutation,
			map[string]any{"in": map[string]any{"caseRef": v.CaseRef, "legalName": "MARKER-IDENTITY-DUP"}}, "CONFLICT"},
		{"update then invalid update", officer, `mutation($id: ID!) {
			a: updateVictim(id: $id, input: {phone: "MARKER-CONTACT-CHANGED"}) { id }
			b: updateVictim(id: $id, input: {citizenship: ["not-a-country"]}) { id } }`,
			map[string]any{"id": v.ID}, "INVALID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.do(request{Token: tc.token, Query: tc.query, Variables: tc.vars})
			if res.Code() != tc.code {
				t.Errorf("code %q, want %q: %s", res.Code(), tc.code, res.Body)
			}
			if string(res.Data) != "null" && len(res.Data) != 0 {
				t.Errorf("a failed mutation returned data: %s", res.Data)
			}
			assertNoLeak(t, res.Body, []string{"MARKER-", v.CaseRef})
			if after := snapshot(); after != before {
				t.Errorf("a refused or failed mutation changed the victims")
				before = after
			}
		})
	}
	// The foreign victim's NOT_FOUND is exactly the random id's.
	a := h.do(request{Token: officer, Query: updateVictimMutation, Variables: map[string]any{"id": foreign.ID, "in": map[string]any{"phone": "x123"}}})
	b := h.do(request{Token: officer, Query: updateVictimMutation, Variables: map[string]any{"id": randomUUID(), "in": map[string]any{"phone": "x123"}}})
	if a.Status != b.Status || string(a.Body) != string(b.Body) {
		t.Errorf("updating another agency's victim is distinguishable from a missing one:\n%s\n%s", a.Body, b.Body)
	}
	if n := h.count(`SELECT count(*) FROM access_records`); n != records {
		t.Errorf("refused and failed mutations wrote %d access records", n-records)
	}
}
