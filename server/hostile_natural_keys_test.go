package server_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/server"
)

// uuidPattern matches the ids a response carries, which differ between two otherwise equal answers.
var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// TestNaturalKeysAreNoOracle: creating a case or an order under another agency's natural key, and
// filtering or looking up by it, answers exactly as under a key that names nothing, in body and status.
// Before, createVictim with another agency's case reference and recordProtectionOrder with another
// agency's order number answered CONFLICT, and an unknown key did not.
func TestNaturalKeysAreNoOracle(t *testing.T) {
	h := newCareHub(t)
	foreign := h.newMarkerVictim(victimSpec{Owner: demo.SlugJIM, NoChild: true})
	own := h.newMarkerVictim(victimSpec{NoChild: true, NoExtras: true})
	foreignOrder := foreign.marker(lindung.Legal) + "-ORDER"
	if n := h.count(`SELECT count(*) FROM protection_orders WHERE order_number = $1`, foreignOrder); n != 1 {
		t.Fatalf("the foreign order is not there (%d)", n)
	}
	h.exec(`UPDATE protection_orders SET order_number = $2 || '-B' WHERE victim_id = $1`, foreign.ID, foreignOrder)
	h.exec(`INSERT INTO protection_orders (victim_id, type, court, order_number, starts_on, ends_on)
		VALUES ($1, 'IPO', 'Mahkamah', $2, current_date - 60, current_date - 40)`, foreign.ID, foreignOrder)
	tries := []struct{ name, caseRef, orderNumber string }{
		{"another agency's key", foreign.CaseRef, foreignOrder},
		{"a key naming nothing", "NON-2099-000001", "NO-SUCH-ORDER-1"},
	}
	var answers []string
	for _, try := range tries {
		var parts []string
		ask := func(query string, vars map[string]any) *response {
			res := h.do(request{Token: h.officer, Query: query, Variables: vars})
			body := strings.ReplaceAll(uuidPattern.ReplaceAllString(string(res.Body), "ID"), try.caseRef, "REF")
			parts = append(parts, res.Code()+" "+body)
			return res
		}
		ref := map[string]any{"ref": try.caseRef}
		ask(`query($ref: String!) { victims(filter: {caseRef: $ref}) { totalCount edges { node { id } } } }`, ref)
		ask(`query($ref: String!) { _entities(representations: [{__typename: "Victim", caseRef: $ref}]) { ... on Victim { id } } }`, ref)
		var created struct{ CreateVictim struct{ ID string } }
		res := ask(`mutation($ref: String!) { createVictim(input: {caseRef: $ref}) { id caseRef } }`, ref)
		if len(res.Data) > 0 && string(res.Data) != "null" {
			mustDecode(t, res.Data, &created)
		}
		ask(orderMutation, map[string]any{"in": map[string]any{"victimId": created.CreateVictim.ID, "type": "IPO",
			"court": "Mahkamah", "orderNumber": try.orderNumber, "startsOn": h.day(0), "endsOn": h.day(21)}})
		ask(orderMutation, map[string]any{"in": map[string]any{"victimId": own.ID, "type": "IPO",
			"court": "Mahkamah", "orderNumber": try.orderNumber + "-B", "startsOn": h.day(0), "endsOn": h.day(21)}})
		h.exec(`UPDATE protection_orders SET ended_on = starts_on WHERE victim_id = $1`, own.ID)
		answers = append(answers, strings.Join(parts, "\n"))
		if strings.Contains(answers[len(answers)-1], "CONFLICT") {
			t.Errorf("%s: a conflict:\n%s", try.name, answers[len(answers)-1])
		}
	}
	if answers[0] != answers[1] {
		t.Errorf("another agency's keys answer\n%s\nkeys naming nothing answer\n%s", answers[0], answers[1])
	}
	// The agency's own key is still unique: that conflict names only the agency's own case.
	h.fails(t, h.officer, `mutation($ref: String!) { createVictim(input: {caseRef: $ref}) { id } }`,
		map[string]any{"ref": own.CaseRef}, "CONFLICT", "", "")
}

