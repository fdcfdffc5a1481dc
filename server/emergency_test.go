package server_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
)

const (
	openEmergency = `mutation($v: ID!, $cats: [DataCategory!]!, $minutes: Int!) {
		openEmergencyAccess(victimId: $v, categories: $cats, minutes: $minutes,
			reason: "the victim collapsed at the shelter; the ambulance crew asks for known conditions") {
		id victimId need state categories expiresAt } }`
	approveEmergency = `mutation($id: ID!) { approveEmergencyAccess(id: $id) { id state approvedBy } }`
	revokeEmergency  = `mutation($id: ID!) { revokeEmergencyAccess(id: $id) { id state revokedBy } }`
	closeReview      = `mutation($id: ID!) { closeEmergencyReview(id: $id, finding: "justified: the ambulance crew needed the asthma history") { id reviewedBy finding } }`
	reviewQueue      = `query($s: EmergencyReviewStatus!) { emergencyGrants(status: $s) { id victimId openedBy partnerName categories need reason state
		reads { username partnerName categories requestId } } }`
	// emergencyRead reaches the victims by every path a caller has: aliases, fragments, nested records,
	// the root list and its count, the root referral lists and the expiring orders.
	emergencyRead = `query($a: ID!, $b: ID!, $c: ID!) {
		a: victim(id: $a) { ...All } b: victim(id: $b) { ...All } c: victim(id: $c) { ...All }
		again: victim(id: $a) { ... on Victim { medicalNeeds counsellingNotes family { victim { ...All } } } }
		victims(first: 100) { totalCount edges { node { ...All } } }
		referrals { victim { id caseRef medicalNeeds legalName } }
		overdueReferrals { victim { id caseRef medicalNeeds legalName } }
		expiring: ordersExpiring(withinDays: 366) { id }
	}` + "\n" + allVictimFields
)

type grantOut struct {
	ID, VictimID, Need, State string
	Categories                []string
	ApprovedBy, RevokedBy     *string
}

