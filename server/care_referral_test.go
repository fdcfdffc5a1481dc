package server_test

import (
	"strings"
	"testing"

	"github.com/lindung/lindung/demo"
)

const referMutation = `mutation($in: ReferVictimInput!) { referVictim(input: $in) { id status to { slug } } }`

// TestReferralLifecycle: an officer refers; the NGO sees the referral (not the case) before it answers, the
// case after it accepts, and nothing from the request after completion. Transitions out of order are a
// CONFLICT naming them; only the receiving partner answers; only the referring one withdraws.
func TestReferralLifecycle(t *testing.T) {
	h := newCareHub(t)
	v := h.newMarkerVictim(victimSpec{NoChild: true})
	var out struct{ ReferVictim struct{ ID, Status string } }
	h.ok(t, h.officer, referMutation, map[string]any{"in": map[string]any{"victimId": v.ID, "toSlug": demo.SlugNGOSuara,
		"service": "COUNSELLING", "categories": []string{"CASE", "COUNSELLING"}, "dueOn": "2099-01-01", "reason": "Trauma counselling"}}, &out)
	id := out.ReferVictim.ID
	if out.ReferVictim.Status != "IN_PROGRESS" {
		t.Fatalf("new referral %+v", out.ReferVictim)
	}
	see := `query($id: ID!) { victim(id: $id) { caseRef } }`
	caseVisible := func(token string) bool {
		res := h.ok(t, token, see, map[string]any{"id": v.ID}, nil)
		return strings.Contains(string(res.Body), v.CaseRef)
	}
	if caseVisible(h.suara) {
		t.Error("the NGO sees the case before accepting")
	}
	listed := h.ok(t, h.suara, `{ referrals(status: IN_PROGRESS) { id } }`, nil, nil)
	if !strings.Contains(string(listed.Body), id) {
		t.Error("the NGO does not see the referral awaiting its answer")
	}
	move := func(token, op string) *response {
		return h.do(request{Token: token, Query: `mutation($id: ID!) { ` + op + `(id: $id) { status } }`, Variables: map[string]any{"id": id}})
	}
	if res := move(h.officer, "acceptReferral"); res.Code() != "FORBIDDEN" {
		t.Errorf("the referring officer accepted: %s", res.Body)
	}
	if res := move(h.harapan, "acceptReferral"); res.Code() != "NOT_FOUND" {
		t.Errorf("another NGO answered: %s", res.Body)
	}
	if res := move(h.suara, "completeReferral"); res.Code() != "CONFLICT" || !strings.Contains(res.Errors[0].Message, "IN_PROGRESS to COMPLETED") {
		t.Errorf("completing an unanswered referral: %s", res.Body)
	}
	if res := move(h.suara, "acceptReferral"); res.Code() != "" {
		t.Fatalf("accept: %s", res.Body)
	}
	if !caseVisible(h.suara) {
		t.Error("the NGO does not see the case after accepting")
	}
	if res := move(h.suara, "withdrawReferral"); res.Code() != "FORBIDDEN" {
		t.Errorf("the NGO withdrew: %s", res.Body)
	}
	if res := move(h.suara, "completeReferral"); res.Code() != "" {
		t.Fatalf("complete: %s", res.Body)
	}
	if caseVisible(h.suara) {
		t.Error("the NGO still sees the case after completing")
	}
	if res := move(h.officer, "withdrawReferral"); res.Code() != "CONFLICT" {
		t.Errorf("withdrawing a completed referral: %s", res.Body)
	}
	got := strings.Join(h.changes(v.ID), "|")
	if got != "referral referred to,service,categories,dueOn,reason|referral accepted status|referral completed status" {
		t.Errorf("change log %q", got)
	}
}

