package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lindung/lindung"
)

// The p3 attributes of break-glass access, as policy.csv spells them.
const (
	attrEmergencyMax   = "emergency_max"
	attrEmergencyScope = "emergency_scope"
	// maxEmergency is the longest any grant may last, whatever the policy says; the database holds the
	// same bound as a CHECK on emergency_grants.
	maxEmergency = 24 * time.Hour
)

// emergencyRole is what the p5 rows and the emergency p3 attributes say of one role.
type emergencyRole struct {
	needs map[lindung.Category]lindung.EmergencyNeed
	max   time.Duration
}

// readEmergency reads the p5 rows and the emergency attributes, and returns every problem the policy
// check must report about them: a p5 row for a category any p row of the role (or a base role) denies
// under any purpose, for a role that may not declare EMERGENCY, or with an unknown need; a role that may
// declare EMERGENCY without a maximum of at most 24 h, with EMERGENCY as its default purpose, or with an
// emergency scope other than its own row scope (which would widen it); and EMERGENCY granted by p rows,
// which would open categories without a grant. It runs after lint has read the roles.
func (p *Policy) readEmergency() (map[string]*emergencyRole, []string) {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	out := map[string]*emergencyRole{}
	get := func(name string) *emergencyRole {
		e := out[name]
		if e == nil {
			e = &emergencyRole{needs: map[lindung.Category]lindung.EmergencyNeed{}}
			out[name] = e
		}
		return e
	}
	rows := func(ptype string) [][]string {
		if _, err := p.enf.GetModel().GetAssertion("p", ptype); err != nil {
			return nil // a model without p5 opens nothing in an emergency
		}
		r, err := p.enf.GetNamedPolicy(ptype)
		if err != nil {
			add("%s rows cannot be read: %v", ptype, err)
		}
		return r
	}
	emergency := lindung.PurposeEmergency
	for _, r := range rows("p5") {
		row := "p5, " + strings.Join(r, ", ")
		if len(r) != 3 {
			add("%s: a p5 row is ROLE, CATEGORY, review|approve|approve_other_partner", row)
			continue
		}
		role, ok := p.roles[r[0]]
		if !ok {
			add("%s: unknown role %q (it has no p2/p3 rows)", row, r[0])
			continue
		}
		c, err := lindung.ParseCategory(r[1])
		if err != nil {
			add("%s: unknown data category %q", row, r[1])
			continue
		}
		need, ok := lindung.ParseEmergencyNeed(r[2])
		if !ok {
			add("%s: unknown need %q (want review, approve or approve_other_partner)", row, r[2])
			continue
		}
		if !role.allows(emergency) {
			add("%s: role %s may not declare EMERGENCY (add: p2, %s, EMERGENCY, allowed)", row, r[0], r[0])
		}
		if pur, denied := p.deniedAnywhere(r[0], c); denied {
			add("%s: %s is denied to %s (under %s): an emergency never reaches what the policy denies", row, c, r[0], pur)
		}
		e := get(r[0])
		if prev, dup := e.needs[c]; dup && prev != need {
			add("%s: contradicts the %s row for the same role and category; keep one", row, prev)
		}
		e.needs[c] = max(e.needs[c], need)
	}
	for _, a := range rows("p3") {
		if len(a) != 3 || (a[1] != attrEmergencyMax && a[1] != attrEmergencyScope) {
			continue
		}
		row := "p3, " + strings.Join(a, ", ")
		role, ok := p.roles[a[0]]
		if !ok {
			continue // lint reports the unknown role
		}
		switch a[1] {
		case attrEmergencyMax:
			d, err := time.ParseDuration(a[2])
			switch {
			case err != nil:
				add("%s: %q is not a duration (e.g. 4h, 90m)", row, a[2])
			case d <= 0 || d > maxEmergency:
				add("%s: an emergency grant lasts more than nothing and at most 24h", row)
			default:
				if e := get(a[0]); e.max != 0 {
					add("%s: role %s has two emergency_max rows; keep one", row, a[0])
				} else {
					e.max = d
				}
			}
		case attrEmergencyScope:
			if s := lindung.RowScope(a[2]); s != role.scope() {
				add("%s: the emergency scope of %s must not be wider than (or other than) its row scope %s", row, a[0], role.scope())
			}
		}
	}
	for _, r := range rows("p") {
		if len(r) == 4 && r[2] == string(emergency) && r[3] != basisNames[Deny] {
			add("p, %s: EMERGENCY is opened by p5 rows and a grant, never by a p row", strings.Join(r, ", "))
		}
	}
	names := make([]string, 0, len(p.roles))
	for name := range p.roles {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		role := p.roles[name]
		if !role.allows(emergency) {
			continue
		}
		e := out[name]
		switch {
		case slices.Contains(role.defaults, emergency):
			add("p2, %s, EMERGENCY, default: EMERGENCY is declared with a grant, never assumed", name)
		case e == nil || len(e.needs) == 0:
			add("role %s may declare EMERGENCY but no p5 row lets it open a category", name)
		case e.max == 0:
			add("role %s may declare EMERGENCY but has no maximum (add: p3, %s, emergency_max, 4h)", name, name)
		}
		if role.scope() == lindung.ScopeNone {
			add("role %s may declare EMERGENCY but sees no victim rows (scope none)", name)
		}
	}
	return out, problems
}

