package policy

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lindung/lindung"
)

// Assertions are the decisions a policy must make, written down so that a change of policy.csv that
// alters one fails a test naming the rule that decided it, the way code is pinned by its tests. A file
// holds three kinds: per role (held alone), its row scope, attributes, actions, purposes and each
// category's basis under each purpose; the pairs of roles no user may hold together; and situations,
// concrete callers with a victim's consent and referrals, evaluated through Decision.Mask exactly as the
// field guard is, without a database.
type Assertions struct {
	// Complete says the file pins the whole policy: every role, every field of each, every purpose it may
	// declare with every category, and the exact list of forbidden pairs. A role or a purpose added to the
	// policy then fails until the file says what it should get.
	Complete bool `yaml:"complete"`
	// Roles maps a role to what it must get when held alone.
	Roles map[string]RoleView `yaml:"roles"`
	// Forbidden lists pairs of roles no user may hold together; with Complete, exactly these.
	Forbidden [][2]string `yaml:"forbidden"`
	// Situations are concrete callers and what they must (not) see or do.
	Situations []Situation `yaml:"situations"`
}

// Situation is one concrete caller facing one victim's record: the roles held, the purpose declared, the
// categories the victim consented to and the caller's partner's accepted referrals ask for, and what the
// caller must see, must not see, may and may not do; or that the request is refused outright.
type Situation struct {
	// Name says the situation in words, e.g. "an employer never sees a shelter".
	Name string `yaml:"name"`
	// Roles are the roles the caller holds.
	Roles []string `yaml:"roles"`
	// Purpose is the declared purpose; empty for the roles' default.
	Purpose string `yaml:"purpose,omitempty"`
	// Consented are the categories the victim's active consent covers; ALL for every category.
	Consented []string `yaml:"consented,omitempty"`
	// Referred are the categories the caller's partner's accepted referrals ask for; ALL for every one.
	Referred []string `yaml:"referred,omitempty"`
	// Emergency are the categories of the caller's emergency grant in effect for the victim (under the
	// EMERGENCY purpose the store reads them in place of consent); ALL for every one.
	Emergency []string `yaml:"emergency,omitempty"`
	// Sees are categories that must be disclosed.
	Sees []string `yaml:"sees,omitempty"`
	// Withheld are categories that must not be disclosed; ALL for every category.
	Withheld []string `yaml:"withheld,omitempty"`
	// May are actions the caller must be able to take.
	May []string `yaml:"may,omitempty"`
	// MayNot are actions the caller must not be able to take.
	MayNot []string `yaml:"may_not,omitempty"`
	// Refused says the policy must refuse the request (a forbidden combination of roles, a purpose none
	// of them may declare): nothing is disclosed and nothing done.
	Refused bool `yaml:"refused,omitempty"`
}

// allKeyword stands for every category in a situation's lists.
const allKeyword = "ALL"