// TestReferralRejectAndWithdraw: a rejection needs a reason; a withdrawal ends the NGO's access.
func TestReferralRejectAndWithdraw(t *testing.T) {
	h := newCareHub(t)
	v := h.newMarkerVictim(victimSpec{NoChild: true})
	refer := func() string {
		var out struct{ ReferVictim struct{ ID string } }
		h.ok(t, h.officer, referMutation, map[string]any{"in": map[string]any{"victimId": v.ID, "toSlug": demo.SlugNGOHarapan,
			"service": "HEALTH", "categories": []string{"CASE"}, "dueOn": "2099-01-01", "reason": "Screening"}}, &out)
		return out.ReferVictim.ID
	}
	a := refer()
	h.fails(t, h.harapan, `mutation($id: ID!) { rejectReferral(id: $id, reason: " ") { status } }`, map[string]any{"id": a}, "INVALID", "", "reason")
	var rej struct {
		RejectReferral struct{ Status, RejectionReason string }
	}
	h.ok(t, h.harapan, `mutation($id: ID!) { rejectReferral(id: $id, reason: "No capacity") { status rejectionReason } }`, map[string]any{"id": a}, &rej)
	if rej.RejectReferral.Status != "REJECTED" {
		t.Errorf("rejected: %+v", rej)
	}
	b := refer()
	h.ok(t, h.harapan, `mutation($id: ID!) { acceptReferral(id: $id) { status } }`, map[string]any{"id": b}, nil)
	h.ok(t, h.officer, `mutation($id: ID!) { withdrawReferral(id: $id) { status } }`, map[string]any{"id": b}, nil)
	res := h.ok(t, h.harapan, `query($id: ID!) { victim(id: $id) { caseRef } }`, map[string]any{"id": v.ID}, nil)
	if strings.Contains(string(res.Body), v.CaseRef) {
		t.Error("the NGO sees the case after the referral was withdrawn")
	}
	for _, tc := range []struct {
		field, key string
		value      any
	}{
		{"toSlug", "toSlug", "nobody"}, {"toSlug", "toSlug", demo.SlugKPWKM}, {"toSlug", "toSlug", demo.SlugEmployerLadang},
		{"dueOn", "dueOn", "2000-01-01"}, {"reason", "reason", ""}, {"categories", "categories", []string{}},
	} {
		in := map[string]any{"victimId": v.ID, "toSlug": demo.SlugNGOHarapan, "service": "HEALTH", "categories": []string{"CASE"},
			"dueOn": "2099-01-01", "reason": "x"}
		in[tc.key] = tc.value
		h.fails(t, h.officer, referMutation, map[string]any{"in": in}, "INVALID", "", tc.field)
	}
}

// TestOverdueReferrals lists the referring partner's open referrals past their due date, and no one else's.
func TestOverdueReferrals(t *testing.T) {
	h := newCareHub(t)
	v := h.newMarkerVictim(victimSpec{NoChild: true})
	h.exec(`UPDATE referrals SET due_on = current_date - 3, status = 'ACCEPTED', rejection_reason = NULL WHERE id = $1`, v.ReferralIDs[0])
	want := h.count(`SELECT count(*) FROM referrals WHERE from_partner_id = (SELECT id FROM partners WHERE slug = 'kpwkm')
		AND status IN ('IN_PROGRESS', 'ACCEPTED') AND due_on < current_date`)
	var out struct{ OverdueReferrals []struct{ ID string } }
	h.ok(t, h.officer, `{ overdueReferrals { id dueOn status } }`, nil, &out)
	if len(out.OverdueReferrals) != min(want, 500) || !strings.Contains(jsonOf(out), v.ReferralIDs[0]) {
		t.Errorf("%d overdue referrals listed, want %d including %s", len(out.OverdueReferrals), want, v.ReferralIDs[0])
	}
	var ngo struct{ OverdueReferrals []struct{ ID string } }
	h.ok(t, h.suara, `{ overdueReferrals { id } }`, nil, &ngo)
	if len(ngo.OverdueReferrals) != 0 {
		t.Errorf("an NGO that sent no referral lists %d overdue", len(ngo.OverdueReferrals))
	}
}
