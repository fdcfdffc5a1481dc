package server_test

import (
	"strings"
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
)

const recordConsentMutation = `mutation($in: RecordConsentInput!, $key: String) {
	recordConsent(input: $in, idempotencyKey: $key) { id grantorRelation language method status
		interpreter { slug } provisions { granteePartner { slug } granteeType categories purposes } } }`

// TestConsentThroughAnInterpreterCountsFromTheNextRequest: an officer records, through an interpreter, the
// victim's consent to share HEALTH with an NGO the case is referred to; the NGO's next request sees it, and
// after withdrawal the one after does not. The change log names fields, never values.
func TestConsentThroughAnInterpreterCountsFromTheNextRequest(t *testing.T) {
	h := newCareHub(t)
	v := h.newMarkerVictim(victimSpec{NoChild: true,
		Referrals: []referralSpec{{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: []string{"CASE", "HEALTH"}}}})
	health := v.marker(lindung.Health)
	see := `query($id: ID!) { victim(id: $id) { medicalNeeds } }`
	if res := h.ok(t, h.harapan, see, map[string]any{"id": v.ID}, nil); strings.Contains(string(res.Body), health) {
		t.Fatal("health disclosed before any consent")
	}
	var out struct {
		RecordConsent struct {
			ID, Language, Status string
			Interpreter          struct{ Slug string }
		}
	}
	h.ok(t, h.officer, recordConsentMutation, map[string]any{"in": map[string]any{
		"victimId": v.ID, "grantor": "SELF", "language": "bn", "interpreterSlug": demo.SlugNGOCahaya,
		"method": "VERBAL", "provisions": []any{map[string]any{"granteeSlug": demo.SlugNGOHarapan,
			"categories": []string{"HEALTH"}, "purposes": []string{"SERVICE_DELIVERY"}}}}}, &out)
	c := out.RecordConsent
	if c.Status != "ACTIVE" || c.Interpreter.Slug != demo.SlugNGOCahaya || c.Language != "bn" {
		t.Errorf("recorded consent %+v", c)
	}
	if res := h.ok(t, h.harapan, see, map[string]any{"id": v.ID}, nil); !strings.Contains(string(res.Body), health) {
		t.Errorf("the consent does not count on the next request: %s", res.Body)
	}
	var w struct{ WithdrawConsent struct{ Status string } }
	h.ok(t, h.officer, `mutation($id: ID!) { withdrawConsent(id: $id) { status } }`, map[string]any{"id": c.ID}, &w)
	if w.WithdrawConsent.Status != "WITHDRAWN" {
		t.Errorf("status after withdrawal %q", w.WithdrawConsent.Status)
	}
	if res := h.ok(t, h.harapan, see, map[string]any{"id": v.ID}, nil); strings.Contains(string(res.Body), health) {
		t.Error("withdrawn consent still counts")
	}
	h.fails(t, h.officer, `mutation($id: ID!) { withdrawConsent(id: $id) { status } }`, map[string]any{"id": c.ID}, "CONFLICT", "", "")
	// History is kept: the withdrawn consent is still listed, and the app role cannot rewrite it.
	if n := h.count(`SELECT count(*) FROM consents WHERE id = $1 AND withdrawn_at IS NOT NULL`, c.ID); n != 1 {
		t.Errorf("withdrawn consent rows: %d", n)
	}
	got := h.changes(v.ID)
	want := []string{"consent recorded grantorRelation,language,method,provisions,interpreter", "consent withdrawn withdrawnAt"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("change log %q, want %q", got, want)
	}
	if n := h.count(`SELECT count(*) FROM change_records WHERE victim_id = $1 AND array_to_string(fields, ',') LIKE '%bn%'`, v.ID); n != 0 {
		t.Error("the change log holds a value")
	}
}

// TestGuardianConsent: a mother consents for her child; anyone else named as the mother is refused.
func TestGuardianConsent(t *testing.T) {
	h := newCareHub(t)
	v := h.newMarkerVictim(victimSpec{})
	other := h.newMarkerVictim(victimSpec{NoChild: true})
	in := func(grantor string) map[string]any {
		return map[string]any{"in": map[string]any{"victimId": v.ChildID, "grantor": "MOTHER", "grantorVictimId": grantor,
			"language": "id", "method": "WRITTEN", "documentRef": "FORM-1", "provisions": []any{map[string]any{
				"granteeType": "NGO", "categories": []string{"HEALTH"}, "purposes": []string{"SERVICE_DELIVERY"}}}}}
	}
	var out struct {
		RecordConsent struct{ GrantorRelation string }
	}
	h.ok(t, h.officer, recordConsentMutation, in(v.ID), &out)
	if out.RecordConsent.GrantorRelation != "MOTHER" {
		t.Errorf("grantor %q", out.RecordConsent.GrantorRelation)
	}
	if n := h.count(`SELECT count(*) FROM consents WHERE victim_id = $1 AND grantor_victim_id = $2`, v.ChildID, v.ID); n != 1 {
		t.Errorf("%d mother's consents stored", n)
	}
	h.fails(t, h.officer, recordConsentMutation, in(other.ID), "INVALID", "the grantor is not recorded", "grantorVictimId")
}

