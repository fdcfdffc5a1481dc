package policy

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/lindung/lindung"
)

// matrixMarks are the matrix's cells, one letter each so that a role's purposes fit a terminal.
var matrixMarks = [...]string{Deny: "-", Legal: "L", Consent: "C"}

// emergencyMarks are the matrix's cells of the EMERGENCY row, by the need a grant of the category has.
var emergencyMarks = map[string]string{viewNever: "-", "review": "R", "approve": "A", "approve_other_partner": "O"}

// WriteMatrix prints the effective policy — after inheritance and precedence, as Decide compiles it — one
// block per role: its row scope, training and referral limits, and for each purpose it may declare (the
// default marked *) a row of categories marked L (legal), C (with consent) or - (never). Reviewers read
// this rather than policy.csv, because it is what callers actually get.
func (p *Policy) WriteMatrix(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "policy %s    L legal basis, C with consent, - never, * default purpose;\n"+
		"EMERGENCY: R opened with review afterwards, A with a second user's approval, O with another partner's\n", p.version)
	header := []string{"", "purpose"}
	for _, c := range lindung.Categories() {
		header = append(header, c.String())
	}
	for _, name := range p.names {
		r := p.roles[name]
		training, limit := "not required", "no"
		if r.training {
			training = "required"
		}
		if r.referral {
			limit = "yes"
		}
		may := "nothing else"
		if len(r.actions) > 0 {
			names := make([]string, len(r.actions))
			for i, a := range r.actions {
				names[i] = string(a)
			}
			may = strings.Join(names, ", ")
		}
		emergency := ""
		if m := p.emergencyMax(name); m != "" {
			emergency = ", emergency grants at most " + m
		}
		fmt.Fprintf(tw, "\n%s    scope %s, training %s, limited to referrals %s%s, may %s\n", name, r.scope(), training, limit, emergency, may)
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for _, pur := range r.purposes {
			label := string(pur)
			if len(r.defaults) > 0 && r.defaults[0] == pur {
				label += "*"
			}
			cells := []string{"", label}
			if pur == lindung.PurposeEmergency {
				ec := p.emergencyCells(name)
				for _, c := range lindung.Categories() {
					cells = append(cells, emergencyMarks[ec[c.String()]])
				}
				fmt.Fprintln(tw, strings.Join(cells, "\t"))
				continue
			}
			d, err := p.Decide([]string{name}, pur)
			for _, c := range lindung.Categories() {
				switch {
				case err != nil:
					cells = append(cells, "?")
				default:
					cells = append(cells, matrixMarks[d.Basis(c)])
				}
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
	}
	if len(p.conflicts) > 0 {
		fmt.Fprintln(tw, "\nnever held together (separation of duties):")
		for _, c := range p.conflicts {
			fmt.Fprintf(tw, "  %s + %s\n", c[0], c[1])
		}
	}
	tw.Flush()
}
