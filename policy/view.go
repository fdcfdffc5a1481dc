package policy

import (
	"slices"
	"strings"

	"github.com/lindung/lindung"
)

// The spellings of the bases in assertion files and diffs. A deny reads "never" there, because that is
// what it means to the people who review a policy change: the category is never disclosed.
const (
	viewNever   = "never"
	viewLegal   = "legal"
	viewConsent = "consent"
)

// viewBasis spells a basis for assertion files and diffs.
func viewBasis(b Basis) string {
	switch b {
	case Legal:
		return viewLegal
	case Consent:
		return viewConsent
	}
	return viewNever
}

// RoleView is what the policy gives one role held alone, after inheritance and precedence, as Decide
// compiles it: the unit in which assertion files pin decisions and diffs report changes. In an assertion
// file every field may be left out, and is then not checked (unless the file says it is complete).
type RoleView struct {
	// Scope is the role's row scope: none, partner, linked or referred.
	Scope *string `yaml:"scope,omitempty" json:"scope,omitempty"`
	// Training says current protection-officer training is a precondition.
	Training *bool `yaml:"training,omitempty" json:"training,omitempty"`
	// LimitToReferral says disclosure is bounded by what the role's referrals ask for.
	LimitToReferral *bool `yaml:"limit_to_referral,omitempty" json:"limit_to_referral,omitempty"`
	// DefaultPurpose is the purpose assumed when a request declares none.
	DefaultPurpose *string `yaml:"default_purpose,omitempty" json:"default_purpose,omitempty"`
	// Actions are every action the role may take beyond reading, sorted; the list is exact.
	Actions *[]string `yaml:"actions,omitempty" json:"actions,omitempty"`
	// Purposes maps every purpose the role may declare (the map is exact when given) to the basis of each
	// category under it: never, legal or consent; under EMERGENCY, what a grant of the category needs
	// (review, approve, approve_other_partner) or never.
	Purposes map[string]map[string]string `yaml:"purposes,omitempty" json:"purposes,omitempty"`
	// EmergencyMax is the longest an emergency grant of the role may last (e.g. 4h0m0s), for a role that
	// may declare EMERGENCY.
	EmergencyMax *string `yaml:"emergency_max,omitempty" json:"emergency_max,omitempty"`
}

// View is the effective policy: every role a user may hold, and the pairs no user may hold together.
type View struct {
	// Roles maps every role to its view.
	Roles map[string]RoleView `yaml:"roles" json:"roles"`
	// Forbidden lists the pairs of roles no user may hold together (p4), each sorted, sorted.
	Forbidden [][2]string `yaml:"forbidden" json:"forbidden"`
}

// View compiles the effective policy for every role held alone, for assertion files and diffs.
func (p *Policy) View() View {
	v := View{Roles: map[string]RoleView{}, Forbidden: p.forbiddenPairs()}
	for _, name := range p.names {
		r := p.roles[name]
		scope, training, referral := string(r.scope()), r.training, r.referral
		actions := make([]string, 0, len(r.actions))
		for _, a := range r.actions {
			actions = append(actions, string(a))
		}
		slices.Sort(actions)
		actions = slices.Compact(actions)
		rv := RoleView{Scope: &scope, Training: &training, LimitToReferral: &referral, Actions: &actions,
			Purposes: map[string]map[string]string{}}
		if len(r.defaults) > 0 {
			def := string(r.defaults[0])
			rv.DefaultPurpose = &def
		}
		if m := p.emergencyMax(name); m != "" {
			rv.EmergencyMax = &m
		}
		for _, pur := range r.purposes {
			if pur == lindung.PurposeEmergency {
				rv.Purposes[string(pur)] = p.emergencyCells(name)
				continue
			}
			cells := map[string]string{}
			d, err := p.Decide([]string{name}, pur)
			for _, c := range lindung.Categories() {
				b := Deny
				if err == nil {
					b = d.Basis(c)
				}
				cells[c.String()] = viewBasis(b)
			}
			rv.Purposes[string(pur)] = cells
		}
		v.Roles[name] = rv
	}
	return v
}

// forbiddenPairs returns the p4 pairs, each sorted, sorted and without duplicates.
func (p *Policy) forbiddenPairs() [][2]string {
	out := make([][2]string, 0, len(p.conflicts))
	for _, c := range p.conflicts {
		if c[1] < c[0] {
			c[0], c[1] = c[1], c[0]
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b [2]string) int {
		if a[0] != b[0] {
			return strings.Compare(a[0], b[0])
		}
		return strings.Compare(a[1], b[1])
	})
	return slices.Compact(out)
}
