package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/server"
)

// replicaOf starts a second hub on h's database, with a pool and policy of its own, as a second
// `lindung serve` behind the same load balancer would be.
func replicaOf(t *testing.T, h *hub) *hub {
	t.Helper()
	db, err := postgres.Open(context.Background(), h.DB.Pool.Config().ConnString(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	pol, err := policy.Load("")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{DB: db, Policy: pol, Verifier: auth.NewHS256Verifier(testSecret),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &hub{t: t, URL: ts.URL, DB: db, Policy: pol, issuer: h.issuer, Handler: srv}
}

// TestReplicasActAsOne runs two replicas on one database: what one records (a consent withdrawn, a
// referral closed, an eligibility code revoked) the other honours on its next request, because nothing
// but the policy's decision table is kept between requests; and both report the same policy version.
func TestReplicasActAsOne(t *testing.T) {
	a := newHub(t)
	b := replicaOf(t, a)
	officer := a.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	harapan := a.token(demo.SlugNGOHarapan, demo.RoleNGOCaseworker)
	v := a.newMarkerVictim(victimSpec{
		Referrals: []referralSpec{{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: []string{"HEALTH", "IDENTITY"}}},
		Consents:  []consentSpec{{Grantee: demo.SlugNGOHarapan, Categories: []string{"HEALTH", "IDENTITY"}, Purposes: []string{"SERVICE_DELIVERY"}}},
	})
	read := request{Token: harapan, Query: `query($id: ID!) { victim(id: $id) { caseRef legalName medicalNeeds } }`,
		Variables: map[string]any{"id": v.ID}}
	if res := b.do(read); !containsAll(res.Body, v.marker(lindung.Health), v.marker(lindung.Identity)) {
		t.Fatalf("replica B: the NGO should see the consented fields: %s", res.Body)
	}

	// Consent withdrawn through A: B withholds on its next request.
	consentID := v.ConsentIDs[len(v.ConsentIDs)-1]
	if res := a.do(request{Token: officer, Query: `mutation($id: ID!) { withdrawConsent(id: $id) { status } }`,
		Variables: map[string]any{"id": consentID}}); res.Code() != "" {
		t.Fatalf("withdraw through A: %s", res.Body)
	}
	res := b.do(read)
	assertNoLeak(t, res.Body, []string{v.marker(lindung.Health), v.marker(lindung.Identity)})
	if !containsAll(res.Body, v.CaseRef) {
		t.Fatalf("replica B: the referred case should still be visible: %s", res.Body)
	}

	// Referral completed through A: B no longer shows the case to the NGO.
	referralID := v.ReferralIDs[len(v.ReferralIDs)-1]
	if res := a.do(request{Token: harapan, Query: `mutation($id: ID!) { completeReferral(id: $id) { status } }`,
		Variables: map[string]any{"id": referralID}}); res.Code() != "" {
		t.Fatalf("complete through A: %s", res.Body)
	}
	res = b.do(read)
	assertNoLeak(t, res.Body, v.identifiers())
	if !containsAll(res.Body, `"victim":null`) {
		t.Errorf("replica B after the referral closed: want no victim, got %s", res.Body)
	}

	// Eligibility code revoked through A: B answers not eligible.
	w := a.newMarkerVictim(victimSpec{Consents: []consentSpec{{Grantee: demo.SlugEmployerLadang,
		Categories: []string{"EMPLOYMENT"}, Purposes: []string{"EMPLOYMENT_CHECK"}}}})
	issued := a.do(request{Token: officer, Query: `mutation($in: IssueEligibilityCodeInput!) { issueEligibilityCode(input: $in) { id code } }`,
		Variables: map[string]any{"in": map[string]any{"victimId": w.ID, "employerSlug": demo.SlugEmployerLadang}}})
	var code struct{ IssueEligibilityCode struct{ ID, Code string } }
	if err := json.Unmarshal(issued.Data, &code); err != nil || code.IssueEligibilityCode.Code == "" {
		t.Fatalf("issue through A: %s", issued.Body)
	}
	employer := a.token(demo.SlugEmployerLadang, demo.RoleEmployerHR)
	check := request{Token: employer, Query: checkQuery, Variables: map[string]any{"code": code.IssueEligibilityCode.Code}}
	if res := b.do(check); !containsAll(res.Body, `"eligible":true`) {
		t.Fatalf("replica B: the code should check eligible: %s", res.Body)
	}
	if res := a.do(request{Token: officer, Query: `mutation($id: ID!) { revokeEligibilityCode(id: $id) { revokedAt } }`,
		Variables: map[string]any{"id": code.IssueEligibilityCode.ID}}); res.Code() != "" {
		t.Fatalf("revoke through A: %s", res.Body)
	}
	if res := b.do(check); !containsAll(res.Body, `"eligible":false`) {
		t.Errorf("replica B after the revocation: %s", res.Body)
	}

	// Both replicas report the same policy version, so a rollout can check they agree.
	var versions []string
	for _, h := range []*hub{a, b} {
		r, err := http.Get(h.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		var ready struct{ Status, PolicyVersion string }
		json.NewDecoder(r.Body).Decode(&ready)
		r.Body.Close()
		if ready.Status != "ready" {
			t.Errorf("replica not ready: %+v", ready)
		}
		versions = append(versions, ready.PolicyVersion)
	}
	if versions[0] == "" || versions[0] != versions[1] {
		t.Errorf("replicas report policy versions %v", versions)
	}
}

// containsAll reports whether body holds every one of subs.
func containsAll(body []byte, subs ...string) bool {
	for _, s := range subs {
		if s == "" || !bytes.Contains(body, []byte(s)) {
			return false
		}
	}
	return true
}
