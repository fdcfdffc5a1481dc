package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
)

// identityQuery asks for the one field each lifecycle test watches, and the case reference.
const identityQuery = `query($id: ID!) { victim(id: $id) { caseRef legalName phone } }`

// seen asks for the victim as c and reports whether its case reference and its identity marker came back.
func (h *hub) seen(c caller, v *markerVictim) (visible, identity bool, res *response) {
	h.t.Helper()
	res = h.do(request{Token: h.token(c.Partner, c.Role), Query: identityQuery, Variables: map[string]any{"id": v.ID}})
	if len(res.Errors) > 0 {
		h.t.Fatalf("%s: %s", c, res.Body)
	}
	body := string(res.Body)
	return strings.Contains(body, v.CaseRef), strings.Contains(body, v.marker(lindung.Identity)), res
}

var pdrm = caller{demo.SlugPDRM, demo.RoleEnforcementOfficer}

// TestConsentWithdrawalTakesEffectOnTheNextRequest: identity disclosed to pdrm on consent; the consent is
// withdrawn; the very next request withholds it, with NO_CONSENT.
func TestConsentWithdrawalTakesEffectOnTheNextRequest(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM},
		Consents: []consentSpec{{Grantee: demo.SlugPDRM, Categories: []string{"IDENTITY"}, Purposes: []string{"PROSECUTION"}}}})
	if _, identity, res := h.seen(pdrm, v); !identity {
		t.Fatalf("identity not disclosed on consent: %s", res.Body)
	}
	h.exec(`UPDATE consents SET withdrawn_at = now() WHERE id = ANY($1::uuid[])`, v.ConsentIDs)
	visible, identity, res := h.seen(pdrm, v)
	if !visible || identity {
		t.Fatalf("after withdrawal: visible=%v identity=%v: %s", visible, identity, res.Body)
	}
	if !hasWithheld(res, "NO_CONSENT", "IDENTITY", "victim.legalName") {
		t.Errorf("withheld %v, want victim.legalName NO_CONSENT", res.Extensions.Withheld)
	}
	// The consent now reads as withdrawn to the officer, who still sees the history.
	res = h.do(request{Token: h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer),
		Query: `query($id: ID!) { victim(id: $id) { consents { status withdrawnAt } } }`, Variables: map[string]any{"id": v.ID}})
	if !strings.Contains(string(res.Body), `"status":"WITHDRAWN"`) {
		t.Errorf("the withdrawn consent does not read as WITHDRAWN: %s", res.Body)
	}
}

// TestConsentPeriods: a provision counts only between its start and its end; one that ends a moment from
// now discloses until then, and withholds from the first request after.
func TestConsentPeriods(t *testing.T) {
	h := newHub(t)
	for _, tc := range []struct {
		name       string
		start, end string // intervals from now; end "" for none
		disclosed  bool
	}{
		{"open-ended", "-1 day", "", true},
		{"current", "-1 day", "+1 day", true},
		{"ended", "-2 days", "-1 second", false},
		{"ended long ago", "-400 days", "-300 days", false},
		{"not started", "+1 hour", "+1 day", false},
		{"starts now-ish", "-1 second", "+1 hour", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM}, NoChild: true,
				Consents: []consentSpec{{Grantee: demo.SlugPDRM, Categories: []string{"IDENTITY"}, Purposes: []string{"PROSECUTION"}}}})
			h.exec(`UPDATE consent_provisions SET period_start = now() + $2::interval, period_end = now() + nullif($3, '')::interval
				WHERE consent_id = $1`, v.ConsentIDs[1], tc.start, tc.end)
			if _, identity, res := h.seen(pdrm, v); identity != tc.disclosed {
				t.Errorf("identity disclosed=%v, want %v: %s", identity, tc.disclosed, res.Body)
			}
		})
	}

	t.Run("expires while in use", func(t *testing.T) {
		v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM}, NoChild: true,
			Consents: []consentSpec{{Grantee: demo.SlugPDRM, Categories: []string{"IDENTITY"}, Purposes: []string{"PROSECUTION"}}}})
		end := h.strings(`UPDATE consent_provisions SET period_end = now() + interval '1500 milliseconds'
			WHERE consent_id = $1 RETURNING period_end::text`, v.ConsentIDs[1])[0]
		if _, identity, res := h.seen(pdrm, v); !identity {
			t.Fatalf("identity withheld before the consent ends (%s): %s", end, res.Body)
		}
		// Wait on the database's clock, which decides.
		deadline := time.Now().Add(5 * time.Second)
		for h.count(`SELECT (now() < $1::timestamptz)::int`, end) == 1 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		visible, identity, res := h.seen(pdrm, v)
		if !visible || identity {
			t.Fatalf("after the consent ended: visible=%v identity=%v: %s", visible, identity, res.Body)
		}
		if !hasWithheld(res, "NO_CONSENT", "IDENTITY", "victim.legalName") {
			t.Errorf("withheld %v, want victim.legalName NO_CONSENT", res.Extensions.Withheld)
		}
	})
}

