package server_test

import (
	"strings"
	"testing"

	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
)

const checkQuery = `query($code: String!) { workPermitEligibility(code: $code) { eligible validUntil } }`

// TestEligibilityCodes: decided, consented, issued, checked by the employer (audited), and every failure
// answers exactly the shape of an unknown code; the employer can do nothing else.
func TestEligibilityCodes(t *testing.T) {
	h := newCareHub(t)
	v := h.newMarkerVictim(victimSpec{NoChild: true, NoExtras: true})
	h.order(t, v.ID, "IPO", -30, 21)
	h.order(t, v.ID, "PO", -9, 90)
	decide := `mutation($in: EligibilityDecisionInput!) { recordEligibilityDecision(input: $in) { decision validUntil protectionOrderHeld } }`
	h.fails(t, h.officer, decide, map[string]any{"in": map[string]any{"victimId": v.ID, "medicalScreeningPassed": true,
		"riskAssessmentPassed": true, "validUntil": h.day(200)}}, "INVALID", "", "validUntil")
	var dec struct {
		RecordEligibilityDecision struct{ Decision, ValidUntil string }
	}
	h.ok(t, h.officer, decide, map[string]any{"in": map[string]any{"victimId": v.ID, "medicalScreeningPassed": true,
		"riskAssessmentPassed": true, "validUntil": h.day(60)}}, &dec)
	if dec.RecordEligibilityDecision.Decision != "ELIGIBLE" || dec.RecordEligibilityDecision.ValidUntil != h.day(60) {
		t.Fatalf("decision %+v", dec)
	}
	issue := `mutation($in: IssueEligibilityCodeInput!, $key: String) { issueEligibilityCode(input: $in, idempotencyKey: $key) { id code expiresAt employer { slug } } }`
	issueIn := map[string]any{"in": map[string]any{"victimId": v.ID, "employerSlug": demo.SlugEmployerLadang}, "key": "code-1"}
	h.fails(t, h.officer, issue, issueIn, "CONFLICT", "NO_CONSENT:", "")
	h.ok(t, h.officer, recordConsentMutation, map[string]any{"in": map[string]any{"victimId": v.ID, "grantor": "SELF",
		"language": "id", "method": "VERBAL", "provisions": []any{map[string]any{"granteeSlug": demo.SlugEmployerLadang,
			"categories": []string{"EMPLOYMENT"}, "purposes": []string{"EMPLOYMENT_CHECK"}}}}}, nil)
	var code struct{ IssueEligibilityCode struct{ ID, Code string } }
	h.ok(t, h.officer, issue, issueIn, &code)
	c := code.IssueEligibilityCode
	if len(c.Code) != 11 || strings.ContainsAny(c.Code, "01IO") {
		t.Fatalf("code %q", c.Code)
	}
	var replay struct {
		IssueEligibilityCode struct {
			ID   string
			Code *string
		}
	}
	h.ok(t, h.officer, issue, issueIn, &replay)
	if replay.IssueEligibilityCode.ID != c.ID || replay.IssueEligibilityCode.Code != nil {
		t.Errorf("replay %+v, want the same id without the code", replay)
	}
	if n := h.count(`SELECT count(*) FROM eligibility_codes WHERE victim_id = $1`, v.ID); n != 1 {
		t.Errorf("%d codes stored", n)
	}
	if n := h.count(`SELECT count(*) FROM eligibility_codes WHERE code_hash = sha256(convert_to(replace($1, '-', ''), 'UTF8'))`, c.Code); n != 1 {
		t.Error("the code is not stored as its SHA-256")
	}

	rid := newRequestID()
	res := h.do(request{Token: h.employer, Query: checkQuery, Variables: map[string]any{"code": strings.ToLower(c.Code)}, RequestID: rid})
	if string(res.Data) != `{"workPermitEligibility":{"eligible":true,"validUntil":"`+h.day(60)+`"}}` {
		t.Fatalf("check answered %s", res.Body)
	}
	if recs := h.accessRecords(rid); len(recs) != 1 || recs[0].VictimID != v.ID || !sameStrings(recs[0].Disclosed, []string{"EMPLOYMENT"}) {
		t.Errorf("access records of the check %+v", recs)
	}
	notEligible := `{"workPermitEligibility":{"eligible":false,"validUntil":null}}`
	expectNo := func(name, token, code string) {
		t.Helper()
		res := h.do(request{Token: token, Query: checkQuery, Variables: map[string]any{"code": code}})
		if string(res.Data) != notEligible || len(res.Errors) != 0 || res.Status != 200 {
			t.Errorf("%s: %d %s", name, res.Status, res.Body)
		}
	}
	expectNo("unknown code", h.employer, "ABCDE-FGHJK")
	expectNo("not a code", h.employer, "' OR 1=1 --")
	expectNo("another employer", h.kilang, c.Code)
	h.exec(`UPDATE work_eligibility SET decision = 'NOT_ELIGIBLE', valid_until = NULL WHERE victim_id = $1`, v.ID)
	expectNo("ineligible", h.employer, c.Code)
	h.exec(`UPDATE work_eligibility SET decision = 'ELIGIBLE', valid_until = current_date + 60 WHERE victim_id = $1`, v.ID)
	h.exec(`UPDATE consents SET withdrawn_at = now() WHERE victim_id = $1 AND withdrawn_at IS NULL`, v.ID)
	expectNo("consent withdrawn", h.employer, c.Code)
	h.exec(`UPDATE eligibility_codes SET expires_at = issued_at + interval '1 second' WHERE id = $1`, c.ID)
	expectNo("expired", h.employer, c.Code)
	h.ok(t, h.officer, `mutation($id: ID!) { revokeEligibilityCode(id: $id) { revokedAt } }`, map[string]any{"id": c.ID}, nil)
	expectNo("revoked", h.employer, c.Code)
	if n := h.count(`SELECT count(*) FROM eligibility_checks`); n != 8 {
		t.Errorf("%d checks logged, want 8", n)
	}
	if n := h.count(`SELECT count(*) FROM eligibility_checks WHERE code_hash_prefix IS NULL`); n != 1 {
		t.Errorf("%d checks of input that is not a code, want 1", n)
	}
	if err := h.execErr(`DELETE FROM eligibility_checks`); err == nil {
		t.Error("the check log is not append-only")
	}

	// The employer can do nothing else, and no other role can check a code.
	for _, q := range []string{
		`{ overdueReferrals { id } }`, `{ ordersExpiring(withinDays: 30) { id } }`,
		`{ occupancy { state } }`,
	} {
		res := h.do(request{Token: h.employer, Query: q})
		if strings.Contains(string(res.Body), `"id"`) || (res.Code() != "FORBIDDEN" && !strings.Contains(string(res.Data), "[]")) {
			t.Errorf("employer %s: %s", q, res.Body)
		}
	}
	for _, q := range []string{recordConsentMutation, referMutation, placeMutation, orderMutation} {
		if res := h.do(request{Token: h.employer, Query: q, Variables: map[string]any{"in": map[string]any{}}}); res.Code() == "" {
			t.Errorf("employer mutation answered: %s", res.Body)
		}
	}
	h.fails(t, h.officer, checkQuery, map[string]any{"code": c.Code}, "FORBIDDEN", "", "")
	h.fails(t, h.harapan, checkQuery, map[string]any{"code": c.Code}, "FORBIDDEN", "", "")
}

