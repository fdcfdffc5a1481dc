package policy

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lindung/lindung"
)

func mustLoad(t testing.TB) *Policy {
	t.Helper()
	p, err := Load("")
	if err != nil {
		t.Fatalf("Load embedded policy: %v", err)
	}
	return p
}

type decisionCase struct {
	line                           int
	role                           string
	purpose                        lindung.Purpose
	category                       lindung.Category
	consented, referred, disclosed bool
	reason                         string
}

func readDecisionCases(t *testing.T) []decisionCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "decisions.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	yesNo := func(line int, field, v string) bool {
		switch v {
		case "yes":
			return true
		case "no":
			return false
		}
		t.Fatalf("decisions.tsv line %d: %s is %q, want yes or no", line, field, v)
		return false
	}
	var cases []decisionCase
	sc := bufio.NewScanner(f)
	header := true
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if header {
			header = false
			continue
		}
		fs := strings.Split(line, "\t")
		if len(fs) != 7 {
			t.Fatalf("decisions.tsv line %d: %d fields, want 7", n, len(fs))
		}
		cat, err := lindung.ParseCategory(fs[2])
		if err != nil {
			t.Fatalf("decisions.tsv line %d: %v", n, err)
		}
		c := decisionCase{line: n, role: fs[0], purpose: lindung.Purpose(fs[1]), category: cat,
			consented: yesNo(n, "consented", fs[3]), referred: yesNo(n, "referred", fs[4]), reason: fs[6]}
		switch fs[5] {
		case "disclosed":
			c.disclosed = true
		case "withheld":
		default:
			t.Fatalf("decisions.tsv line %d: expected is %q, want disclosed or withheld", n, fs[5])
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestDecisions runs the hand-written decision table against the embedded policy.
func TestDecisions(t *testing.T) {
	p := mustLoad(t)
	cases := readDecisionCases(t)
	for _, c := range cases {
		d, err := p.Decide([]string{c.role}, c.purpose)
		if err != nil {
			t.Errorf("line %d: Decide(%s, %s): %v", c.line, c.role, c.purpose, err)
			continue
		}
		// The other categories are set to the opposite of this one's, so that a mask reading the wrong
		// bit fails.
		o := &lindung.Owned{VictimID: "v1", Consented: lindung.AllCategories, Referred: lindung.AllCategories}
		if !c.consented {
			o.Consented &^= lindung.SetOf(c.category)
		} else {
			o.Consented = lindung.SetOf(c.category)
		}
		if !c.referred {
			o.Referred &^= lindung.SetOf(c.category)
		} else {
			o.Referred = lindung.SetOf(c.category)
		}
		got := d.Mask(o).Has(c.category)
		if got != c.disclosed {
			t.Errorf("line %d: %s %s %s consented=%v referred=%v: disclosed=%v, want %v",
				c.line, c.role, c.purpose, c.category, c.consented, c.referred, got, c.disclosed)
			continue
		}
		if got {
			if c.reason != "-" {
				t.Errorf("line %d: disclosed, but the table gives reason %q", c.line, c.reason)
			}
			continue
		}
		if r := d.Reason(c.category); r != c.reason {
			t.Errorf("line %d: %s %s %s: reason %s, want %s", c.line, c.role, c.purpose, c.category, r, c.reason)
		}
	}

	// The table must cover every role, every purpose it may declare and every category, consented and not,
	// so that a rule added to the policy without a test case fails here.
	type key struct {
		role     string
		purpose  lindung.Purpose
		category lindung.Category
		consent  bool
	}
	covered := map[key]bool{}
	for _, c := range cases {
		covered[key{c.role, c.purpose, c.category, c.consented}] = true
	}
	for _, role := range p.Roles() {
		for _, pur := range p.roles[role].purposes {
			for _, cat := range lindung.Categories() {
				for _, consent := range []bool{true, false} {
					if !covered[key{role, pur, cat, consent}] {
						t.Errorf("decisions.tsv has no case for %s %s %s consented=%v", role, pur, cat, consent)
					}
				}
			}
		}
	}
}

func TestDecide(t *testing.T) {
	p := mustLoad(t)
	tests := []struct {
		name        string
		roles       []string
		purpose     lindung.Purpose
		code        lindung.ErrorCode // "" for success
		msgHas      string
		wantPurpose lindung.Purpose
		wantRows    lindung.RowScope
		wantLegal   lindung.CategorySet
		wantConsent lindung.CategorySet
		training    bool
		referral    bool
	}{
		{name: "no role", roles: nil, code: lindung.EUNAUTHENTICATED},
		{name: "unknown role", roles: []string{"superuser"}, code: lindung.EUNAUTHENTICATED, msgHas: "superuser"},
		{name: "base role is not a role", roles: []string{"caseworker_base"}, code: lindung.EUNAUTHENTICATED},
		{name: "one unknown among known", roles: []string{"protection_officer", "admin"},
			code: lindung.EUNAUTHENTICATED, msgHas: "admin"},
		{name: "forbidden purpose", roles: []string{"ngo_caseworker"}, purpose: lindung.PurposeProsecution,
			code: lindung.EFORBIDDEN, msgHas: "PROSECUTION"},
		{name: "employer may not manage cases", roles: []string{"employer_hr"},
			purpose: lindung.PurposeCaseManagement, code: lindung.EFORBIDDEN, msgHas: "CASE_MANAGEMENT"},
		{name: "unknown purpose", roles: []string{"protection_officer"}, purpose: "GOSSIP",
			code: lindung.EINVALID, msgHas: "GOSSIP"},
		{name: "different row scopes", roles: []string{"protection_officer", "enforcement_officer"},
			purpose: lindung.PurposeCaseManagement, code: lindung.EFORBIDDEN, msgHas: "one role"},
		{name: "defaults differ", roles: []string{"protection_officer", "ministry_analyst"},
			code: lindung.EINVALID, msgHas: "purpose"},
		{name: "default purpose", roles: []string{"protection_officer"},
			wantPurpose: lindung.PurposeCaseManagement, wantRows: lindung.ScopePartner, training: true,
			wantLegal:   lindung.AllCategories &^ lindung.SetOf(lindung.Health, lindung.Counselling),
			wantConsent: lindung.SetOf(lindung.Health, lindung.Counselling)},
		{name: "ngo default purpose", roles: []string{"ngo_caseworker"},
			wantPurpose: lindung.PurposeServiceDelivery, wantRows: lindung.ScopeReferred, referral: true,
			wantLegal: lindung.SetOf(lindung.Demographic, lindung.Case),
			wantConsent: lindung.SetOf(lindung.Identity, lindung.Contact, lindung.Location, lindung.Health,
				lindung.Counselling, lindung.Family)},
		// Separation of duties: the combination is refused outright (TestConflictsSeeNothing shows it
		// would see nothing even if it were not).
		{name: "operator role with a case role", roles: []string{"protection_officer", "operator"},
			purpose: lindung.PurposeCaseManagement, code: lindung.EFORBIDDEN, msgHas: "operator and protection_officer"},
		{name: "only roles open to the purpose take part", roles: []string{"ministry_analyst", "protection_officer"},
			purpose: lindung.PurposeStatistics, wantPurpose: lindung.PurposeStatistics, wantRows: lindung.ScopeNone,
			wantLegal: lindung.SetOf(lindung.Demographic, lindung.Case, lindung.Legal)},
		{name: "duplicate roles", roles: []string{"employer_hr", "employer_hr"},
			wantPurpose: lindung.PurposeEmploymentCheck, wantRows: lindung.ScopeNone,
			wantConsent: lindung.SetOf(lindung.Employment)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Decide(tt.roles, tt.purpose)
			if tt.code != "" {
				if err == nil {
					t.Fatalf("Decide succeeded, want %s", tt.code)
				}
				var le *lindung.Error
				if !errors.As(err, &le) || le.Code != tt.code {
					t.Fatalf("Decide error %v, want code %s", err, tt.code)
				}
				if !strings.Contains(le.Message, tt.msgHas) {
					t.Errorf("message %q does not say %q", le.Message, tt.msgHas)
				}
				// The message may echo what the caller sent, and nothing of the policy's inner workings.
				for _, internal := range []string{"p2", "p3", "caseworker_base", "casbin", "deny"} {
					if strings.Contains(le.Message, internal) && !slices.Contains(tt.roles, internal) {
						t.Errorf("message %q shows policy internals (%q)", le.Message, internal)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if d.Purpose != tt.wantPurpose || d.Rows != tt.wantRows || d.Legal != tt.wantLegal ||
				d.WithConsent != tt.wantConsent || d.RequiresTraining != tt.training ||
				d.LimitToReferral != tt.referral {
				t.Errorf("got purpose %s rows %s legal [%s] consent [%s] training %v referral %v,\n"+
					"want purpose %s rows %s legal [%s] consent [%s] training %v referral %v",
					d.Purpose, d.Rows, d.Legal, d.WithConsent, d.RequiresTraining, d.LimitToReferral,
					tt.wantPurpose, tt.wantRows, tt.wantLegal, tt.wantConsent, tt.training, tt.referral)
			}
			if d.Version != p.Version() {
				t.Errorf("decision version %s, policy version %s", d.Version, p.Version())
			}
		})
	}
}

func TestDecideCache(t *testing.T) {
	p := mustLoad(t)
	d1, err := p.Decide([]string{"protection_officer"}, lindung.PurposeCaseManagement)
	if err != nil {
		t.Fatal(err)
	}
	first := p.Decisions()
	if first == 0 {
		t.Fatal("the first Decide asked Casbin nothing")
	}
	for range 100 {
		d2, err := p.Decide([]string{"protection_officer"}, lindung.PurposeCaseManagement)
		if err != nil {
			t.Fatal(err)
		}
		if d2 != d1 {
			t.Fatal("a second Decide compiled a new decision")
		}
	}
	// The default purpose resolves to the key already compiled.
	if d3, err := p.Decide([]string{"protection_officer"}, ""); err != nil || d3 != d1 {
		t.Fatalf("Decide with the default purpose: %v, same decision %v", err, d3 == d1)
	}
	// Role order does not make a new key.
	a, _ := p.Decide([]string{"ministry_analyst", "protection_officer"}, lindung.PurposeStatistics)
	n := p.Decisions()
	b, _ := p.Decide([]string{"protection_officer", "ministry_analyst"}, lindung.PurposeStatistics)
	if a != b || p.Decisions() != n {
		t.Error("role order made a new decision")
	}
	if got := p.Decisions(); got != n {
		t.Errorf("cached Decide made %d Enforce calls", got-first)
	}
	// Masking many rows asks Casbin nothing.
	n = p.Decisions()
	for i := range 1000 {
		d1.Mask(&lindung.Owned{Consented: lindung.CategorySet(i)})
	}
	if p.Decisions() != n {
		t.Error("Mask asked Casbin")
	}
}

// policyDir writes a policy directory with the embedded model and the given policy text.
func policyDir(t *testing.T, policy string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ModelFile), []byte(embeddedModel), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, PolicyFile), []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadDir(t *testing.T) {
	p, err := Load(policyDir(t, embeddedPolicy))
	if err != nil {
		t.Fatalf("Load of a copy of the embedded policy: %v", err)
	}
	if p.Version() != mustLoad(t).Version() {
		t.Error("the same text gave a different version")
	}
	q, err := Load(policyDir(t, embeddedPolicy+"\np, ministry_analyst, LOCATION, STATISTICS, legal\n"))
	if err != nil {
		t.Fatal(err)
	}
	if q.Version() == p.Version() {
		t.Error("a changed policy kept its version")
	}
	d, _ := q.Decide([]string{"ministry_analyst"}, "")
	if !d.Legal.Has(lindung.Location) {
		t.Error("the policy from the directory was not used")
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("Load of an empty directory succeeded")
	}
}

func TestLoadBroken(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		want   []string
	}{
		{"unknown category and role without scope", `
p2, clerk, CASE_MANAGEMENT, default
p, clerk, DIET, CASE_MANAGEMENT, legal
`, []string{`unknown data category "DIET"`, "role clerk has no row scope"}},
		{"many problems at once", `
p2, clerk, CASE_MANAGEMENT, allowed
p3, clerk, scope, everything
p3, clerk, clearance, top
p, clark, CASE, CASE_MANAGEMENT, legal
p, clerk, CASE, PROSECUTION, legal
p, clerk, CASE, CASE_MANAGEMENT, maybe
p, clerk, IDENTITY, GOSSIP, legal
g, clerk, nobody_base
`, []string{`unknown row scope "everything"`, `unknown role attribute "clearance"`,
			`unknown role "clark"`, "may not declare purpose PROSECUTION", `unknown basis "maybe"`,
			`unknown purpose "GOSSIP"`, `unknown base role "nobody_base"`, "role clerk has no row scope",
			"role clerk has 0 default purposes"}},
		{"two scopes", `
p2, clerk, STATISTICS, default
p3, clerk, scope, none
p3, clerk, scope, partner
`, []string{"role clerk has 2 row scopes"}},
		{"malformed rows", `
p2, clerk, STATISTICS, default
p3, clerk, scope, none
p, clerk, CASE
p9, clerk, CASE, STATISTICS, legal
`, []string{"line 4", "line 5"}},
		{"grant for every purpose", `
p2, clerk, STATISTICS, default
p3, clerk, scope, none
p, clerk, CASE, *, legal
`, []string{"only a deny may name every purpose"}},
		{"unknown conflict", `
p2, clerk, STATISTICS, default
p3, clerk, scope, none
p4, clerk, clark
p4, clerk, clerk
`, []string{`unknown role "clark"`, "cannot conflict with itself"}},
		{"contradiction", `
p2, clerk, STATISTICS, default
p3, clerk, scope, none
p, clerk, CASE, STATISTICS, legal
p, clerk, CASE, STATISTICS, consent
`, []string{"contradicts the legal rule"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(policyDir(t, tt.policy))
			if err == nil {
				t.Fatal("Load of a broken policy succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not name %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestCheckEmbedded(t *testing.T) {
	if problems := mustLoad(t).Check(); len(problems) != 0 {
		t.Errorf("the embedded policy has problems:\n%s", strings.Join(problems, "\n"))
	}
}

func TestRoles(t *testing.T) {
	p := mustLoad(t)
	want := []string{"employer_hr", "enforcement_officer", "ministry_analyst", "ngo_caseworker", "operator",
		"protection_officer", "router"}
	if got := p.Roles(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Roles() = %v, want %v", got, want)
	}
	for _, r := range want {
		if !p.KnowsRole(r) {
			t.Errorf("KnowsRole(%s) = false", r)
		}
	}
	if p.KnowsRole("caseworker_base") {
		t.Error("a base role is known as a role a user may hold")
	}
}

func TestWriteMatrix(t *testing.T) {
	p := mustLoad(t)
	var buf bytes.Buffer
	p.WriteMatrix(&buf)
	out := buf.String()
	for _, r := range p.Roles() {
		if !strings.Contains(out, r) {
			t.Errorf("matrix does not show role %s", r)
		}
	}
	for _, s := range []string{p.Version(), "scope partner", "PROSECUTION*", "COUNSELLING"} {
		if !strings.Contains(out, s) {
			t.Errorf("matrix does not show %q", s)
		}
	}
	if strings.Contains(out, "?") {
		t.Errorf("matrix holds a cell that could not be decided:\n%s", out)
	}
	if testing.Verbose() {
		t.Log("\n" + out)
	}
}

func TestMaskDoesNotAllocate(t *testing.T) {
	p := mustLoad(t)
	d, _ := p.Decide([]string{"ngo_caseworker"}, "")
	o := &lindung.Owned{Consented: lindung.AllCategories, Referred: lindung.SetOf(lindung.Case)}
	if n := testing.AllocsPerRun(100, func() { d.Mask(o) }); n != 0 {
		t.Errorf("Mask allocates %v times", n)
	}
	if got := d.Mask(o); got != lindung.SetOf(lindung.Case) {
		t.Errorf("NGO mask %s, want CASE: referrals bound consent and legal alike", got)
	}
}

func BenchmarkDecide(b *testing.B) {
	p := mustLoad(b)
	roles := []string{"protection_officer"}
	if _, err := p.Decide(roles, lindung.PurposeCaseManagement); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Decide(roles, lindung.PurposeCaseManagement); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnforceUncached measures one Casbin question for a deny, the worst case: no rule matches, so
// every rule is evaluated.
func BenchmarkEnforceUncached(b *testing.B) {
	p := mustLoad(b)
	b.ReportAllocs()
	for b.Loop() {
		ok, err := p.enforce("employer_hr", lindung.Health, lindung.PurposeEmploymentCheck, Legal)
		if err != nil || ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkMask(b *testing.B) {
	p := mustLoad(b)
	d, _ := p.Decide([]string{"ngo_caseworker"}, "")
	o := &lindung.Owned{Consented: lindung.AllCategories, Referred: lindung.AllCategories}
	b.ReportAllocs()
	var sink lindung.CategorySet
	for b.Loop() {
		sink |= d.Mask(o)
	}
	_ = sink
}
