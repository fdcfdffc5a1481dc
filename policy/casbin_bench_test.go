package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lindung/lindung"
)

// scaledPolicy returns the embedded policy with its rules repeated for n-1 copies of every role, so that
// Casbin has n times today's rules to scan. The copies are real roles (with purposes and a scope), so the
// policy still passes its lint.
func scaledPolicy(tb testing.TB, n int) *Policy {
	tb.Helper()
	var extra strings.Builder
	for i := 1; i < n; i++ {
		for _, line := range strings.Split(embeddedPolicy, "\n") {
			f := strings.Split(line, ",")
			if len(f) < 3 || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			switch strings.TrimSpace(f[0]) {
			case "p", "p2", "p3", "g":
				f[1] = fmt.Sprintf(" %s_copy%d", strings.TrimSpace(f[1]), i)
				if strings.TrimSpace(f[0]) == "g" {
					continue // a copy inherits nothing: its rules are spelled out below
				}
				extra.WriteString(strings.Join(f, ",") + "\n")
			}
		}
	}
	// Copies of roles that inherit from caseworker_base get the base's rules under their own name.
	for i := 1; i < n; i++ {
		for _, line := range strings.Split(embeddedPolicy, "\n") {
			f := strings.Split(line, ",")
			if len(f) == 5 && strings.TrimSpace(f[0]) == "p" && strings.TrimSpace(f[1]) == "caseworker_base" {
				for _, heir := range []string{"protection_officer", "ngo_caseworker"} {
					f[1] = fmt.Sprintf(" %s_copy%d", heir, i)
					extra.WriteString(strings.Join(f, ",") + "\n")
				}
			}
		}
	}
	p, err := newPolicy(embeddedModel, embeddedPolicy+"\n"+extra.String())
	if err != nil {
		tb.Fatal(err)
	}
	if problems := p.Check(); len(problems) > 0 && n == 1 {
		tb.Fatalf("policy: %v", problems)
	}
	return p
}

// BenchmarkCasbin measures the project's own model at today's rule count and at ten times as many: one
// Casbin question uncached, for an allow and for a deny (the worst case, which scans every rule); a whole
// decision compiled (what the first request of a (roles, purpose) pays); and a cached decision (what
// every later request pays).
func BenchmarkCasbin(b *testing.B) {
	for _, n := range []int{1, 10} {
		p := scaledPolicy(b, n)
		all, err := p.enf.GetPolicy()
		if err != nil {
			b.Fatal(err)
		}
		rules := len(all)
		b.Run(fmt.Sprintf("rules=%d/enforce-allow", rules), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := p.enforce("protection_officer", lindung.Identity, lindung.PurposeCaseManagement, Legal); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run(fmt.Sprintf("rules=%d/enforce-deny", rules), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := p.enforce("employer_hr", lindung.Health, lindung.PurposeEmploymentCheck, Legal); err != nil || ok {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run(fmt.Sprintf("rules=%d/decision-uncached", rules), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.compile([]string{"protection_officer"}, lindung.PurposeCaseManagement); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("rules=%d/decision-cached", rules), func(b *testing.B) {
			roles := []string{"protection_officer"}
			p.Decide(roles, lindung.PurposeCaseManagement)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Decide(roles, lindung.PurposeCaseManagement); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