// TestServicesAndFamilyLog: an NGO records only services it was referred for, for cases referred to it;
// the officer requests and schedules; the family log is FAMILY data, guarded like the rest.
func TestServicesAndFamilyLog(t *testing.T) {
	h := newCareHub(t)
	v := h.newMarkerVictim(victimSpec{NoChild: true,
		Referrals: []referralSpec{{To: demo.SlugNGOSuara, Status: "ACCEPTED", Categories: []string{"CASE", "COUNSELLING", "FAMILY"}}},
		// The delivery is counselling data: the NGO is answered with its record where the victim shares it.
		Consents: []consentSpec{{Grantee: demo.SlugNGOSuara, Categories: []string{"COUNSELLING"}, Purposes: []string{"SERVICE_DELIVERY"}}}})
	h.exec(`UPDATE referrals SET service_code = 'COUNSELLING' WHERE id = $1`, v.ReferralIDs[1])
	deliver := `mutation($in: ServiceDeliveryInput!, $key: String) { recordServiceDelivery(input: $in, idempotencyKey: $key) { id status deliveredOn provider { slug } } }`
	var d struct {
		RecordServiceDelivery struct {
			ID, Status string
			Provider   struct{ Slug string }
		}
	}
	h.ok(t, h.suara, deliver, map[string]any{"in": map[string]any{"victimId": v.ID, "service": "COUNSELLING"}, "key": "s-1"}, &d)
	if d.RecordServiceDelivery.Status != "DELIVERED" || d.RecordServiceDelivery.Provider.Slug != demo.SlugNGOSuara {
		t.Errorf("delivery %+v", d)
	}
	h.fails(t, h.suara, deliver, map[string]any{"in": map[string]any{"victimId": v.ID, "service": "HEALTH"}}, "FORBIDDEN", "", "")
	h.fails(t, h.harapan, deliver, map[string]any{"in": map[string]any{"victimId": v.ID, "service": "HEALTH"}}, "NOT_FOUND", "", "")
	h.fails(t, h.suara, deliver, map[string]any{"in": map[string]any{"service": "COUNSELLING"}}, "INVALID", "", "victimId")

	var req struct{ RequestService struct{ ID, Status string } }
	h.ok(t, h.officer, `mutation($in: RequestServiceInput!) { requestService(input: $in) { id status } }`,
		map[string]any{"in": map[string]any{"victimId": v.ID, "service": "LEGAL"}}, &req)
	h.ok(t, h.officer, `mutation($id: ID!, $d: Date!) { scheduleService(id: $id, scheduledFor: $d) { status } }`,
		map[string]any{"id": req.RequestService.ID, "d": h.day(3)}, nil)
	h.ok(t, h.officer, deliver, map[string]any{"in": map[string]any{"serviceRecordId": req.RequestService.ID}}, nil)
	h.fails(t, h.officer, deliver, map[string]any{"in": map[string]any{"serviceRecordId": req.RequestService.ID}}, "CONFLICT", "SERVICE_STATUS:", "")

	fam := `mutation($in: FamilyContactInput!) { recordFamilyContact(input: $in) { id kind withWhom interpreter { slug } } }`
	h.fails(t, h.suara, fam, map[string]any{"in": map[string]any{"victimId": v.ID, "kind": "CALL", "withWhom": "Mother"}}, "FORBIDDEN", "", "")
	h.exec(`UPDATE referrals SET service_code = 'FAMILY_COMMUNICATION' WHERE id = $1`, v.ReferralIDs[1])
	res := h.ok(t, h.suara, fam, map[string]any{"in": map[string]any{"victimId": v.ID, "kind": "CALL", "withWhom": "MARKER-FAMLOG",
		"interpreterSlug": demo.SlugNGOCahaya}}, nil)
	if strings.Contains(string(res.Body), "MARKER-FAMLOG") {
		t.Error("the NGO got FAMILY data back without the victim's consent")
	}
	h.fails(t, h.officer, fam, map[string]any{"in": map[string]any{"victimId": v.ID, "kind": "VISIT", "withWhom": ""}}, "INVALID", "", "withWhom")
	h.ok(t, h.officer, fam, map[string]any{"in": map[string]any{"victimId": v.ID, "kind": "VISIT", "withWhom": "Brother"}}, nil)
	var log struct {
		Victim struct{ FamilyContacts []struct{ WithWhom string } }
	}
	h.ok(t, h.officer, `query($id: ID!) { victim(id: $id) { familyContacts { withWhom kind occurredOn recordedBy { slug } } } }`, map[string]any{"id": v.ID}, &log)
	if len(log.Victim.FamilyContacts) != 2 {
		t.Errorf("the officer sees %d family contacts, want 2", len(log.Victim.FamilyContacts))
	}
	var ngoLog struct {
		Victim struct{ FamilyContacts []struct{ Kind *string } }
	}
	h.ok(t, h.suara, `query($id: ID!) { victim(id: $id) { familyContacts { kind } } }`, map[string]any{"id": v.ID}, &ngoLog)
	if ngoLog.Victim.FamilyContacts != nil {
		t.Errorf("the NGO sees the family log without consent: %+v", ngoLog)
	}
}