// TestCaseRefFilterTimingIsNoOracle: an enforcement officer filters victims by the case reference of a
// case it is not linked to, and by one that names no case, a few hundred times each, interleaved; each
// median must lie within the other's interquartile range. (postgres.TestCaseRefFilterTakesTheSameTime
// shows the store-level difference the old lookup had.)
func TestCaseRefFilterTimingIsNoOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("times a few hundred requests")
	}
	hub := newHubWith(t, func(c *server.Config) { c.RateLimits = server.RateLimits{UserRate: -1, PartnerRate: -1} })
	h := &careHub{hub: hub, pdrm: hub.token(demo.SlugPDRM, demo.RoleEnforcementOfficer)}
	outside := h.newMarkerVictim(victimSpec{NoChild: true, NoExtras: true}) // kpwkm's, not linked to pdrm
	query := `query($ref: String!) { victims(filter: {caseRef: $ref}) { totalCount edges { node { id } } } }`
	refs := map[string]string{"out of scope": outside.CaseRef, "missing": "NON-2099-999999"}
	const n = 200
	times := map[string][]time.Duration{}
	var bodies = map[string]string{}
	for i := range n + 20 {
		for _, name := range []string{"out of scope", "missing"} {
			start := time.Now()
			res := h.do(request{Token: h.pdrm, Query: query, Variables: map[string]any{"ref": refs[name]}})
			d := time.Since(start)
			bodies[name] = string(res.Data)
			if i >= 20 {
				times[name] = append(times[name], d)
			}
		}
	}
	if want := `{"victims":{"totalCount":0,"edges":[]}}`; bodies["missing"] != want {
		t.Errorf("the filter answered %s, want %s", bodies["missing"], want)
	}
	if bodies["out of scope"] != bodies["missing"] {
		t.Errorf("bodies differ: %s and %s", bodies["out of scope"], bodies["missing"])
	}
	q := func(ds []time.Duration, p float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[int(p*float64(len(s)-1))]
	}
	a, b := times["out of scope"], times["missing"]
	t.Logf("median out of scope %v, missing %v (interquartile %v–%v and %v–%v)",
		q(a, .5), q(b, .5), q(a, .25), q(a, .75), q(b, .25), q(b, .75))
	if m := q(a, .5); m < q(b, .25) || m > q(b, .75) {
		t.Errorf("the out-of-scope median %v is outside the missing case's interquartile range", m)
	}
	if m := q(b, .5); m < q(a, .25) || m > q(a, .75) {
		t.Errorf("the missing case's median %v is outside the out-of-scope interquartile range", m)
	}
}

// secondOfficer registers a second trained protection officer of kpwkm and returns their token.
func (h *careHub) secondOfficer(t *testing.T) string {
	t.Helper()
	id := h.strings(`INSERT INTO users (partner_id, username, roles)
		SELECT id, 'second-officer@kpwkm', '{protection_officer}' FROM partners WHERE slug = 'kpwkm' RETURNING id::text`)[0]
	h.exec(`INSERT INTO training_completions (user_id, module_version, completed_on)
		VALUES ($1, $2, current_date - 1)`, id, demo.TrainingModule)
	return h.issue(auth.Claims{Subject: "second-officer@kpwkm", Partner: demo.SlugKPWKM, Roles: []string{demo.RoleProtectionOfficer}})
}

