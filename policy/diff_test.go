package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// loadEdited loads the shipped policy with each edit (old row → new rows; old "" appends) applied.
func loadEdited(t *testing.T, edits [][2]string) *Policy {
	t.Helper()
	model, err := os.ReadFile(ModelFile)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	text := string(rules)
	for _, e := range edits {
		if e[0] == "" {
			text += e[1] + "\n"
			continue
		}
		if strings.Count(text, e[0]+"\n") != 1 {
			t.Fatalf("policy.csv does not hold %q exactly once", e[0])
		}
		text = strings.Replace(text, e[0]+"\n", e[1]+"\n", 1)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ModelFile), model, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, PolicyFile), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDiff compares the shipped policy with a version that changes one cell, an action, a purpose, a
// forbidden pair and adds a role, and checks that exactly those decisions are reported, each with the row
// that decides it now.
func TestDiff(t *testing.T) {
	old := mustLoad(t)
	if c := Diff(old, old); len(c) != 0 {
		t.Fatalf("a policy differs from itself: %v", c)
	}
	new := loadEdited(t, [][2]string{
		{"p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, deny", "p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, consent"},
		{"", "p3, employer_hr, may, see_shelters"},
		{"p4, operator, router", ""},
		{"p2, enforcement_officer, PROSECUTION, default",
			"p2, enforcement_officer, PROSECUTION, default\np2, enforcement_officer, FAMILY_CONTACT, allowed\n" +
				"p, enforcement_officer, CASE, FAMILY_CONTACT, legal"},
		{"", "p2, shelter_staff, SERVICE_DELIVERY, default\np3, shelter_staff, scope, partner\n" +
			"p, shelter_staff, LOCATION, SERVICE_DELIVERY, legal\np4, operator, shelter_staff"},
	})
	got := map[string]Change{}
	for _, c := range Diff(old, new) {
		got[c.Who+" "+c.What] = c
	}
	want := map[string]string{
		"ngo_caseworker SERVICE_DELIVERY LEGAL":      "never → consent",
		"employer_hr may see_shelters":               "no → yes",
		"operator + router held together":            "forbidden → allowed",
		"enforcement_officer purpose FAMILY_CONTACT": "may not declare it → may declare it",
		"enforcement_officer FAMILY_CONTACT CASE":    "never → legal",
		"shelter_staff role":                         "absent → present",
		"shelter_staff scope":                        "— → partner",
		"shelter_staff training":                     "— → no",
		"shelter_staff limit_to_referral":            "— → no",
		"shelter_staff default_purpose":              "— → SERVICE_DELIVERY",
		"shelter_staff purpose SERVICE_DELIVERY":     "may not declare it → may declare it",
		"shelter_staff SERVICE_DELIVERY LOCATION":    "never → legal",
		"operator + shelter_staff held together":     "allowed → forbidden",
	}
	for k, w := range want {
		c, ok := got[k]
		if !ok {
			t.Errorf("%s: not reported", k)
			continue
		}
		if g := c.Old + " → " + c.New; g != w {
			t.Errorf("%s: %s, want %s", k, g, w)
		}
		if c.NewRule == "" {
			t.Errorf("%s: no rule named", k)
		}
	}
	for k, c := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s → %s reported, not changed", k, c.Old, c.New)
		}
	}
	if r := got["ngo_caseworker SERVICE_DELIVERY LEGAL"]; !strings.HasPrefix(r.NewRule, "policy.csv:") ||
		!strings.HasSuffix(r.NewRule, "p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, consent") ||
		!strings.HasSuffix(r.OldRule, "p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, deny") {
		t.Errorf("rules of the LEGAL change: old %q, new %q", r.OldRule, r.NewRule)
	}

	var table bytes.Buffer
	WriteDiff(&table, old, new, Diff(old, new))
	if !regexp.MustCompile(`(?m)^ngo_caseworker +SERVICE_DELIVERY LEGAL: +never → consent +policy\.csv:\d+: p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, consent$`).Match(table.Bytes()) {
		t.Errorf("table lacks the LEGAL change:\n%s", table.String())
	}
	var js bytes.Buffer
	if err := WriteDiffJSON(&js, old, new, Diff(old, new)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Old, New string `json:"-"`
		Changes  []Change
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil || len(doc.Changes) != len(want) {
		t.Errorf("JSON: %v, %d changes, want %d:\n%s", err, len(doc.Changes), len(want), js.String())
	}
}
