package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShippedAssertions: the default policy makes every decision its assertion file pins, and the file is
// complete, so that CI catches any change of the default policy's decisions.
func TestShippedAssertions(t *testing.T) {
	a := mustParseAssertions(t, "assertions.yaml")
	if !a.Complete {
		t.Fatal("assertions.yaml must say complete: true")
	}
	if len(a.Situations) == 0 {
		t.Fatal("assertions.yaml holds no situation")
	}
	for _, f := range a.Check(mustLoad(t)) {
		t.Errorf("%s", f)
	}
}

func mustParseAssertions(t *testing.T, name string) *Assertions {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAssertions(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return a
}

// TestAssertionsNameTheRule makes deliberately wrong edits of policy.csv in a temporary directory and
// shows that the shipped assertion file fails each, naming the row of policy.csv (with its line) that
// decided.
func TestAssertionsNameTheRule(t *testing.T) {
	model, err := os.ReadFile(ModelFile)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	a := mustParseAssertions(t, "assertions.yaml")
	cases := []struct {
		name      string
		from, to  string // replace the row from with to; from "" appends to
		assertion string // a failing assertion, and the rule that must be named with it
		rule      string
	}{
		{"an NGO gets legal proceedings on consent",
			"p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, deny", "p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, consent",
			"ngo_caseworker SERVICE_DELIVERY LEGAL", "p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, consent"},
		{"the same edit fails the situation too",
			"p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, deny", "p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, consent",
			"an NGO caseworker never sees legal proceedings or employment, whatever the consent and referrals",
			"p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, consent"},
		{"health on a legal basis through the base role",
			"p, caseworker_base, HEALTH, SERVICE_DELIVERY, consent", "p, caseworker_base, HEALTH, SERVICE_DELIVERY, legal",
			"ngo_caseworker SERVICE_DELIVERY HEALTH",
			"p, caseworker_base, HEALTH, SERVICE_DELIVERY, legal (inherited: g, ngo_caseworker, caseworker_base)"},
		{"an employer told where the shelters are",
			"", "p3, employer_hr, may, see_shelters",
			"an employer never sees a shelter", "p3, employer_hr, may, see_shelters"},
		{"an enforcement officer given the NGO's scope",
			"p3, enforcement_officer, scope, linked", "p3, enforcement_officer, scope, partner",
			"enforcement_officer scope", "p3, enforcement_officer, scope, partner"},
		{"health opened to the officer without consent",
			"p, protection_officer, HEALTH, CASE_MANAGEMENT, consent", "p, protection_officer, HEALTH, CASE_MANAGEMENT, legal",
			"a protection officer sees the case file on a legal basis, health and counselling only with consent",
			"p, protection_officer, HEALTH, CASE_MANAGEMENT, legal"},
		{"counselling opened in an emergency without a second officer",
			"p5, protection_officer, COUNSELLING, approve", "p5, protection_officer, COUNSELLING, review",
			"protection_officer EMERGENCY COUNSELLING", "p5, protection_officer, COUNSELLING, review"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			edited := string(rules)
			if c.from == "" {
				edited += c.to + "\n"
			} else {
				if strings.Count(edited, c.from+"\n") != 1 {
					t.Fatalf("policy.csv does not hold %q exactly once", c.from)
				}
				edited = strings.Replace(edited, c.from+"\n", c.to+"\n", 1)
			}
			line := 1 + strings.Count(edited[:strings.Index(edited, c.to+"\n")], "\n")
			want := fmt.Sprintf("policy.csv:%d: %s", line, c.rule)

			dir := t.TempDir()
			for name, data := range map[string]string{ModelFile: string(model), PolicyFile: edited} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			p, err := Load(dir)
			if err != nil {
				t.Fatalf("the edited policy should load (only the assertions catch it): %v", err)
			}
			failures := a.Check(p)
			for _, f := range failures {
				if f.Assertion == c.assertion && strings.HasPrefix(f.Rule.String(), want) {
					return
				}
			}
			t.Errorf("no failure of %q naming %q; failures:\n%v", c.assertion, want, failures)
		})
	}
}

// TestAssertionsRefuseTypos: a misspelt key, category, basis or action is an error, not an assertion that
// checks nothing.
func TestAssertionsRefuseTypos(t *testing.T) {
	for name, text := range map[string]string{
		"unknown key":      "complete: true\nrole: {}\n",
		"unknown category": "roles:\n  ngo_caseworker:\n    purposes:\n      SERVICE_DELIVERY:\n        HELTH: never\n",
		"unknown basis":    "roles:\n  ngo_caseworker:\n    purposes:\n      SERVICE_DELIVERY:\n        HEALTH: deny\n",
		"unknown purpose":  "situations:\n  - name: x\n    roles: [ngo_caseworker]\n    purpose: SERVICES\n",
		"unknown action":   "situations:\n  - name: x\n    roles: [employer_hr]\n    may_not: [see_shelter]\n",
		"no name":          "situations:\n  - roles: [employer_hr]\n",
		"refused but sees": "situations:\n  - name: x\n    roles: [employer_hr]\n    refused: true\n    sees: [EMPLOYMENT]\n",
	} {
		if _, err := ParseAssertions([]byte(text)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

// TestCompleteAssertionsMissNothing: a complete file that leaves out a role, a category or a forbidden
// pair fails, so that a role or rule added to the policy cannot go unpinned.
func TestCompleteAssertionsMissNothing(t *testing.T) {
	p := mustLoad(t)
	for name, edit := range map[string]func(a *Assertions){
		"a role left out":     func(a *Assertions) { delete(a.Roles, "router") },
		"a category left out": func(a *Assertions) { delete(a.Roles["ngo_caseworker"].Purposes["SERVICE_DELIVERY"], "LEGAL") },
		"a pair left out":     func(a *Assertions) { a.Forbidden = a.Forbidden[1:] },
		"a purpose left out":  func(a *Assertions) { delete(a.Roles["protection_officer"].Purposes, "FAMILY_CONTACT") },
		"an action too many": func(a *Assertions) {
			acts := append(*a.Roles["ministry_analyst"].Actions, "exact_counts")
			rv := a.Roles["ministry_analyst"]
			rv.Actions = &acts
			a.Roles["ministry_analyst"] = rv
		},
	} {
		a := mustParseAssertions(t, "assertions.yaml")
		edit(a)
		if f := a.Check(p); len(f) == 0 {
			t.Errorf("%s: no failure", name)
		}
	}
}