// TestReferralClosedEndsAccess: an NGO sees a case while its referral is accepted; the next request after
// the referral moves to any other status finds nothing, by id, by filter, through its referrals or family.
func TestReferralClosedEndsAccess(t *testing.T) {
	h := newHub(t)
	ngo := caller{demo.SlugNGOHarapan, demo.RoleNGOCaseworker}
	for _, status := range []string{"COMPLETED", "WITHDRAWN", "IN_PROGRESS"} {
		t.Run(status, func(t *testing.T) {
			v := h.newMarkerVictim(victimSpec{
				Referrals: []referralSpec{{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: []string{"CASE", "IDENTITY"}}},
				Consents:  []consentSpec{{Grantee: "NGO", Categories: []string{"IDENTITY"}, Purposes: []string{"SERVICE_DELIVERY"}}}})
			if visible, identity, res := h.seen(ngo, v); !visible || !identity {
				t.Fatalf("before: visible=%v identity=%v: %s", visible, identity, res.Body)
			}
			h.exec(`UPDATE referrals SET status = $2::referral_status, updated_at = now()
				WHERE victim_id = ANY($1::uuid[]) AND status = 'ACCEPTED'`, []string{v.ID, v.ChildID}, status)
			token := h.token(ngo.Partner, ngo.Role)
			for _, q := range []string{
				`query($id: ID!, $ref: String!) { victim(id: $id) { caseRef legalName } victims(filter: {caseRef: $ref}) { totalCount edges { node { id } } } }`,
				`query($id: ID!, $ref: String!) { referrals { id status reason victim { caseRef legalName family { victim { caseRef } } } } }`,
				`query($id: ID!, $ref: String!) { victims(first: 100) { edges { node { caseRef family { victim { caseRef } } } } } }`,
			} {
				res := h.do(request{Token: token, Query: q, Variables: map[string]any{"id": v.ID, "ref": v.CaseRef}})
				assertNoLeak(t, res.Body, []string{v.CaseRef, v.ChildCaseRef, "MARKER-"})
				if strings.Contains(q, "totalCount") && !strings.Contains(string(res.Body), `"totalCount":0`) {
					t.Errorf("totalCount after the referral closed: %s", res.Body)
				}
			}
		})
	}
	t.Run("case link removed", func(t *testing.T) {
		v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM}})
		if visible, _, _ := h.seen(pdrm, v); !visible {
			t.Fatal("linked case not visible")
		}
		h.exec(`DELETE FROM case_links WHERE victim_id = ANY($1::uuid[])`, []string{v.ID, v.ChildID})
		if visible, _, res := h.seen(pdrm, v); visible {
			t.Errorf("unlinked case still visible: %s", res.Body)
		}
	})
}

func hasWithheld(res *response, reason, category, path string) bool {
	for _, w := range res.Extensions.Withheld {
		if w.Reason == reason && w.Category == category {
			for _, p := range w.Paths {
				if p == path {
					return true
				}
			}
		}
	}
	return false
}