// ParseAssertions reads an assertion file. Unknown keys, categories, purposes, bases and actions are
// errors, so that a typo cannot turn an assertion into one that checks nothing.
func ParseAssertions(data []byte) (*Assertions, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var a Assertions
	if err := dec.Decode(&a); err != nil {
		return nil, err
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, role := range sortedKeys(a.Roles) {
		rv := a.Roles[role]
		if rv.Scope != nil && !lindung.RowScope(*rv.Scope).Valid() {
			bad("roles.%s.scope: unknown row scope %q", role, *rv.Scope)
		}
		if rv.DefaultPurpose != nil && !lindung.Purpose(*rv.DefaultPurpose).Valid() {
			bad("roles.%s.default_purpose: unknown purpose %q", role, *rv.DefaultPurpose)
		}
		if rv.Actions != nil {
			for _, act := range *rv.Actions {
				if !lindung.Action(act).Valid() {
					bad("roles.%s.actions: unknown action %q", role, act)
				}
			}
		}
		for _, pur := range sortedKeys(rv.Purposes) {
			if !lindung.Purpose(pur).Valid() {
				bad("roles.%s.purposes: unknown purpose %q", role, pur)
			}
			for _, cat := range sortedKeys(rv.Purposes[pur]) {
				if _, err := lindung.ParseCategory(cat); err != nil {
					bad("roles.%s.purposes.%s: unknown data category %q", role, pur, cat)
				}
				if b := rv.Purposes[pur][cat]; pur == string(lindung.PurposeEmergency) && !validEmergencyCell(b) {
					bad("roles.%s.purposes.%s.%s: unknown need %q (want never, review, approve or approve_other_partner)", role, pur, cat, b)
				} else if b != viewNever && b != viewLegal && b != viewConsent && pur != string(lindung.PurposeEmergency) {
					bad("roles.%s.purposes.%s.%s: unknown basis %q (want never, legal or consent)", role, pur, cat, b)
				}
			}
		}
	}
	for i, s := range a.Situations {
		where := fmt.Sprintf("situations[%d] %q", i, s.Name)
		if s.Name == "" {
			bad("%s: a situation needs a name", where)
		}
		if len(s.Roles) == 0 {
			bad("%s: a situation needs roles", where)
		}
		if s.Purpose != "" && !lindung.Purpose(s.Purpose).Valid() {
			bad("%s: unknown purpose %q", where, s.Purpose)
		}
		for _, list := range [][]string{s.Consented, s.Referred, s.Emergency, s.Sees, s.Withheld} {
			if _, err := categorySet(list); err != nil {
				bad("%s: %v", where, err)
			}
		}
		for _, act := range slices.Concat(s.May, s.MayNot) {
			if !lindung.Action(act).Valid() {
				bad("%s: unknown action %q", where, act)
			}
		}
		if s.Refused && len(s.Sees)+len(s.May) > 0 {
			bad("%s: a refused request can neither see nor do anything", where)
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return &a, nil
}

// categorySet reads a list of category names, ALL standing for every category.
func categorySet(names []string) (lindung.CategorySet, error) {
	var s lindung.CategorySet
	for _, n := range names {
		if n == allKeyword {
			s |= lindung.AllCategories
			continue
		}
		c, err := lindung.ParseCategory(n)
		if err != nil {
			return 0, err
		}
		s |= lindung.SetOf(c)
	}
	return s, nil
}

// Failure is one assertion the policy does not meet, with the rule that decided what it does instead.
type Failure struct {
	// Assertion names the assertion: "ngo_caseworker SERVICE_DELIVERY LEGAL", or a situation's name.
	Assertion string
	// Want is what the assertion file expects, Got what the policy decides.
	Want, Got string
	// Rule is the row of policy.csv (or the default) that decided Got.
	Rule Rule
}

// String renders the failure for a terminal: what, expected, decided, and by which rule.
func (f Failure) String() string {
	return fmt.Sprintf("%s: want %s, got %s\n    decided by %s", f.Assertion, f.Want, f.Got, f.Rule)
}

// Check evaluates the assertions against p and returns every one it fails, in the file's order of kinds
// (roles, forbidden pairs, situations); none when the policy makes every decision the file pins.
func (a *Assertions) Check(p *Policy) []Failure {
	var out []Failure
	fail := func(assertion, want, got string, rule Rule) {
		out = append(out, Failure{Assertion: assertion, Want: want, Got: got, Rule: rule})
	}
	actual := p.View()
	if a.Complete {
		for _, role := range p.Roles() {
			if _, ok := a.Roles[role]; !ok {
				fail(role, "an entry in the assertion file (it is complete)", "a role of the policy", p.ExplainScope(role))
			}
		}
	}
	for _, role := range sortedKeys(a.Roles) {
		want := a.Roles[role]
		got, ok := actual.Roles[role]
		if !ok {
			fail(role, "a role of the policy", "no such role", Rule{Text: "no p2/p3 rows for " + role})
			continue
		}
		a.checkRole(p, role, want, got, fail)
	}

	if a.Forbidden != nil || a.Complete {
		wantPairs := map[[2]string]bool{}
		for _, pair := range a.Forbidden {
			if pair[1] < pair[0] {
				pair[0], pair[1] = pair[1], pair[0]
			}
			wantPairs[pair] = true
			if _, forbidden := p.Conflict(pair[:]); !forbidden {
				fail(fmt.Sprintf("forbidden %s + %s", pair[0], pair[1]), "never held together", "may be held together",
					p.ExplainConflict(pair[0], pair[1]))
			}
		}
		if a.Complete {
			for _, pair := range actual.Forbidden {
				if !wantPairs[pair] {
					fail(fmt.Sprintf("forbidden %s + %s", pair[0], pair[1]), "not listed (the file is complete)",
						"never held together", p.ExplainConflict(pair[0], pair[1]))
				}
			}
		}
	}

	for _, s := range a.Situations {
		checkSituation(p, s, fail)
	}
	return out
}

// checkRole compares what the file says of one role with what the policy gives it.
func (a *Assertions) checkRole(p *Policy, role string, want, got RoleView, fail func(string, string, string, Rule)) {
	missing := func(field string) {
		if a.Complete {
			fail(role+" "+field, "a value in the assertion file (it is complete)", "none given", Rule{Text: "the assertion file"})
		}
	}
	switch {
	case want.Scope == nil:
		missing("scope")
	case *want.Scope != *got.Scope:
		fail(role+" scope", *want.Scope, *got.Scope, p.ExplainScope(role))
	}
	switch {
	case want.Training == nil:
		missing("training")
	case *want.Training != *got.Training:
		fail(role+" training", yesNo(*want.Training), yesNo(*got.Training), p.ExplainAttr(role, attrTraining))
	}
	switch {
	case want.LimitToReferral == nil:
		missing("limit_to_referral")
	case *want.LimitToReferral != *got.LimitToReferral:
		fail(role+" limit_to_referral", yesNo(*want.LimitToReferral), yesNo(*got.LimitToReferral),
			p.ExplainAttr(role, attrLimit))
	}
	switch {
	case want.DefaultPurpose == nil:
		missing("default_purpose")
	case got.DefaultPurpose == nil || *want.DefaultPurpose != *got.DefaultPurpose:
		g := "none"
		if got.DefaultPurpose != nil {
			g = *got.DefaultPurpose
		}
		fail(role+" default_purpose", *want.DefaultPurpose, g, p.ExplainPurpose(role, lindung.Purpose(g)))
	}
	if want.Actions == nil {
		missing("actions")
	} else {
		for _, act := range *want.Actions {
			if !slices.Contains(*got.Actions, act) {
				fail(role+" may "+act, "allowed", "not allowed", p.ExplainAction(role, lindung.Action(act)))
			}
		}
		for _, act := range *got.Actions {
			if !slices.Contains(*want.Actions, act) {
				fail(role+" may "+act, "not allowed", "allowed", p.ExplainAction(role, lindung.Action(act)))
			}
		}
	}
	switch {
	case want.EmergencyMax == nil && got.EmergencyMax != nil:
		missing("emergency_max")
	case want.EmergencyMax != nil && (got.EmergencyMax == nil || *want.EmergencyMax != *got.EmergencyMax):
		fail(role+" emergency_max", *want.EmergencyMax, deref(got.EmergencyMax), p.ExplainAttr(role, attrEmergencyMax))
	}
	if want.Purposes == nil {
		missing("purposes")
		return
	}
	for _, pur := range lindung.Purposes() {
		wantCells, wantOpen := want.Purposes[string(pur)]
		gotCells, gotOpen := got.Purposes[string(pur)]
		if wantOpen != gotOpen {
			fail(fmt.Sprintf("%s %s", role, pur), openWord(wantOpen), openWord(gotOpen), p.ExplainPurpose(role, pur))
			continue
		}
		if !wantOpen {
			continue
		}
		for _, c := range lindung.Categories() {
			w, ok := wantCells[c.String()]
			if !ok {
				if a.Complete {
					fail(fmt.Sprintf("%s %s %s", role, pur, c), "a basis in the assertion file (it is complete)",
						gotCells[c.String()], p.ExplainBasis([]string{role}, pur, c))
				}
				continue
			}
			if g := gotCells[c.String()]; g != w {
				rule := p.ExplainBasis([]string{role}, pur, c)
				if pur == lindung.PurposeEmergency {
					rule = p.ExplainEmergency(role, c)
				}
				fail(fmt.Sprintf("%s %s %s", role, pur, c), w, g, rule)
			}
		}
	}
}

// checkSituation decides for the situation's caller and evaluates its victim through Decision.Mask.
func checkSituation(p *Policy, s Situation, fail func(string, string, string, Rule)) {
	d, err := p.Decide(s.Roles, lindung.Purpose(s.Purpose))
	if s.Refused {
		if err == nil {
			fail(s.Name, "the request refused", "a decision for "+string(d.Purpose), refusalRule(p, s))
		}
		return
	}
	if err != nil {
		fail(s.Name, "a decision", "refused: "+err.Error(), refusalRule(p, s))
		return
	}
	consented, _ := categorySet(s.Consented)
	referred, _ := categorySet(s.Referred)
	if d.Purpose == lindung.PurposeEmergency {
		// Under EMERGENCY the victim's consent counts for nothing: the grant's categories take its place.
		consented, _ = categorySet(s.Emergency)
	}
	mask := d.Mask(&lindung.Owned{VictimID: "assertion", Consented: consented, Referred: referred, InScope: true})
	sees, _ := categorySet(s.Sees)
	withheld, _ := categorySet(s.Withheld)
	for _, c := range lindung.Categories() {
		switch {
		case sees.Has(c) && !mask.Has(c):
			fail(s.Name, c.String()+" disclosed", c.String()+" withheld ("+d.Reason(c)+")",
				situationRule(p, d, c, consented, referred))
		case withheld.Has(c) && mask.Has(c):
			fail(s.Name, c.String()+" withheld", c.String()+" disclosed", situationRule(p, d, c, consented, referred))
		}
	}
	for _, act := range s.May {
		if !d.May(lindung.Action(act)) {
			fail(s.Name, "may "+act, "may not", actionRule(p, d, lindung.Action(act)))
		}
	}
	for _, act := range s.MayNot {
		if d.May(lindung.Action(act)) {
			fail(s.Name, "may not "+act, "may", actionRule(p, d, lindung.Action(act)))
		}
	}
}

// situationRule explains a category's fate in a situation: the scope when the role sees no rows, the
// basis rule otherwise, with what was missing (consent, a referral) when the basis alone would open it.
func situationRule(p *Policy, d *Decision, c lindung.Category, consented, referred lindung.CategorySet) Rule {
	if d.Rows == lindung.ScopeNone {
		for _, r := range d.Roles {
			if p.roles[r].scope() == lindung.ScopeNone {
				return p.ExplainScope(r)
			}
		}
		return Rule{Text: "every category is denied to these roles, so they see no rows"}
	}
	r := p.ExplainBasis(d.Roles, d.Purpose, c)
	if d.Basis(c) == Consent && !consented.Has(c) {
		r.Text += "; the victim has not consented to " + c.String()
	}
	if d.LimitToReferral && (d.Legal | d.WithConsent).Has(c) && !referred.Has(c) {
		for _, role := range d.Roles {
			if p.roles[role].referral {
				r.Text += "; no accepted referral asks for " + c.String() + " (" + p.ExplainAttr(role, attrLimit).String() + ")"
				break
			}
		}
	}
	return r
}

// actionRule names the p3 row of a held role that grants the action, or says that none does.
func actionRule(p *Policy, d *Decision, a lindung.Action) Rule {
	for _, r := range d.Roles {
		if row := p.ExplainAction(r, a); row.Line != 0 {
			if !p.roles[r].allows(d.Purpose) {
				row.Text += fmt.Sprintf(" (not in effect: %s may not declare %s)", r, d.Purpose)
			}
			return row
		}
	}
	return Rule{Text: fmt.Sprintf("no p3 row lets %s %s", strings.Join(d.Roles, ", "), a)}
}

// refusalRule names what refuses (or fails to refuse) a situation's request: a p4 pair, or the p2 rows.
func refusalRule(p *Policy, s Situation) Rule {
	if pair, ok := p.Conflict(s.Roles); ok {
		return p.ExplainConflict(pair[0], pair[1])
	}
	for i, a := range s.Roles {
		for _, b := range s.Roles[i+1:] {
			if r := p.ExplainConflict(a, b); r.Line != 0 {
				return r
			}
		}
	}
	if s.Purpose != "" {
		for _, r := range s.Roles {
			if row := p.ExplainPurpose(r, lindung.Purpose(s.Purpose)); row.Line != 0 {
				return row
			}
		}
		return Rule{Text: fmt.Sprintf("no p2 row lets %s declare %s", strings.Join(s.Roles, ", "), s.Purpose)}
	}
	return Rule{Text: "the roles' p2 and p3 rows (default purposes, row scopes)"}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func openWord(open bool) string {
	if open {
		return "may declare it"
	}
	return "may not declare it"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
