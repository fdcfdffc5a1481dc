package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/lindung/lindung"
)

// roleName is what a role may be called. It keeps names free of the cache key's separator and of
// anything a log or a client message would have to escape.
var roleName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Check lints the loaded policy and returns every problem found, each naming the row at fault; none for a
// sound policy. A misspelt name in a policy would otherwise deny silently (or, worse, leave a role
// without a row scope), so Load refuses a policy with any problem.
//
// It checks that every role, base role, category, purpose, scope and attribute a row names exists; that
// every role has exactly one row scope and one default purpose among its purposes; that no grant names a
// purpose its role may not declare, or contradicts another rule of the same role; that only a deny names
// every purpose (*); and that no pair of roles that must never be held together (p4) would see any victim
// data together, under any purpose, were a user to hold both.
func (p *Policy) Check() []string {
	_, _, problems := p.lint()
	problems = append(slices.Clone(p.loadErrs), problems...)
	problems = append(problems, p.emergencyProblems...)
	return append(problems, p.conflictGrants()...)
}

// conflictGrants decides every forbidden pair for every purpose as if the pair were allowed, and reports
// each one that would disclose a category: the refusal of the pair is one wall, the denies are the other.
func (p *Policy) conflictGrants() []string {
	var problems []string
	for _, c := range p.conflicts {
		if p.roles[c[0]] == nil || p.roles[c[1]] == nil {
			continue // reported by lint
		}
		for _, pur := range lindung.Purposes() {
			d, err := p.decide(sortedRoles(c[:]), pur)
			if err != nil {
				continue // the pair may not declare this purpose, or cannot be held together at all
			}
			if open := d.Legal | d.WithConsent; open != 0 {
				problems = append(problems, fmt.Sprintf("p4, %s, %s: the roles must never be held together, "+
					"yet together they would see %s under %s (deny every category to one of them for every purpose: p, ROLE, CATEGORY, *, deny)",
					c[0], c[1], open, pur))
			}
		}
	}
	return problems
}

