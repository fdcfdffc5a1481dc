package policy

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lindung/lindung"
)

// TestMultiRoleDecisions runs testdata/roles.tsv: decisions for users who hold several roles.
func TestMultiRoleDecisions(t *testing.T) {
	p := mustLoad(t)
	f, err := os.Open(filepath.Join("testdata", "roles.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set := func(line int, v string) lindung.CategorySet {
		if v == "-" {
			return 0
		}
		s, err := lindung.ParseCategorySet(strings.Split(v, "|"))
		if err != nil {
			t.Fatalf("roles.tsv line %d: %v", line, err)
		}
		return s
	}
	sc := bufio.NewScanner(f)
	header, cases := true, 0
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
		if len(fs) != 6 {
			t.Fatalf("roles.tsv line %d: %d fields, want 6", n, len(fs))
		}
		cases++
		roles, purpose := strings.Split(fs[0], ","), lindung.Purpose(fs[1])
		d, err := p.Decide(roles, purpose)
		if fs[2] != "ok" {
			var le *lindung.Error
			if !errors.As(err, &le) || string(le.Code) != fs[2] {
				t.Errorf("line %d: Decide(%v, %s) = %v, want %s", n, roles, purpose, err, fs[2])
			}
			continue
		}
		if err != nil {
			t.Errorf("line %d: Decide(%v, %s): %v", n, roles, purpose, err)
			continue
		}
		var actions []string
		for _, a := range d.Actions {
			actions = append(actions, string(a))
		}
		want := []string{}
		if fs[5] != "-" {
			want = strings.Split(fs[5], ",")
		}
		slices.Sort(actions)
		slices.Sort(want)
		if d.Legal != set(n, fs[3]) || d.WithConsent != set(n, fs[4]) || strings.Join(actions, ",") != strings.Join(want, ",") {
			t.Errorf("line %d: %v %s: legal [%s] consent [%s] actions %v, want [%s] [%s] %v", n, roles, purpose,
				d.Legal, d.WithConsent, actions, set(n, fs[3]), set(n, fs[4]), want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cases == 0 {
		t.Fatal("roles.tsv holds no case")
	}
}

// TestConflictsSeeNothing: every pair the policy forbids is refused under every purpose, naming the pair,
// and would see nothing and do nothing of the other role's even if the refusal were lifted: the operator's
// and router's denies hold for every purpose, not only their own.
func TestConflictsSeeNothing(t *testing.T) {
	p := mustLoad(t)
	if len(p.conflicts) < 11 {
		t.Fatalf("the policy names %d forbidden pairs, want the operator and the router with every case role", len(p.conflicts))
	}
	for _, c := range p.conflicts {
		for _, pur := range lindung.Purposes() {
			_, err := p.Decide(c[:], pur)
			var le *lindung.Error
			if !errors.As(err, &le) || le.Code != lindung.EFORBIDDEN || !strings.Contains(le.Message, c[0]+" and "+c[1]) {
				t.Errorf("Decide(%v, %s) = %v, want FORBIDDEN naming the pair", c, pur, err)
			}
			d, err := p.decide(sortedRoles(c[:]), pur)
			if err != nil {
				continue
			}
			if d.Legal|d.WithConsent != 0 || d.Rows != lindung.ScopeNone {
				t.Errorf("%v under %s would see [%s|%s] in rows %s", c, pur, d.Legal, d.WithConsent, d.Rows)
			}
			if d.May(lindung.ActionAdminister) && !p.roles[c[0]].allows(pur) && !p.roles[c[1]].allows(pur) {
				t.Errorf("%v under %s may administer", c, pur)
			}
		}
	}
	for _, pur := range []lindung.Purpose{lindung.PurposeServiceDelivery, lindung.PurposeFamilyContact} {
		d, err := p.decide([]string{"operator", "protection_officer"}, pur)
		if err != nil {
			t.Fatal(err)
		}
		if d.May(lindung.ActionAdminister) {
			t.Errorf("operator and officer under %s may administer: actions come only from roles open to the purpose", pur)
		}
	}
}

// TestDenyOfAnyRoleWins: a deny of a role that may not declare the purpose still binds a user who holds it
// with a role that may.
func TestDenyOfAnyRoleWins(t *testing.T) {
	q, err := Load(policyDir(t, embeddedPolicy+"\np, ministry_analyst, HEALTH, *, deny\np, ministry_analyst, IDENTITY, CASE_MANAGEMENT, deny\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := q.Decide([]string{"protection_officer", "ministry_analyst"}, lindung.PurposeCaseManagement)
	if err != nil {
		t.Fatal(err)
	}
	if d.Basis(lindung.Health) != Deny || d.Basis(lindung.Identity) != Deny || d.Basis(lindung.Contact) != Legal {
		t.Errorf("HEALTH %s, IDENTITY %s, CONTACT %s: want the analyst's denies to win and the rest unchanged",
			d.Basis(lindung.Health), d.Basis(lindung.Identity), d.Basis(lindung.Contact))
	}
	if o, _ := q.Decide([]string{"protection_officer"}, lindung.PurposeCaseManagement); o.Basis(lindung.Health) != Consent {
		t.Error("the analyst's deny changed the officer alone")
	}
}

// TestCheckRefusesConflictGrants: a policy whose operator denies hold only under its own purpose (as
// before) fails the check, because operator and a case role together would see victim data under
// SERVICE_DELIVERY and FAMILY_CONTACT.
func TestCheckRefusesConflictGrants(t *testing.T) {
	weak := strings.ReplaceAll(embeddedPolicy, "p, operator, CASE, *, deny", "p, operator, CASE, CASE_MANAGEMENT, deny")
	if weak == embeddedPolicy {
		t.Fatal("the operator's CASE deny was not found")
	}
	_, err := Load(policyDir(t, weak))
	if err == nil {
		t.Fatal("Load of a policy granting operator and officer CASE data succeeded")
	}
	for _, want := range []string{"p4, operator, protection_officer", "CASE under SERVICE_DELIVERY", "p4, operator, ngo_caseworker"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
}

// TestAssignable: createUser and role changes ask the decision whether roles may be held together.
func TestAssignable(t *testing.T) {
	p := mustLoad(t)
	d, err := p.Decide([]string{"operator"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		roles []string
		code  lindung.ErrorCode
		has   string
	}{
		{[]string{"protection_officer"}, "", ""},
		{[]string{"protection_officer", "ministry_analyst"}, "", ""},
		{nil, lindung.EINVALID, "at least one"},
		{[]string{"superuser"}, lindung.EINVALID, "superuser"},
		{[]string{"caseworker_base"}, lindung.EINVALID, "caseworker_base"},
		{[]string{"protection_officer", "operator"}, lindung.ECONFLICT, "operator and protection_officer"},
		{[]string{"ngo_caseworker", "router"}, lindung.ECONFLICT, "router and ngo_caseworker"},
		{[]string{"router", "operator"}, lindung.ECONFLICT, "operator and router"},
	} {
		err := d.Assignable(tc.roles)
		if tc.code == "" {
			if err != nil {
				t.Errorf("Assignable(%v): %v", tc.roles, err)
			}
			continue
		}
		var le *lindung.Error
		if !errors.As(err, &le) || le.Code != tc.code || !strings.Contains(le.Message, tc.has) {
			t.Errorf("Assignable(%v) = %v, want %s naming %q", tc.roles, err, tc.code, tc.has)
		}
	}
}