// TestSelfWideningConsentNeedsFourEyes: an officer records a verbal consent, with no document, that grants
// the officer's own agency HEALTH and COUNSELLING. Before, the next request read medicalNeeds; now the
// consent is PENDING and grants nothing until a second, different officer confirms it. The recorder
// cannot confirm it; a consent with a document reference takes effect at once.
func TestSelfWideningConsentNeedsFourEyes(t *testing.T) {
	h := newCareHub(t)
	second := h.secondOfficer(t)
	v := h.newMarkerVictim(victimSpec{NoChild: true, NoExtras: true})
	health, counselling := v.marker(lindung.Health), v.marker(lindung.Counselling)
	see := `query($id: ID!) { victim(id: $id) { medicalNeeds counsellingNotes } }`
	sees := func(token string) bool {
		body := string(h.ok(t, token, see, map[string]any{"id": v.ID}, nil).Body)
		return strings.Contains(body, health) || strings.Contains(body, counselling)
	}
	if sees(h.officer) {
		t.Fatal("health disclosed before any consent")
	}
	record := func(doc *string) (id, status string) {
		in := map[string]any{"victimId": v.ID, "grantor": "SELF", "language": "ms", "method": "VERBAL",
			"provisions": []any{map[string]any{"granteeSlug": demo.SlugKPWKM, "categories": []string{"HEALTH", "COUNSELLING"},
				"purposes": []string{"CASE_MANAGEMENT"}}}}
		if doc != nil {
			in["documentRef"] = *doc
		}
		var out struct{ RecordConsent struct{ ID, Status string } }
		h.ok(t, h.officer, recordConsentMutation, map[string]any{"in": in}, &out)
		return out.RecordConsent.ID, out.RecordConsent.Status
	}
	id, status := record(nil)
	if status != "PENDING" {
		t.Errorf("status %q, want PENDING", status)
	}
	if sees(h.officer) || sees(second) {
		t.Fatal("an unconfirmed verbal consent to the recorder's own agency took effect")
	}
	// A type grant to GOVERNMENT covers the officer's agency too.
	var typ struct{ RecordConsent struct{ Status string } }
	h.ok(t, h.officer, recordConsentMutation, map[string]any{"in": map[string]any{"victimId": v.ID, "grantor": "SELF",
		"language": "ms", "method": "VERBAL", "provisions": []any{map[string]any{"granteeType": "GOVERNMENT",
			"categories": []string{"HEALTH"}, "purposes": []string{"CASE_MANAGEMENT"}}}}}, &typ)
	if typ.RecordConsent.Status != "PENDING" || sees(h.officer) {
		t.Errorf("a verbal type grant to the recorder's partner type: %q", typ.RecordConsent.Status)
	}

	confirm := `mutation($id: ID!) { confirmConsent(id: $id) { status needsConfirmation confirmedAt } }`
	h.fails(t, h.officer, confirm, map[string]any{"id": id}, "FORBIDDEN", "a consent is confirmed by a second user", "")
	if err := h.execErr(`UPDATE consents SET confirmed_by_user_id = recorded_by_user_id, confirmed_at = now() WHERE id = $1`, id); err == nil {
		t.Error("the database let the recorder confirm their own consent")
	}
	h.fails(t, h.pdrm, confirm, map[string]any{"id": id}, "FORBIDDEN", "", "")
	var ok struct {
		ConfirmConsent struct {
			Status            string
			NeedsConfirmation bool
			ConfirmedAt       *string
		}
	}
	h.ok(t, second, confirm, map[string]any{"id": id}, &ok)
	if ok.ConfirmConsent.Status != "ACTIVE" || !ok.ConfirmConsent.NeedsConfirmation || ok.ConfirmConsent.ConfirmedAt == nil {
		t.Errorf("confirmed consent %+v", ok.ConfirmConsent)
	}
	if !sees(h.officer) {
		t.Error("the confirmed consent does not count on the next request")
	}
	h.fails(t, second, confirm, map[string]any{"id": id}, "CONFLICT", "", "")
	got := h.changes(v.ID)
	if !slices.Contains(got, "consent confirmed confirmedBy,confirmedAt") {
		t.Errorf("change log %q lacks the confirmation", got)
	}

	// With evidence (a document reference) it takes effect at once; and the database refuses to let an
	// unconfirmed consent without evidence take effect, whoever writes it.
	h.ok(t, h.officer, `mutation($id: ID!) { withdrawConsent(id: $id) { status } }`, map[string]any{"id": id}, nil)
	if sees(h.officer) {
		t.Fatal("withdrawn consent still counts")
	}
	doc := "consent-forms/verbal-witnessed-1.pdf"
	if _, status := record(&doc); status != "ACTIVE" || !sees(h.officer) {
		t.Errorf("a consent with a document reference: %q", status)
	}
	if err := h.execErr(`WITH c AS (INSERT INTO consents (victim_id, grantor_victim_id, grantor_relation, recorded_by_user_id,
			language, method) SELECT $1::uuid, $1::uuid, 'SELF', u.id, 'ms', 'VERBAL' FROM users u
			WHERE u.username = $2 RETURNING id)
		INSERT INTO consent_provisions (consent_id, position, grantee_type, categories, purposes, period_start)
		SELECT c.id, 1, 'GOVERNMENT', '{HEALTH}', '{CASE_MANAGEMENT}', now() FROM c`,
		v.ID, demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM)); err == nil {
		t.Error("the database took an unconfirmed verbal consent to the recorder's own agency")
	}
}