// TestTrainingRecords: the operator records a completion; the untrained officer then gets case access.
func TestTrainingRecords(t *testing.T) {
	h := newCareHub(t)
	untrained := h.issue(auth.Claims{Subject: demo.UntrainedOfficerUsername, Partner: demo.SlugKPWKM, Roles: []string{demo.RoleProtectionOfficer}})
	h.fails(t, untrained, `{ victims(first: 1) { totalCount } }`, nil, "FORBIDDEN", "case access needs", "")
	train := `mutation($in: RecordTrainingInput!) { recordTraining(input: $in) { username moduleVersion current } }`
	in := map[string]any{"username": demo.UntrainedOfficerUsername, "moduleVersion": "PO-2026.1", "completedOn": h.day(0), "expiresOn": h.day(365)}
	h.fails(t, h.officer, train, map[string]any{"in": in}, "FORBIDDEN", "", "")
	h.fails(t, h.operator, train, map[string]any{"in": map[string]any{"username": "nobody", "moduleVersion": "v", "completedOn": h.day(0)}}, "INVALID", "", "username")
	h.fails(t, h.operator, train, map[string]any{"in": map[string]any{"username": demo.UntrainedOfficerUsername, "moduleVersion": "v",
		"completedOn": h.day(0), "expiresOn": h.day(0)}}, "INVALID", "", "expiresOn")
	var out struct{ RecordTraining struct{ Current bool } }
	h.ok(t, h.operator, train, map[string]any{"in": in}, &out)
	if !out.RecordTraining.Current {
		t.Error("a fresh completion is not current")
	}
	h.ok(t, untrained, `{ victims(first: 1) { totalCount } }`, nil, nil)
}
