package server_test

import (
	"context"
	"testing"
	"time"
)

// TestPolicyVersions: the hub records each policy version it starts with once, with its text, and counts
// later starts; the operator reads them with policyVersions, the running one marked current; nobody else
// may; the version an access record names is one of them; a version recorded with other rules, and a
// change of a version's rules by the hub's own role, are refused.
func TestPolicyVersions(t *testing.T) {
	h := newCareHub(t)
	ctx := context.Background()
	model, rules := h.Policy.Text()
	const older = "0123456789ab"
	if err := h.DB.RecordPolicyVersion(ctx, older, "m", "old rules"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // the versions' first starts differ, so their order is fixed
	for range 2 {
		if err := h.DB.RecordPolicyVersion(ctx, h.Policy.Version(), model, rules); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.DB.RecordPolicyVersion(ctx, h.Policy.Version(), model, rules+"\n# tampered"); err == nil {
		t.Error("a version recorded with other rules was accepted")
	}

	const q = `{ policyVersions { version starts current firstStartedAt lastStartedAt rules } }`
	var out struct {
		PolicyVersions []struct {
			Version                       string
			Starts                        int
			Current                       bool
			FirstStartedAt, LastStartedAt time.Time
			Rules                         string
		}
	}
	h.ok(t, h.operator, q, nil, &out)
	if len(out.PolicyVersions) != 2 {
		t.Fatalf("policyVersions: %+v, want 2", out.PolicyVersions)
	}
	old, cur := out.PolicyVersions[0], out.PolicyVersions[1]
	if old.Version != older || old.Current || old.Starts != 1 || old.Rules != "old rules" {
		t.Errorf("older version: %+v", old)
	}
	if cur.Version != h.Policy.Version() || !cur.Current || cur.Starts != 2 || cur.Rules != rules ||
		!cur.LastStartedAt.After(cur.FirstStartedAt) || cur.FirstStartedAt.Before(old.FirstStartedAt) {
		t.Errorf("running version: %+v", cur)
	}
	for _, token := range []string{h.officer, h.harapan, h.pdrm, h.employer} {
		h.fails(t, token, q, nil, "FORBIDDEN", "", "")
	}

	// An access record names the version that decided it, and that version's rules are on record.
	v := h.newMarkerVictim(victimSpec{})
	res := h.do(request{Token: h.officer, RequestID: "read", Query: `query($id: ID!) { victim(id: $id) { caseRef } }`,
		Variables: map[string]any{"id": v.ID}})
	if len(res.Errors) > 0 {
		t.Fatalf("read: %s", res.Body)
	}
	recs := h.accessRecords("read")
	if len(recs) != 1 || recs[0].PolicyVersion != h.Policy.Version() {
		t.Fatalf("access records: %+v", recs)
	}
	if n := h.count(`SELECT count(*) FROM access_records a JOIN policy_versions p ON p.version = a.policy_version
		WHERE a.request_id = $1`, h.requestID("read")); n != 1 {
		t.Errorf("the access record's policy version is not on record (%d)", n)
	}

	// The hub's own login may count starts but never rewrite a version's rules.
	if _, err := h.DB.Pool.Exec(ctx, `UPDATE policy_versions SET rules = 'p, ngo_caseworker, LEGAL, *, legal'`); err == nil {
		t.Error("the hub's login rewrote a policy version's rules")
	}
}