// TestConsentReceipt: every consent has a receipt for the victim, in English and Malay, listing who may
// see what, for which purposes, until when, and how to withdraw; only consent-recording roles read it.
func TestConsentReceipt(t *testing.T) {
	h := newCareHub(t)
	v := h.newMarkerVictim(victimSpec{NoChild: true, NoExtras: true,
		Referrals: []referralSpec{{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: []string{"CASE", "HEALTH"}}}})
	var out struct{ RecordConsent struct{ ID string } }
	h.ok(t, h.officer, recordConsentMutation, map[string]any{"in": map[string]any{"victimId": v.ID, "grantor": "SELF",
		"language": "bn", "interpreterSlug": demo.SlugNGOCahaya, "method": "VERBAL", "provisions": []any{
			map[string]any{"granteeSlug": demo.SlugNGOHarapan, "categories": []string{"HEALTH"},
				"purposes": []string{"SERVICE_DELIVERY"}, "periodEnd": time.Now().AddDate(0, 6, 0).Format(time.RFC3339)},
			map[string]any{"granteeType": "NGO", "categories": []string{"CONTACT"}, "purposes": []string{"FAMILY_CONTACT"}}}}}, &out)
	id := out.RecordConsent.ID
	harapan := h.strings(`SELECT name FROM partners WHERE slug = $1`, demo.SlugNGOHarapan)[0]
	cahaya := h.strings(`SELECT name FROM partners WHERE slug = $1`, demo.SlugNGOCahaya)[0]
	end := time.Now().AddDate(0, 6, 0).UTC().Format(time.DateOnly)
	query := `query($id: ID!) { victim(id: $id) { consents { id en: receipt receipt(language: EN) ms: receipt(language: MS) } } }`
	var got struct {
		Victim struct {
			Consents []struct{ ID, En, Receipt, Ms string }
		}
	}
	h.ok(t, h.officer, query, map[string]any{"id": v.ID}, &got)
	var c *struct{ ID, En, Receipt, Ms string }
	for i := range got.Victim.Consents {
		if got.Victim.Consents[i].ID == id {
			c = &got.Victim.Consents[i]
		}
	}
	if c == nil {
		t.Fatalf("the consent is not listed: %+v", got)
	}
	if c.En != c.Receipt {
		t.Errorf("the default language is not English")
	}
	for _, want := range []string{id, harapan, cahaya, "your health and medical needs", "to provide a service to you",
		"until " + end, "every non-governmental organisation", "how to reach you", "to arrange contact with your family",
		"until you withdraw it", "You may withdraw this consent at any time", "in effect now"} {
		if !strings.Contains(c.En, want) {
			t.Errorf("English receipt lacks %q:\n%s", want, c.En)
		}
	}
	for _, want := range []string{id, harapan, "kesihatan dan keperluan perubatan anda", "untuk memberi perkhidmatan kepada anda",
		"sehingga " + end, "setiap pertubuhan bukan kerajaan", "sehingga anda menariknya balik", "menarik balik persetujuan ini"} {
		if !strings.Contains(c.Ms, want) {
			t.Errorf("Malay receipt lacks %q:\n%s", want, c.Ms)
		}
	}
	// The NGO sees the case's consents (CASE), but the receipt names every grantee: it is the officer's.
	res := h.do(request{Token: h.harapan, Query: query, Variables: map[string]any{"id": v.ID}})
	if strings.Contains(string(res.Data), "withdraw this consent") || res.Code() != "FORBIDDEN" {
		t.Errorf("an NGO read a receipt: %s", res.Body)
	}
}