// lint reads the p2/p3/p4 rows into roles and conflicts and collects the policy's problems.
func (p *Policy) lint() (map[string]*role, [][2]string, []string) {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	row := func(ptype string, r []string) string { return ptype + ", " + strings.Join(r, ", ") }
	read := func(ptype string, get func(string) ([][]string, error)) [][]string {
		rows, err := get(ptype)
		if err != nil {
			add("%s rows cannot be read: %v", ptype, err)
		}
		return rows
	}
	rules := read("p", p.enf.GetNamedPolicy)
	uses := read("p2", p.enf.GetNamedPolicy)
	attrs := read("p3", p.enf.GetNamedPolicy)
	links := read("g", p.enf.GetNamedGroupingPolicy)
	pairs := read("p4", p.enf.GetNamedPolicy)

	roles := map[string]*role{}
	get := func(name string) *role {
		r := roles[name]
		if r == nil {
			r = &role{}
			roles[name] = r
		}
		return r
	}

	for _, u := range uses {
		r, pur := get(u[0]), lindung.Purpose(u[1])
		if !pur.Valid() {
			add("%s: unknown purpose %q", row("p2", u), u[1])
			continue
		}
		if r.allows(pur) {
			add("%s: purpose %s is listed twice for role %s", row("p2", u), pur, u[0])
			continue
		}
		switch u[2] {
		case useDefault:
			r.purposes = append(r.purposes, pur)
			r.defaults = append(r.defaults, pur)
		case useAllowed:
			r.purposes = append(r.purposes, pur)
		default:
			add("%s: unknown purpose use %q (want %s or %s)", row("p2", u), u[2], useDefault, useAllowed)
		}
	}

	for _, a := range attrs {
		r := get(a[0])
		switch a[1] {
		case attrScope:
			if s := lindung.RowScope(a[2]); s.Valid() {
				r.scopes = append(r.scopes, s)
			} else {
				add("%s: unknown row scope %q (want none, partner, linked or referred)", row("p3", a), a[2])
			}
		case attrTraining:
			if a[2] == trainingNeeded {
				r.training = true
			} else {
				add("%s: unknown training value %q (want %s)", row("p3", a), a[2], trainingNeeded)
			}
		case attrLimit:
			if a[2] == limitToReferral {
				r.referral = true
			} else {
				add("%s: unknown limit %q (want %s)", row("p3", a), a[2], limitToReferral)
			}
		case attrEmergencyMax, attrEmergencyScope:
			// read with the p5 rows (emergency.go)
		case attrMay:
			if act := lindung.Action(a[2]); act.Valid() {
				r.actions = append(r.actions, act)
			} else {
				add("%s: unknown action %q (want one of %v)", row("p3", a), a[2], lindung.Actions())
			}
		default:
			add("%s: unknown role attribute %q (want %s, %s, %s, %s, %s or %s)", row("p3", a), a[1],
				attrScope, attrTraining, attrLimit, attrMay, attrEmergencyMax, attrEmergencyScope)
		}
	}

	// A base role is one that roles inherit from and that no user holds: it has rules but no p2/p3 rows.
	ruled := map[string]bool{}
	for _, r := range rules {
		ruled[r[0]] = true
	}
	bases := map[string]bool{}
	for _, l := range links {
		if _, isRole := roles[l[1]]; !isRole {
			bases[l[1]] = true
		}
	}
	for _, l := range links {
		if len(l) != 2 {
			add("%s: a g row links exactly two roles", row("g", l))
			continue
		}
		if _, isRole := roles[l[0]]; !isRole && !bases[l[0]] {
			add("%s: unknown role %q (it has no p2/p3 rows)", row("g", l), l[0])
		}
		if bases[l[1]] && !ruled[l[1]] {
			add("%s: unknown base role %q (it has no p rules)", row("g", l), l[1])
		}
	}

	seen := map[string]string{} // subject|category|purpose -> basis, to find contradictions
	for _, r := range rules {
		subject, ri := r[0], roles[r[0]]
		if ri == nil && !bases[subject] {
			add("%s: unknown role %q (no p2/p3 rows, and no role inherits from it)", row("p", r), subject)
		}
		if _, err := lindung.ParseCategory(r[1]); err != nil {
			add("%s: unknown data category %q", row("p", r), r[1])
		}
		pur := lindung.Purpose(r[2])
		if pur == everyPurpose {
			if r[3] != basisNames[Deny] {
				add("%s: only a deny may name every purpose (*); grant per purpose", row("p", r))
			}
		} else if !pur.Valid() {
			add("%s: unknown purpose %q", row("p", r), r[2])
		} else if ri != nil && !ri.allows(pur) && r[3] != basisNames[Deny] {
			// A deny under a purpose the role may not declare still binds a user who also holds a role
			// that may; a grant there would never take effect.
			add("%s: role %s may not declare purpose %s (add a p2 row or remove the rule)", row("p", r),
				subject, pur)
		}
		if !slices.Contains(basisNames[:], r[3]) {
			add("%s: unknown basis %q (want legal, consent or deny)", row("p", r), r[3])
		}
		k := r[0] + "|" + r[1] + "|" + r[2]
		if prev, ok := seen[k]; ok && prev != r[3] {
			add("%s: contradicts the %s rule for the same role, category and purpose; keep one", row("p", r), prev)
		}
		seen[k] = r[3]
	}

	names := make([]string, 0, len(roles))
	for name := range roles {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		r := roles[name]
		if !roleName.MatchString(name) {
			add("role %q: a role name is lower case letters, digits and underscores", name)
		}
		switch len(r.scopes) {
		case 0:
			add("role %s has no row scope (add a row: p3, %s, scope, none|partner|linked|referred)", name, name)
		case 1:
		default:
			add("role %s has %d row scopes; it must have exactly one", name, len(r.scopes))
		}
		if len(r.purposes) == 0 {
			add("role %s has no purpose (add a row: p2, %s, PURPOSE, default)", name, name)
		} else if len(r.defaults) != 1 {
			add("role %s has %d default purposes; it must have exactly one", name, len(r.defaults))
		}
	}
	var conflicts [][2]string
	for _, c := range pairs {
		if len(c) != 2 {
			add("%s: a p4 row names exactly two roles", row("p4", c))
			continue
		}
		ok := true
		for _, name := range c {
			if _, isRole := roles[name]; !isRole {
				add("%s: unknown role %q (it has no p2/p3 rows)", row("p4", c), name)
				ok = false
			}
		}
		if ok && c[0] == c[1] {
			add("%s: a role cannot conflict with itself", row("p4", c))
			ok = false
		}
		if ok {
			conflicts = append(conflicts, [2]string{c[0], c[1]})
		}
	}
	return roles, conflicts, problems
}