// TestConsentValidationAndRoles: every bad field is named; only protection officers record consent; a
// failure writes nothing.
func TestConsentValidationAndRoles(t *testing.T) {
	h := newCareHub(t)
	v := h.newMarkerVictim(victimSpec{NoChild: true})
	good := func() map[string]any {
		return map[string]any{"victimId": v.ID, "grantor": "SELF", "language": "en", "method": "VERBAL",
			"provisions": []any{map[string]any{"granteeType": "NGO", "categories": []string{"CONTACT"}, "purposes": []string{"SERVICE_DELIVERY"}}}}
	}
	before := h.rowCounts()
	for _, tc := range []struct {
		name  string
		edit  func(m map[string]any)
		field string
	}{
		{"empty language", func(m map[string]any) { m["language"] = " " }, "language"},
		{"written without a form", func(m map[string]any) { m["method"] = "WRITTEN" }, "documentRef"},
		{"no provisions", func(m map[string]any) { m["provisions"] = []any{} }, "provisions"},
		{"two grantees", func(m map[string]any) {
			m["provisions"] = []any{map[string]any{"granteeType": "NGO", "granteeSlug": "ngo-suara", "categories": []string{"CONTACT"}, "purposes": []string{"SERVICE_DELIVERY"}}}
		}, "provisions[0].granteeSlug"},
		{"no categories", func(m map[string]any) {
			m["provisions"] = []any{map[string]any{"granteeType": "NGO", "categories": []string{}, "purposes": []string{"SERVICE_DELIVERY"}}}
		}, "provisions[0].categories"},
		{"period ends first", func(m map[string]any) {
			m["provisions"] = []any{map[string]any{"granteeType": "NGO", "categories": []string{"CONTACT"}, "purposes": []string{"SERVICE_DELIVERY"},
				"periodStart": "2030-01-02T00:00:00Z", "periodEnd": "2030-01-01T00:00:00Z"}}
		}, "provisions[0].periodEnd"},
		{"unknown interpreter", func(m map[string]any) { m["interpreterSlug"] = "nobody" }, "interpreterSlug"},
		{"mother without her id", func(m map[string]any) { m["grantor"] = "MOTHER" }, "grantorVictimId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := good()
			tc.edit(in)
			h.fails(t, h.officer, recordConsentMutation, map[string]any{"in": in}, "INVALID", "", tc.field)
		})
	}
	for _, token := range []string{h.harapan, h.pdrm, h.employer, h.operator} {
		h.fails(t, token, recordConsentMutation, map[string]any{"in": good()}, "FORBIDDEN", "", "")
	}
	// A second mutation that fails rolls back the first.
	bad := good()
	bad["language"] = ""
	h.fails(t, h.officer, `mutation($a: RecordConsentInput!, $b: RecordConsentInput!) {
		a: recordConsent(input: $a) { id } b: recordConsent(input: $b) { id } }`, map[string]any{"a": good(), "b": bad}, "INVALID", "", "language")
	if after := h.rowCounts(); after != before {
		t.Errorf("failed requests wrote rows:\n%s\n%s", before, after)
	}
}

// TestIdempotencyKeys: a repeat with the same key returns the same record and writes once; the key with
// another input is a CONFLICT; keys are per partner.
func TestIdempotencyKeys(t *testing.T) {
	h := newCareHub(t)
	v := h.newMarkerVictim(victimSpec{NoChild: true})
	in := map[string]any{"victimId": v.ID, "grantor": "SELF", "language": "en", "method": "VERBAL",
		"provisions": []any{map[string]any{"granteeType": "NGO", "categories": []string{"CONTACT"}, "purposes": []string{"SERVICE_DELIVERY"}}}}
	var a, b struct{ RecordConsent struct{ ID string } }
	h.ok(t, h.officer, recordConsentMutation, map[string]any{"in": in, "key": "consent-1"}, &a)
	h.ok(t, h.officer, recordConsentMutation, map[string]any{"in": in, "key": "consent-1"}, &b)
	if a.RecordConsent.ID == "" || a.RecordConsent.ID != b.RecordConsent.ID {
		t.Errorf("repeat answered %q, first %q", b.RecordConsent.ID, a.RecordConsent.ID)
	}
	if n := h.count(`SELECT count(*) FROM consents WHERE victim_id = $1`, v.ID); n != 2 { // the fixture's one, and this
		t.Errorf("%d consents after a repeat, want 2", n)
	}
	if n := h.count(`SELECT count(*) FROM change_records WHERE victim_id = $1`, v.ID); n != 1 {
		t.Errorf("%d change records after a repeat, want 1", n)
	}
	in["language"] = "ms"
	h.fails(t, h.officer, recordConsentMutation, map[string]any{"in": in, "key": "consent-1"}, "CONFLICT", "the idempotency key", "")
	h.fails(t, h.officer, `mutation($in: ReferVictimInput!) { referVictim(input: $in, idempotencyKey: "consent-1") { id } }`,
		map[string]any{"in": map[string]any{"victimId": v.ID, "toSlug": demo.SlugNGOSuara, "service": "COUNSELLING",
			"categories": []string{"CASE"}, "dueOn": "2099-01-01", "reason": "x"}}, "CONFLICT", "", "")
	h.fails(t, h.officer, recordConsentMutation, map[string]any{"in": in, "key": ""}, "INVALID", "", "idempotencyKey")
}