// TestEmployerCheckFollowsThePolicy: the employer's eligibility check is decided by the policy like every
// other disclosure. With EMPLOYMENT denied to employer_hr in policy.csv, a code that the default policy
// answers eligible answers as an unknown code; before, the check read the consent and never the policy.
func TestEmployerCheckFollowsThePolicy(t *testing.T) {
	model, err := os.ReadFile("../policy/model.conf")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile("../policy/policy.csv")
	if err != nil {
		t.Fatal(err)
	}
	const granted = "p, employer_hr, EMPLOYMENT, EMPLOYMENT_CHECK, consent"
	if !strings.Contains(string(rules), granted) {
		t.Fatalf("policy.csv no longer has %q", granted)
	}
	for _, tc := range []struct {
		name     string
		rule     string
		eligible bool
	}{
		{"as shipped", granted, true},
		{"EMPLOYMENT denied", "p, employer_hr, EMPLOYMENT, EMPLOYMENT_CHECK, deny", false},
		{"EMPLOYMENT not granted", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, policy.ModelFile), model, 0o600)
			os.WriteFile(filepath.Join(dir, policy.PolicyFile), []byte(strings.Replace(string(rules), granted, tc.rule, 1)), 0o600)
			pol, err := policy.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			hub := newHubWith(t, func(c *server.Config) { c.Policy = pol })
			h := &careHub{hub: hub, officer: hub.token(demo.SlugKPWKM, demo.RoleProtectionOfficer),
				employer: hub.token(demo.SlugEmployerLadang, demo.RoleEmployerHR)}
			v := h.newMarkerVictim(victimSpec{NoChild: true, NoExtras: true})
			h.order(t, v.ID, "IPO", -30, 21)
			h.order(t, v.ID, "PO", -9, 90)
			h.ok(t, h.officer, `mutation($in: EligibilityDecisionInput!) { recordEligibilityDecision(input: $in) { decision } }`,
				map[string]any{"in": map[string]any{"victimId": v.ID, "medicalScreeningPassed": true, "riskAssessmentPassed": true}}, nil)
			h.ok(t, h.officer, recordConsentMutation, map[string]any{"in": map[string]any{"victimId": v.ID, "grantor": "SELF",
				"language": "id", "method": "WRITTEN", "documentRef": "form-1", "provisions": []any{map[string]any{"granteeSlug": demo.SlugEmployerLadang,
					"categories": []string{"EMPLOYMENT"}, "purposes": []string{"EMPLOYMENT_CHECK"}}}}}, nil)
			var code struct{ IssueEligibilityCode struct{ Code string } }
			h.ok(t, h.officer, `mutation($in: IssueEligibilityCodeInput!) { issueEligibilityCode(input: $in) { code } }`,
				map[string]any{"in": map[string]any{"victimId": v.ID, "employerSlug": demo.SlugEmployerLadang}}, &code)
			res := h.do(request{Token: h.employer, Query: checkQuery, Variables: map[string]any{"code": code.IssueEligibilityCode.Code}})
			eligible := strings.Contains(string(res.Data), `"eligible":true`)
			if eligible != tc.eligible || len(res.Errors) != 0 {
				t.Errorf("check answered %s, want eligible %v", res.Body, tc.eligible)
			}
			if n := h.count(`SELECT count(*) FROM eligibility_checks`); n != 1 {
				t.Errorf("%d checks logged, want 1", n)
			}
		})
	}
}

// TestConsentStatusComesFromTheEvaluator: a consent whose only provision starts tomorrow grants nothing
// and reads SCHEDULED, not ACTIVE as the Go status helper used to say; an ended one reads EXPIRED and a
// withdrawn one WITHDRAWN.
func TestConsentStatusComesFromTheEvaluator(t *testing.T) {
	h := newCareHub(t)
	for _, tc := range []struct{ period, status string }{
		{"", "ACTIVE"}, {"future", "SCHEDULED"}, {"expired", "EXPIRED"}, {"withdrawn", "WITHDRAWN"},
	} {
		v := h.newMarkerVictim(victimSpec{NoChild: true, NoExtras: true, Consents: []consentSpec{
			{Grantee: "GOVERNMENT", Categories: []string{"HEALTH"}, Purposes: []string{"CASE_MANAGEMENT"}, Period: tc.period}}})
		var got struct {
			Victim struct {
				MedicalNeeds *string
				Consents     []struct{ ID, Status string }
			}
		}
		h.ok(t, h.officer, `query($id: ID!) { victim(id: $id) { medicalNeeds consents { id status } } }`, map[string]any{"id": v.ID}, &got)
		var status string
		for _, c := range got.Victim.Consents {
			if c.ID == v.ConsentIDs[len(v.ConsentIDs)-1] {
				status = c.Status
			}
		}
		if status != tc.status || (got.Victim.MedicalNeeds != nil) != (tc.status == "ACTIVE") {
			t.Errorf("period %q: status %q, medicalNeeds %v; want %s", tc.period, status, got.Victim.MedicalNeeds, tc.status)
		}
	}
}