// deniedAnywhere reports whether a p row denies c to role (or a base role it inherits) under any
// purpose, and names the purpose. The caller need not hold enforceMu.
func (p *Policy) deniedAnywhere(role string, c lindung.Category) (lindung.Purpose, bool) {
	p.enforceMu.Lock()
	defer p.enforceMu.Unlock()
	return p.deniedAnywhereLocked(role, c)
}

func (p *Policy) deniedAnywhereLocked(role string, c lindung.Category) (lindung.Purpose, bool) {
	for _, pur := range lindung.Purposes() {
		if ok, err := p.enforce(role, c, pur, Deny); err != nil || ok {
			return pur, true
		}
	}
	return "", false
}

// emergencyTerms is what roles may open in an emergency: the p5 categories of the roles that may declare
// EMERGENCY, each with the strictest need any of them gives it, less every category any role held
// denies under any purpose; the maximum is the shortest of theirs. The caller holds enforceMu.
func (p *Policy) emergencyTerms(roles []string) lindung.EmergencyTerms {
	t := lindung.EmergencyTerms{Needs: map[lindung.Category]lindung.EmergencyNeed{}}
	for _, r := range roles {
		e := p.emergency[r]
		if e == nil || !p.roles[r].allows(lindung.PurposeEmergency) {
			continue
		}
		for c, n := range e.needs {
			t.Needs[c] = max(t.Needs[c], n)
		}
		if t.Max == 0 || e.max < t.Max {
			t.Max = e.max
		}
	}
	for c := range t.Needs {
		for _, r := range roles {
			if _, denied := p.deniedAnywhereLocked(r, c); denied {
				delete(t.Needs, c)
				break
			}
		}
	}
	if len(t.Needs) == 0 || t.Max == 0 {
		return lindung.EmergencyTerms{}
	}
	return t
}

// decideEmergency completes d for the EMERGENCY purpose: nothing on a legal basis, and the categories the
// roles may open, as "with consent" categories: the store reads the caller's grants in effect in place of
// consent, so the mask is the grant's categories cut by the p5 rows and by every deny of every role held
// (a deny wins twice: at open and here). No action is taken under EMERGENCY: it only reads. The caller
// holds enforceMu.
func (p *Policy) decideEmergency(d *Decision) *Decision {
	d.Actions = nil
	for c := range d.emergency.Needs {
		d.WithConsent |= lindung.SetOf(c)
	}
	if d.WithConsent == 0 {
		d.Rows = lindung.ScopeNone
	}
	return d
}

// EmergencyTerms returns what the decision's roles may open in an emergency, whatever purpose it was
// decided for: a grant is opened under the caller's everyday purpose and read under EMERGENCY.
func (d *Decision) EmergencyTerms() lindung.EmergencyTerms { return d.emergency }

// emergencyCells are a role's EMERGENCY column for the matrix, assertion files and diffs: each category's
// p5 need, or never.
func (p *Policy) emergencyCells(role string) map[string]string {
	p.enforceMu.Lock()
	t := p.emergencyTerms([]string{role})
	p.enforceMu.Unlock()
	cells := map[string]string{}
	for _, c := range lindung.Categories() {
		cells[c.String()] = viewNever
		if n, ok := t.Needs[c]; ok {
			cells[c.String()] = n.String()
		}
	}
	return cells
}

// emergencyMax spells a role's maximum grant, "" where it has none.
func (p *Policy) emergencyMax(role string) string {
	if e := p.emergency[role]; e != nil && e.max > 0 && p.roles[role].allows(lindung.PurposeEmergency) {
		return e.max.String()
	}
	return ""
}

// ExplainEmergency names the p5 row that lets role open c in an emergency, or the deny that keeps it
// closed, or says that no row opens it.
func (p *Policy) ExplainEmergency(role string, c lindung.Category) Rule {
	for _, subject := range p.lineage(role) {
		for _, pur := range append(lindung.Purposes(), everyPurpose) {
			if row, ok := p.find("p", subject, c.String(), string(pur), basisNames[Deny]); ok {
				return inherited(row, role, subject)
			}
		}
	}
	if row, ok := p.find("p5", role, c.String()); ok {
		return row.rule()
	}
	return Rule{Text: fmt.Sprintf("no p5 row lets %s open %s in an emergency", role, c)}
}

// validEmergencyCell reports whether an assertion file's EMERGENCY cell is a word the view uses.
func validEmergencyCell(s string) bool {
	_, ok := lindung.ParseEmergencyNeed(s)
	return ok || s == viewNever
}
