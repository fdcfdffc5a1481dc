package policy

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/lindung/lindung"
)

// Change is one decision that differs between two policies, for one role (or one pair of roles): what a
// reviewer of a policy change must agree to, e.g. "ngo_caseworker SERVICE_DELIVERY LEGAL: never → consent".
type Change struct {
	// Who is the role, or the pair "a + b" for a forbidden combination.
	Who string `json:"who"`
	// What is the decision: "PURPOSE CATEGORY", "scope", "training", "limit_to_referral",
	// "default_purpose", "purpose PURPOSE", "may ACTION", "role" or "held together".
	What string `json:"what"`
	// Old and New are the decision before and after ("—" where the role did not exist).
	Old string `json:"old"`
	New string `json:"new"`
	// OldRule and NewRule are the rows of each policy that decided (empty where not applicable).
	OldRule string `json:"old_rule,omitempty"`
	NewRule string `json:"new_rule,omitempty"`
}

// absent marks a decision about a role that one of the policies does not have.
const absent = "—"

// Diff returns every decision that differs from old to new: per role held alone, its existence, row
// scope, attributes, default purpose, purposes, actions and each category's basis under each purpose (a
// purpose the role may not declare discloses nothing: never); and the forbidden pairs. The order is
// stable: roles by name, purposes and categories in their declared order.
func Diff(old, new *Policy) []Change {
	ov, nv := old.View(), new.View()
	var out []Change
	add := func(c Change) {
		if c.Old != c.New {
			out = append(out, c)
		}
	}
	roles := slices.Concat(sortedKeys(ov.Roles), sortedKeys(nv.Roles))
	slices.Sort(roles)
	for _, role := range slices.Compact(roles) {
		o, inOld := ov.Roles[role]
		n, inNew := nv.Roles[role]
		// A role is defined by its p2/p3 rows; its scope row names it.
		scopeRule := func(p *Policy) Rule { return p.ExplainScope(role) }
		add(Change{Who: role, What: "role", Old: presence(inOld), New: presence(inNew),
			OldRule: ruleIf(old, inOld && !inNew, scopeRule), NewRule: ruleIf(new, inNew && !inOld, scopeRule)})
		str := func(rv RoleView, in bool, f func(RoleView) string) string {
			if !in {
				return absent
			}
			return f(rv)
		}
		for _, field := range []struct {
			name string
			get  func(RoleView) string
			rule func(*Policy) Rule
		}{
			{"scope", func(rv RoleView) string { return deref(rv.Scope) }, func(p *Policy) Rule { return p.ExplainScope(role) }},
			{"training", func(rv RoleView) string { return yesNo(rv.Training != nil && *rv.Training) },
				func(p *Policy) Rule { return p.ExplainAttr(role, attrTraining) }},
			{"limit_to_referral", func(rv RoleView) string { return yesNo(rv.LimitToReferral != nil && *rv.LimitToReferral) },
				func(p *Policy) Rule { return p.ExplainAttr(role, attrLimit) }},
			{"default_purpose", func(rv RoleView) string { return deref(rv.DefaultPurpose) },
				func(p *Policy) Rule { return p.explainDefault(role) }},
			{"emergency_max", func(rv RoleView) string {
				if rv.EmergencyMax == nil {
					return "none"
				}
				return *rv.EmergencyMax
			},
				func(p *Policy) Rule { return p.ExplainAttr(role, attrEmergencyMax) }},
		} {
			c := Change{Who: role, What: field.name, Old: str(o, inOld, field.get), New: str(n, inNew, field.get)}
			if field.name == "emergency_max" && (c.Old+c.New == absent+"none" || c.Old+c.New == "none"+absent) {
				continue // a role that opens nothing in an emergency has no maximum to report
			}
			if c.Old != c.New {
				c.OldRule, c.NewRule = ruleIf(old, inOld, field.rule), ruleIf(new, inNew, field.rule)
			}
			add(c)
		}
		for _, pur := range lindung.Purposes() {
			oc, oOpen := o.Purposes[string(pur)]
			nc, nOpen := n.Purposes[string(pur)]
			rule := func(p *Policy) Rule { return p.ExplainPurpose(role, pur) }
			c := Change{Who: role, What: "purpose " + string(pur), Old: openWord(oOpen), New: openWord(nOpen)}
			if c.Old != c.New {
				c.OldRule, c.NewRule = ruleIf(old, inOld, rule), ruleIf(new, inNew, rule)
			}
			add(c)
			if !oOpen && !nOpen {
				continue
			}
			for _, cat := range lindung.Categories() {
				c := Change{Who: role, What: string(pur) + " " + cat.String(), Old: cell(oc, cat), New: cell(nc, cat)}
				if c.Old != c.New {
					rule := func(p *Policy) Rule { return p.ExplainBasis([]string{role}, pur, cat) }
					if pur == lindung.PurposeEmergency {
						rule = func(p *Policy) Rule { return p.ExplainEmergency(role, cat) }
					}
					c.OldRule, c.NewRule = ruleIf(old, oOpen, rule), ruleIf(new, nOpen, rule)
				}
				add(c)
			}
		}
		acts := slices.Concat(deref(o.Actions), deref(n.Actions))
		slices.Sort(acts)
		for _, act := range slices.Compact(acts) {
			rule := func(p *Policy) Rule { return p.ExplainAction(role, lindung.Action(act)) }
			c := Change{Who: role, What: "may " + act, Old: yesNo(slices.Contains(deref(o.Actions), act)),
				New: yesNo(slices.Contains(deref(n.Actions), act))}
			if c.Old != c.New {
				c.OldRule, c.NewRule = ruleIf(old, inOld, rule), ruleIf(new, inNew, rule)
			}
			add(c)
		}
	}
	pairs := slices.Concat(ov.Forbidden, nv.Forbidden)
	slices.SortFunc(pairs, func(a, b [2]string) int { return strings.Compare(a[0]+"|"+a[1], b[0]+"|"+b[1]) })
	for _, pair := range slices.Compact(pairs) {
		rule := func(p *Policy) Rule { return p.ExplainConflict(pair[0], pair[1]) }
		c := Change{Who: pair[0] + " + " + pair[1], What: "held together",
			Old: forbiddenWord(slices.Contains(ov.Forbidden, pair)), New: forbiddenWord(slices.Contains(nv.Forbidden, pair))}
		if c.Old != c.New {
			c.OldRule, c.NewRule = rule(old).String(), rule(new).String()
		}
		add(c)
	}
	return out
}