// TestBreakGlass exercises emergency access end to end over HTTP: open, read (the granted category
// disclosed, others withheld, other victims missing, by every path), the audit and the disclosure report,
// expiry, revocation, refusals (a never category, a victim outside the scope, the opener's or the same
// partner's approval), and the review queue with the reads made under each grant.
func TestBreakGlass(t *testing.T) {
	h := newCareHub(t)
	v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM}})
	w := h.newMarkerVictim(victimSpec{})
	foreign := h.newMarkerVictim(victimSpec{Owner: demo.SlugJIM})
	analyst := h.token(demo.SlugKPWKM, demo.RoleMinistryAnalyst)
	vars := map[string]any{"a": v.ID, "b": w.ID, "c": foreign.ID}
	emergency := func(token, label string) *response {
		t.Helper()
		res := h.do(request{Token: token, Purpose: "EMERGENCY", Query: emergencyRead, Variables: vars, RequestID: label})
		if len(res.Errors) > 0 {
			t.Fatalf("read under EMERGENCY: %s", res.Body)
		}
		return res
	}
	// nothing asserts that a response under EMERGENCY shows no trace of any of the marker victims.
	nothing := func(res *response) {
		t.Helper()
		if orders := expiringOrders(t, res); orders != 0 {
			t.Errorf("without a grant in effect: %d expiring orders listed", orders)
		}
		for _, x := range []*markerVictim{v, w, foreign} {
			assertNoLeak(t, res.Body, x.identifiers())
			if p := checkMarkers(res.Body, x, 0); len(p) > 0 {
				t.Errorf("%v", p)
			}
		}
	}
	open := func(token string, victim string, cats []string, minutes int) *grantOut {
		t.Helper()
		var out struct{ OpenEmergencyAccess grantOut }
		h.ok(t, token, openEmergency, map[string]any{"v": victim, "cats": cats, "minutes": minutes}, &out)
		return &out.OpenEmergencyAccess
	}

	// Without a grant, EMERGENCY shows nothing, not even that a victim exists.
	nothing(emergency(h.officer, "none"))
	// The same paths under the officer's everyday purpose reach V's and W's orders, which EMERGENCY hides.
	if everyday := h.do(request{Token: h.officer, Query: emergencyRead, Variables: vars}); expiringOrders(t, everyday) < 2 {
		t.Fatalf("the officer's expiring orders under CASE_MANAGEMENT: %s", truncate(everyday.Data))
	}

	// Refused at open: a category the role may never open, more minutes than the role's maximum, a
	// victim outside the scope (as a missing one), EMERGENCY declared by a role that may not.
	h.fails(t, h.pdrm, openEmergency, map[string]any{"v": v.ID, "cats": []string{"HEALTH"}, "minutes": 30}, "FORBIDDEN", "the policy does not let your role open HEALTH", "")
	h.fails(t, h.officer, openEmergency, map[string]any{"v": v.ID, "cats": []string{"LEGAL"}, "minutes": 30}, "FORBIDDEN", "", "")
	h.fails(t, h.officer, openEmergency, map[string]any{"v": v.ID, "cats": []string{"HEALTH"}, "minutes": 241}, "INVALID", "", "minutes")
	missing := h.fails(t, h.officer, openEmergency, map[string]any{"v": randomUUID(), "cats": []string{"HEALTH"}, "minutes": 30}, "NOT_FOUND", "", "")
	outside := h.fails(t, h.officer, openEmergency, map[string]any{"v": foreign.ID, "cats": []string{"HEALTH"}, "minutes": 30}, "NOT_FOUND", "", "")
	if !bytes.Equal(missing.Body, outside.Body) || missing.Status != outside.Status {
		t.Errorf("a victim outside the scope answers differently from a missing one:\n%s\n%s", missing.Body, outside.Body)
	}
	if res := h.do(request{Token: h.harapan, Purpose: "EMERGENCY", Query: `{ viewer { purpose } }`}); res.Code() != "FORBIDDEN" {
		t.Errorf("an NGO declaring EMERGENCY: %s", res.Body)
	}

	// Open HEALTH (review afterwards): in effect at once.
	g := open(h.officer, v.ID, []string{"HEALTH"}, 60)
	if g.State != "IN_EFFECT" || g.Need != "REVIEW" {
		t.Fatalf("grant: %+v", g)
	}
	// Read: V's HEALTH marker and case reference, nothing else of V, nothing of W or the foreign case, by
	// any path; the withheld fields listed.
	res := emergency(h.officer, "health-read")
	if p := checkMarkers(res.Body, v, lindung.SetOf(lindung.Health)); len(p) > 0 {
		t.Errorf("V under a HEALTH grant: %v\n%s", p, truncate(res.Body))
	}
	for _, x := range []*markerVictim{w, foreign} {
		assertNoLeak(t, res.Body, x.identifiers())
	}
	if orders := expiringOrders(t, res); orders != 0 {
		t.Errorf("under a HEALTH grant of V: %d expiring orders listed, want none (an order reveals LEGAL)", orders)
	}
	if !strings.Contains(string(res.Data), `"totalCount":1`) {
		t.Errorf("totalCount under EMERGENCY: %s", truncate(res.Data))
	}
	if len(res.Extensions.Withheld) == 0 {
		t.Error("no withheld paths listed under EMERGENCY")
	}
	// The audit names the purpose and the grant; every category disclosed is HEALTH.
	recs := h.accessRecords("health-read")
	if len(recs) != 1 || recs[0].VictimID != v.ID || recs[0].Purpose != "EMERGENCY" || !sameStrings(recs[0].Disclosed, []string{"HEALTH"}) {
		t.Fatalf("access records: %+v", recs)
	}
	if n := h.count(`SELECT count(*) FROM access_records WHERE request_id = $1 AND emergency_grant_id = $2::uuid`, h.requestID("health-read"), g.ID); n != 1 {
		t.Errorf("the access record names the grant %d times", n)
	}
	// Federation: representations by case reference resolve V with HEALTH only, and W to nothing.
	ents := h.do(request{Token: h.officer, Purpose: "EMERGENCY", Query: entitiesQuery,
		Variables: map[string]any{"r": []any{rep(v.CaseRef), rep(w.CaseRef)}}})
	if p := checkMarkers(ents.Body, v, lindung.SetOf(lindung.Health)); len(p) > 0 || len(ents.Errors) > 0 {
		t.Errorf("_entities under EMERGENCY: %v %s", p, truncate(ents.Body))
	}
	assertNoLeak(t, ents.Body, w.identifiers())
	// The same token under its everyday purpose is unchanged: HEALTH needs consent there.
	if res := h.do(request{Token: h.officer, Query: `query($a: ID!) { victim(id: $a) { medicalNeeds legalName } }`, Variables: map[string]any{"a": v.ID}}); bytes.Contains(res.Body, []byte(v.marker(lindung.Health))) {
		t.Error("the grant opened HEALTH under CASE_MANAGEMENT")
	}

	// The victim's report says it was in an emergency, with the reason.
	var report struct {
		Disclosures []struct{ Purpose, Sentence string }
	}
	h.ok(t, h.officer, `query($a: ID!) { disclosures(victimId: $a) { purpose sentence emergencyReason } }`, map[string]any{"a": v.ID}, &report)
	found := false
	for _, d := range report.Disclosures {
		if d.Purpose == "EMERGENCY" && strings.Contains(d.Sentence, "your health information in an emergency (the reason given: \"the victim collapsed") {
			found = true
		}
	}
	if !found {
		t.Errorf("the disclosure report has no emergency line: %+v", report.Disclosures)
	}

	// Expiry: past expires_at, nothing on the next request.
	h.exec(`UPDATE emergency_grants SET opened_at = now() - interval '2 hours', expires_at = now() - interval '1 second' WHERE id = $1::uuid`, g.ID)
	nothing(emergency(h.officer, "expired"))

	// Revocation: at once.
	g2 := open(h.officer, v.ID, []string{"HEALTH"}, 1)
	if res := emergency(h.officer, "before-revoke"); !bytes.Contains(res.Body, []byte(v.marker(lindung.Health))) {
		t.Fatalf("a fresh grant discloses nothing: %s", truncate(res.Body))
	}
	var revoked struct{ RevokeEmergencyAccess grantOut }
	h.ok(t, h.officer, revokeEmergency, map[string]any{"id": g2.ID}, &revoked)
	if revoked.RevokeEmergencyAccess.State != "REVOKED" {
		t.Errorf("revoked: %+v", revoked)
	}
	nothing(emergency(h.officer, "revoked"))

	// Approval: the police's LOCATION grant waits for another partner; neither the opener nor the opener's
	// partner approves it; the agency holding the case does.
	pg := open(h.pdrm, v.ID, []string{"LOCATION"}, 60)
	if pg.State != "AWAITING_APPROVAL" || pg.Need != "APPROVE_OTHER_PARTNER" {
		t.Fatalf("police grant: %+v", pg)
	}
	nothing(emergency(h.pdrm, "awaiting"))
	h.fails(t, h.pdrm, approveEmergency, map[string]any{"id": pg.ID}, "FORBIDDEN", "", "")
	h.fails(t, h.officer, revokeEmergency, map[string]any{"id": randomUUID()}, "NOT_FOUND", "", "")
	h.ok(t, h.officer, approveEmergency, map[string]any{"id": pg.ID}, nil)
	res = emergency(h.pdrm, "approved")
	if p := checkMarkers(res.Body, v, lindung.SetOf(lindung.Location)); len(p) > 0 {
		t.Errorf("V under the police's approved LOCATION grant: %v\n%s", p, truncate(res.Body))
	}
	assertNoLeak(t, res.Body, w.identifiers())

	// Four eyes within an agency: the officer's COUNSELLING grant is not approved by the officer.
	cg := open(h.officer, w.ID, []string{"COUNSELLING"}, 30)
	h.fails(t, h.officer, approveEmergency, map[string]any{"id": cg.ID}, "FORBIDDEN", "a second user must approve", "")

	// The review queue: every grant, with the reads made under each; closed only when no longer usable.
	var queue struct {
		EmergencyGrants []struct {
			ID, State string
			Reads     []struct {
				Username   string
				Categories []string
			}
		}
	}
	h.ok(t, analyst, reviewQueue, map[string]any{"s": "OPEN"}, &queue)
	if len(queue.EmergencyGrants) != 4 {
		t.Fatalf("review queue: %+v", queue)
	}
	for _, x := range queue.EmergencyGrants {
		if x.ID == g.ID && (len(x.Reads) != 2 || !sameStrings(x.Reads[0].Categories, []string{"HEALTH"})) { // the query and _entities
			t.Errorf("reads under the first grant: %+v", x.Reads)
		}
		if x.ID == pg.ID && (len(x.Reads) != 1 || !sameStrings(x.Reads[0].Categories, []string{"LOCATION"})) {
			t.Errorf("reads under the police grant: %+v", x.Reads)
		}
	}
	h.fails(t, h.harapan, reviewQueue, map[string]any{"s": "OPEN"}, "FORBIDDEN", "", "")
	// The police see their own grant only: the officers' HEALTH grants of V would tell of a health
	// emergency.
	h.ok(t, h.pdrm, reviewQueue, map[string]any{"s": "OPEN"}, &queue)
	if len(queue.EmergencyGrants) != 1 || queue.EmergencyGrants[0].ID != pg.ID {
		t.Errorf("the police's queue: %+v", queue)
	}
	assertNoLeak(t, h.do(request{Token: h.pdrm, Query: reviewQueue, Variables: map[string]any{"s": "CLOSED"}}).Body, []string{"collapsed"})
	h.fails(t, analyst, closeReview, map[string]any{"id": pg.ID}, "CONFLICT", "", "")
	h.ok(t, analyst, closeReview, map[string]any{"id": g.ID}, nil)
	h.ok(t, analyst, reviewQueue, map[string]any{"s": "CLOSED"}, &queue)
	if len(queue.EmergencyGrants) != 1 || queue.EmergencyGrants[0].ID != g.ID {
		t.Errorf("closed reviews: %+v", queue)
	}
	if got := h.changes(v.ID); !strings.Contains(strings.Join(got, "\n"), "emergency_grant reviewed") {
		t.Errorf("change log: %v", got)
	}
	// The reviewer revokes any grant, another partner's too: the police's, still in effect.
	var byReviewer struct{ RevokeEmergencyAccess grantOut }
	h.ok(t, analyst, revokeEmergency, map[string]any{"id": pg.ID}, &byReviewer)
	if byReviewer.RevokeEmergencyAccess.State != "REVOKED" {
		t.Errorf("revoked by the reviewer: %+v", byReviewer)
	}
	nothing(emergency(h.pdrm, "revoked-by-reviewer"))
}

// expiringOrders counts the expiring orders an emergencyRead response lists: an order's id alone, which
// no marker check sees, tells that the victim has one.
func expiringOrders(t *testing.T, res *response) int {
	t.Helper()
	var data struct{ Expiring []struct{ ID string } }
	if err := json.Unmarshal(res.Data, &data); err != nil {
		t.Fatalf("emergency read: %v", err)
	}
	return len(data.Expiring)
}
