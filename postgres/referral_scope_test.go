package postgres_test

import (
	"testing"

	"github.com/lindung/lindung"
)

// TestReferralsSayWhetherTheirVictimIsInScope: the partners a referral is between read it whatever the
// case's scope, so each referral carries whether its victim is in the request's row scope; the policy's
// mask of one that is not is empty. A referral to ngo-b awaiting an answer is outside ngo-b's scope; its
// accepted ones are inside.
func TestReferralsSayWhetherTheirVictimIsInScope(t *testing.T) {
	t.Parallel()
	f := openConsentFixture(t)
	mustExec(t, f.db, `INSERT INTO referrals (victim_id, from_partner_id, to_partner_id, service_code, categories, status, due_on)
		VALUES ($1, $2, $3, 'LEGAL', '{CASE}', 'IN_PROGRESS', current_date + 7)`, f.v, f.gov, f.ngoB)
	s := f.session(t, "ngo-b", lindung.PurposeServiceDelivery)
	rs, err := s.FindReferrals(ctx, lindung.ReferralFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{f.v: false, f.r: true, f.unseen: true}
	if len(rs) != len(want) {
		t.Fatalf("ngo-b reads %d referrals, want %d", len(rs), len(want))
	}
	for _, r := range rs {
		if r.InScope != want[r.VictimID] {
			t.Errorf("referral of %s: in scope %v, want %v", r.VictimID, r.InScope, want[r.VictimID])
		}
	}
}
