package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lindung/lindung"
)

// loadEmergencyEdit loads the shipped policy with edit applied to policy.csv (from replaced by to, or to appended
// where from is empty).
func loadEmergencyEdit(t *testing.T, from, to string) (*Policy, error) {
	t.Helper()
	edited := embeddedPolicy
	if from == "" {
		edited += to + "\n"
	} else {
		if strings.Count(edited, from+"\n") != 1 {
			t.Fatalf("policy.csv does not hold %q exactly once", from)
		}
		edited = strings.Replace(edited, from+"\n", to+"\n", 1)
	}
	dir := t.TempDir()
	for name, data := range map[string]string{ModelFile: embeddedModel, PolicyFile: edited} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return Load(dir)
}

// TestEmergencyCheck: the policy check refuses every emergency row that would reach further than the
// role's everyday rules, naming the row.
func TestEmergencyCheck(t *testing.T) {
	for _, c := range []struct{ name, from, to, want string }{
		{"a category the role is denied under one purpose", "", "p5, enforcement_officer, HEALTH, approve_other_partner",
			"p5, enforcement_officer, HEALTH, approve_other_partner: HEALTH is denied to enforcement_officer"},
		{"a category a role is denied for every purpose (the operator never declares EMERGENCY either)", "", "p5, operator, CASE, review",
			"p5, operator, CASE, review: role operator may not declare EMERGENCY"},
		{"a deny added later closes the emergency row too", "p, protection_officer, HEALTH, CASE_MANAGEMENT, consent",
			"p, protection_officer, HEALTH, CASE_MANAGEMENT, deny", "p5, protection_officer, HEALTH, review: HEALTH is denied to protection_officer"},
		{"an emergency scope wider than the role's", "p3, protection_officer, emergency_scope, partner",
			"p3, protection_officer, emergency_scope, linked", "emergency scope of protection_officer must not be wider"},
		{"no maximum", "p3, protection_officer, emergency_max, 4h", "", "role protection_officer may declare EMERGENCY but has no maximum"},
		{"a maximum over 24 hours", "p3, protection_officer, emergency_max, 4h", "p3, protection_officer, emergency_max, 25h",
			"at most 24h"},
		{"a maximum that is no duration", "p3, enforcement_officer, emergency_max, 2h", "p3, enforcement_officer, emergency_max, two hours",
			"is not a duration"},
		{"EMERGENCY granted by a p row", "", "p, protection_officer, LEGAL, EMERGENCY, legal",
			"EMERGENCY is opened by p5 rows and a grant, never by a p row"},
		{"EMERGENCY as a default purpose", "p2, enforcement_officer, EMERGENCY, allowed", "p2, enforcement_officer, EMERGENCY, default",
			"EMERGENCY is declared with a grant, never assumed"},
		{"an unknown need", "p5, protection_officer, HEALTH, review", "p5, protection_officer, HEALTH, later",
			`unknown need "later"`},
		{"a role without rows", "", "p2, ministry_analyst, EMERGENCY, allowed\np3, ministry_analyst, emergency_max, 1h\np5, ministry_analyst, CASE, review",
			"role ministry_analyst may declare EMERGENCY but sees no victim rows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadEmergencyEdit(t, c.from, c.to)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("load: %v, want a problem containing %q", err, c.want)
			}
		})
	}
}

// TestEmergencyDecision: under EMERGENCY nothing is legal, the openable categories wait for a grant, no
// action is taken, and a deny of any role held closes a category the other role would open.
func TestEmergencyDecision(t *testing.T) {
	p, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.Decide([]string{"protection_officer"}, lindung.PurposeEmergency)
	if err != nil {
		t.Fatal(err)
	}
	if d.Legal != 0 || d.WithConsent != lindung.SetOf(lindung.Health, lindung.Counselling) || len(d.Actions) != 0 || d.Rows != lindung.ScopePartner {
		t.Fatalf("decision: legal %s, grant %s, actions %v, rows %s", d.Legal, d.WithConsent, d.Actions, d.Rows)
	}
	in := &lindung.Owned{InScope: true, Consented: lindung.SetOf(lindung.Health, lindung.Legal)}
	if m := d.Mask(in); m != lindung.SetOf(lindung.Health) {
		t.Fatalf("mask of a HEALTH|LEGAL grant: %s, want HEALTH", m)
	}
	terms := d.EmergencyTerms()
	if n, ok := terms.Need(lindung.SetOf(lindung.Health, lindung.Counselling)); !ok || n != lindung.EmergencyApprove {
		t.Fatalf("need of HEALTH|COUNSELLING: %v %v, want approve", n, ok)
	}
	if _, ok := terms.Need(lindung.SetOf(lindung.Legal)); ok {
		t.Fatal("LEGAL can be opened in an emergency")
	}
	// The same terms whatever purpose the decision was made for: grants are opened under CASE_MANAGEMENT.
	cm, _ := p.Decide([]string{"protection_officer"}, "")
	if got := cm.EmergencyTerms(); got.Max != terms.Max || len(got.Needs) != 2 {
		t.Fatalf("terms under case management: %+v", got)
	}

	// A deny wins twice: an edited policy that lets a second role open HEALTH, held with the enforcement
	// officer (who is denied HEALTH), opens no HEALTH.
	p2, err := loadEmergencyEdit(t, "", "p2, ngo_caseworker, EMERGENCY, allowed\np3, ngo_caseworker, emergency_max, 1h\np5, ngo_caseworker, HEALTH, review")
	if err != nil {
		t.Fatal(err)
	}
	alone, err := p2.Decide([]string{"ngo_caseworker"}, lindung.PurposeEmergency)
	if err != nil || !alone.WithConsent.Has(lindung.Health) {
		t.Fatalf("the NGO alone: %v %v", alone, err)
	}
	if terms := alone.EmergencyTerms(); terms.Needs[lindung.Health] != lindung.EmergencyReview {
		t.Fatalf("terms: %+v", terms)
	}
	both, err := p2.Decide([]string{"ngo_caseworker", "enforcement_officer"}, lindung.PurposeEmergency)
	if err == nil && both.WithConsent.Has(lindung.Health) {
		t.Fatal("a role denied HEALTH held with one that may open it opens HEALTH in an emergency")
	}
}

// TestEmergencyDiff: policy diff reports a changed emergency row per role and category, with the row.
func TestEmergencyDiff(t *testing.T) {
	old, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	changed, err := loadEmergencyEdit(t, "p5, protection_officer, COUNSELLING, approve", "p5, protection_officer, COUNSELLING, review")
	if err != nil {
		t.Fatal(err)
	}
	shorter, err := loadEmergencyEdit(t, "p3, enforcement_officer, emergency_max, 2h", "p3, enforcement_officer, emergency_max, 30m")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range append(Diff(old, changed), Diff(old, shorter)...) {
		got = append(got, c.Who+" "+c.What+": "+c.Old+" → "+c.New+" "+c.NewRule)
	}
	want := []string{
		"protection_officer EMERGENCY COUNSELLING: approve → review policy.csv:",
		"enforcement_officer emergency_max: 2h0m0s → 30m0s policy.csv:",
	}
	if len(got) != len(want) {
		t.Fatalf("changes:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("change %d: %q, want prefix %q", i, got[i], want[i])
		}
	}
}