// WriteDiff prints the changes as a table, one decision a line ("WHO WHAT: OLD → NEW") with the row of
// the new policy that decides it, for a reviewer who reads what a change does rather than its CSV diff.
func WriteDiff(w io.Writer, old, new *Policy, changes []Change) {
	fmt.Fprintf(w, "policy %s → %s: %d change(s)\n", old.Version(), new.Version(), len(changes))
	if len(changes) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nWHO\tWHAT\tOLD → NEW\tDECIDED NOW BY")
	for _, c := range changes {
		rule := c.NewRule
		if rule == "" {
			rule = "(was " + c.OldRule + ")"
			if c.OldRule == "" {
				rule = ""
			}
		}
		fmt.Fprintf(tw, "%s\t%s:\t%s → %s\t%s\n", c.Who, c.What, c.Old, c.New, rule)
	}
	tw.Flush()
}

// WriteDiffJSON prints the changes as JSON, with both policies' versions, for tooling and review bots.
func WriteDiffJSON(w io.Writer, old, new *Policy, changes []Change) error {
	if changes == nil {
		changes = []Change{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Old     string   `json:"old_version"`
		New     string   `json:"new_version"`
		Changes []Change `json:"changes"`
	}{old.Version(), new.Version(), changes})
}

// explainDefault names the p2 row that makes a purpose the role's default.
func (p *Policy) explainDefault(role string) Rule {
	if row, ok := p.find("p2", role, "", useDefault); ok {
		return row.rule()
	}
	return Rule{Text: fmt.Sprintf("no default p2 row for %s", role)}
}

func ruleIf(p *Policy, applies bool, rule func(*Policy) Rule) string {
	if !applies {
		return ""
	}
	return rule(p).String()
}

// cell is a category's basis under a purpose; a purpose the role may not declare discloses nothing.
func cell(cells map[string]string, c lindung.Category) string {
	if b, ok := cells[c.String()]; ok {
		return b
	}
	return viewNever
}

func presence(in bool) string {
	if in {
		return "present"
	}
	return "absent"
}

func forbiddenWord(forbidden bool) string {
	if forbidden {
		return "forbidden"
	}
	return "allowed"
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
