package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lindung/lindung"
)

// sourceRow is one row of policy.csv as written, kept with its line so that a failing assertion or a
// reviewer can be pointed at the rule that decided.
type sourceRow struct {
	line   int
	ptype  string   // p, p2, p3, p4 or g
	fields []string // the row after its type, trimmed
}

// parseSourceRow splits a policy line as Casbin's CSV reader does for the plain names policy.csv uses.
func parseSourceRow(line int, text string) sourceRow {
	fs := strings.Split(text, ",")
	for i := range fs {
		fs[i] = strings.TrimSpace(fs[i])
	}
	return sourceRow{line: line, ptype: fs[0], fields: fs[1:]}
}

// Rule names what decided one answer of the policy: a row of policy.csv with its line, or, where no row
// applies, the default that did (absence is deny). It is what a failing assertion and a diff point at.
type Rule struct {
	// Line is the row's line in policy.csv, 0 when no row decided.
	Line int
	// Text is the row as written, or the default that applied.
	Text string
}

// String renders the rule as "policy.csv:LINE: ROW", the form editors and reviewers jump to.
func (r Rule) String() string {
	if r.Line == 0 {
		return r.Text
	}
	return fmt.Sprintf("%s:%d: %s", PolicyFile, r.Line, r.Text)
}

func (s sourceRow) rule() Rule {
	return Rule{Line: s.line, Text: s.ptype + ", " + strings.Join(s.fields, ", ")}
}

// find returns the first row of type ptype whose fields start with want ("" matches any field).
func (p *Policy) find(ptype string, want ...string) (sourceRow, bool) {
	for _, r := range p.source {
		if r.ptype != ptype || len(r.fields) < len(want) {
			continue
		}
		ok := true
		for i, w := range want {
			if w != "" && r.fields[i] != w {
				ok = false
				break
			}
		}
		if ok {
			return r, true
		}
	}
	return sourceRow{}, false
}

// lineage returns role and every base role it inherits from (g rows, transitively), role first.
func (p *Policy) lineage(role string) []string {
	out := []string{role}
	for i := 0; i < len(out); i++ {
		for _, r := range p.source {
			if r.ptype == "g" && len(r.fields) == 2 && r.fields[0] == out[i] && !slices.Contains(out, r.fields[1]) {
				out = append(out, r.fields[1])
			}
		}
	}
	return out
}

// ExplainBasis names the rule that gives roles the basis they get for category c under purpose, by the
// precedence Decide applies: a deny of any role held (or of a base role it inherits from), for the purpose
// or for every purpose; then a legal, then a consent grant of a role that may declare the purpose; else
// absence. A refused decision (a purpose none of the roles may declare, a forbidden combination) is
// explained by the p2 or p4 rows instead.
func (p *Policy) ExplainBasis(roles []string, purpose lindung.Purpose, c lindung.Category) Rule {
	if pair, ok := p.Conflict(roles); ok {
		return p.ExplainConflict(pair[0], pair[1])
	}
	if purpose == "" {
		if d, err := p.Decide(roles, purpose); err == nil {
			purpose = d.Purpose
		}
	}
	for _, r := range roles {
		for _, subject := range p.lineage(r) {
			for _, pur := range []string{string(purpose), everyPurpose} {
				if row, ok := p.find("p", subject, c.String(), pur, basisNames[Deny]); ok {
					return inherited(row, r, subject)
				}
			}
		}
	}
	var active []string
	for _, r := range roles {
		if ri := p.roles[r]; ri != nil && ri.allows(purpose) {
			active = append(active, r)
		}
	}
	if len(active) == 0 {
		return Rule{Text: fmt.Sprintf("no p2 row lets %s declare %s", strings.Join(roles, ", "), purpose)}
	}
	for _, b := range [...]Basis{Legal, Consent} {
		for _, r := range active {
			for _, subject := range p.lineage(r) {
				if row, ok := p.find("p", subject, c.String(), string(purpose), b.String()); ok {
					return inherited(row, r, subject)
				}
			}
		}
	}
	return Rule{Text: fmt.Sprintf("no p row grants %s to %s for %s (absence is deny)", c, strings.Join(active, ", "), purpose)}
}

// inherited notes the g link when a rule of a base role decided for role.
func inherited(row sourceRow, role, subject string) Rule {
	r := row.rule()
	if subject != role {
		r.Text += fmt.Sprintf(" (inherited: g, %s, %s)", role, subject)
	}
	return r
}

// ExplainScope names the p3 row that gives role its row scope.
func (p *Policy) ExplainScope(role string) Rule {
	if row, ok := p.find("p3", role, attrScope); ok {
		return row.rule()
	}
	return Rule{Text: fmt.Sprintf("no p3 scope row for %s", role)}
}

// ExplainAttr names the p3 row that sets a role attribute (training, limit), or says that none does.
func (p *Policy) ExplainAttr(role, attr string) Rule {
	if row, ok := p.find("p3", role, attr); ok {
		return row.rule()
	}
	return Rule{Text: fmt.Sprintf("no p3 %s row for %s", attr, role)}
}

// ExplainAction names the p3 row that lets role take action a, or says that none does.
func (p *Policy) ExplainAction(role string, a lindung.Action) Rule {
	if row, ok := p.find("p3", role, attrMay, string(a)); ok {
		return row.rule()
	}
	return Rule{Text: fmt.Sprintf("no p3 row lets %s %s", role, a)}
}

// ExplainPurpose names the p2 row that lets role declare purpose, or says that none does.
func (p *Policy) ExplainPurpose(role string, purpose lindung.Purpose) Rule {
	if row, ok := p.find("p2", role, string(purpose)); ok {
		return row.rule()
	}
	return Rule{Text: fmt.Sprintf("no p2 row lets %s declare %s", role, purpose)}
}

// ExplainConflict names the p4 row that forbids holding a and b together, in either order.
func (p *Policy) ExplainConflict(a, b string) Rule {
	if row, ok := p.find("p4", a, b); ok {
		return row.rule()
	}
	if row, ok := p.find("p4", b, a); ok {
		return row.rule()
	}
	return Rule{Text: fmt.Sprintf("no p4 row forbids %s with %s", a, b)}
}
