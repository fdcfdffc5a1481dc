package server

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/lindung/lindung"
)

// syntheticSchema has a list with a page size, lists without one and a field named like the eligibility
// check, so the measurement is tested apart from the hub's schema as it changes.
var syntheticSchema = gqlparser.MustLoadSchema(&ast.Source{Name: "synthetic", Input: `
type Query {
  items(first: Int = 20): ItemConnection!
  item(id: ID!): Item
  all: [Item!]!
  workPermitEligibility(code: String!): Boolean!
}
type ItemConnection { total: Int! edges: [Edge!]! }
type Edge { node: Item! }
type Item { id: ID! name: String tags: [String!]! children: [Item!]! parent: Item }
`})

func measured(t *testing.T, query string, vars map[string]any) measurement {
	t.Helper()
	doc, errs := gqlparser.LoadQueryWithRules(syntheticSchema, query, rules.NewDefaultRules())
	if errs != nil {
		t.Fatalf("%s: %v", query, errs)
	}
	return measure(doc, doc.Operations[0], vars, 5)
}

// TestMeasure: depth, aliases, directives and cost are counted through fragments, each spread counted
// once per spread, and page sizes come from arguments, variables or the schema's default.
func TestMeasure(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		query                     string
		vars                      map[string]any
		depth                     int
		aliases, directives, cost int64
	}{
		{"one field", `{ item(id: 1) { id } }`, nil, 2, 0, 0, 2},
		{"default page", `{ items { edges { node { id } } } }`, nil, 4, 0, 0, 1 + 20*3},
		{"page from a literal", `{ items(first: 3) { total edges { node { id name } } } }`, nil, 4, 0, 0, 1 + 3*(1+1+1+2)},
		{"page from a variable", `query($n: Int) { items(first: $n) { edges { node { id } } } }`, map[string]any{"n": int64(7)}, 4, 0, 0, 1 + 7*3},
		{"negative page counts as one", `{ items(first: -5) { total } }`, nil, 2, 0, 0, 2},
		{"list without a page size", `{ all { id children { id } } }`, nil, 3, 0, 0, 1 + 5*(1+1+5*1)},
		{"scalar list is a leaf", `{ all { tags } }`, nil, 2, 0, 0, 1 + 5*1},
		{"depth through fragments", `{ item(id: 1) { ...A } } fragment A on Item { parent { ...B } } fragment B on Item { parent { id } }`, nil, 4, 0, 0, 4},
		{"depth through inline fragments", `{ item(id: 1) { ... on Item { parent { ... { parent { id } } } } } }`, nil, 4, 0, 0, 4},
		{"aliases through fragments", `{ a: item(id: 1) { ...F } b: item(id: 2) { ...F } } fragment F on Item { x: id y: name }`, nil, 2, 6, 0, 6},
		{"directives everywhere", `{ item(id: 1) @include(if: true) { ...F @skip(if: false) ... @include(if: true) { id } } } fragment F on Item { name @skip(if: false) }`, nil, 2, 0, 4, 3},
		{"introspection is not measured", `{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }`, nil, 1, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := measured(t, tc.query, tc.vars)
			if m.depth != tc.depth || m.aliases != tc.aliases || m.directives != tc.directives || m.cost != tc.cost {
				t.Errorf("depth %d aliases %d directives %d cost %d, want %d %d %d %d",
					m.depth, m.aliases, m.directives, m.cost, tc.depth, tc.aliases, tc.directives, tc.cost)
			}
		})
	}
}

// TestMeasureFragmentExplosion: fragments that spread the next one twice, 60 deep, would expand to 2^60
// fields; the measurement reuses each fragment's and saturates instead of overflowing or hanging.
func TestMeasureFragmentExplosion(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{ ...F0 }`)
	for i := range 60 {
		next := "F" + strconv.Itoa(i+1)
		fmt.Fprintf(&b, " fragment F%d on Query { ...%s ... on Query { ...%s } }", i, next, next)
	}
	b.WriteString(" fragment F60 on Query { x: all { id } }")
	query := b.String()
	m := measured(t, query, nil)
	if m.cost < 1<<60 || m.aliases < 1<<59 {
		t.Errorf("cost %d aliases %d, want both saturated past 2^59", m.cost, m.aliases)
	}
}

// TestEligibilityCount: every occurrence of the eligibility field counts, aliased or spread.
func TestEligibilityCount(t *testing.T) {
	m := measured(t, `{ a: workPermitEligibility(code: "1") b: workPermitEligibility(code: "2") ...F ...G }
		fragment F on Query { c: workPermitEligibility(code: "3") ...G }
		fragment G on Query { workPermitEligibility(code: "4") }`, nil)
	if n := m.fields[EligibilityField]; n != 5 {
		t.Errorf("%d eligibility checks counted, want 5", n)
	}
}

// TestCountTokens: the count stops one past the limit, so a huge document costs no more than that.
func TestCountTokens(t *testing.T) {
	for _, tc := range []struct {
		query string
		max   int
		want  int
	}{
		{`{ viewer { username } }`, 100, 6},
		{`{ viewer { username } } # a comment`, 100, 7},
		{`{ a ` + strings.Repeat("b ", 10000) + `}`, 50, 51},
		{`{ "unterminated`, 100, 1},
	} {
		if got := countTokens(tc.query, tc.max); got != tc.want {
			t.Errorf("countTokens(%.30q, %d) = %d, want %d", tc.query, tc.max, got, tc.want)
		}
	}
}

// TestRateLimiter drives the buckets with a clock the test moves.
func TestRateLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := newRateLimiter(RateLimits{UserRate: 1, UserBurst: 2, PartnerRate: 10, PartnerBurst: 3, EligibilityRate: 0.5, EligibilityBurst: 4})
	r.now = func() time.Time { return now }
	for i := range 2 {
		if err := r.takeRequest("p", "u1"); err != nil {
			t.Fatalf("request %d refused: %v", i, err)
		}
	}
	err := r.takeRequest("p", "u1")
	if lindung.CodeOf(err) != lindung.ERATELIMITED || retryAfter(err) != 1 {
		t.Fatalf("third request: %v (retry after %d), want RATE_LIMITED after 1 s", err, retryAfter(err))
	}
	if err := r.takeRequest("p", "u2"); err != nil {
		t.Fatalf("another user refused: %v", err)
	}
	if err := r.takeRequest("p", "u3"); lindung.CodeOf(err) != lindung.ERATELIMITED {
		t.Fatalf("the partner's fourth request: %v, want RATE_LIMITED", err)
	}
	if err := r.takeRequest("q", "u1"); err != nil {
		t.Fatalf("another partner refused: %v", err)
	}
	now = now.Add(time.Second)
	if err := r.takeRequest("p", "u1"); err != nil {
		t.Fatalf("after a second: %v", err)
	}
	// Eligibility: more checks than the bucket holds is a limit; fewer wait for the refill.
	if err := r.takeEligibility("p", 5); lindung.CodeOf(err) != lindung.ELIMITEXCEEDED {
		t.Errorf("5 checks against a burst of 4: %v, want LIMIT_EXCEEDED", err)
	}
	if err := r.takeEligibility("p", 3); err != nil {
		t.Fatalf("3 checks: %v", err)
	}
	if err := r.takeEligibility("p", 3); lindung.CodeOf(err) != lindung.ERATELIMITED || retryAfter(err) != 4 {
		t.Errorf("3 more checks: %v (retry after %d), want RATE_LIMITED after 4 s", err, retryAfter(err))
	}
	// Idle buckets are forgotten once full again.
	now = now.Add(time.Hour)
	r.takeRequest("x", "y")
	if len(r.buckets) != 2 {
		t.Errorf("%d buckets after an idle hour, want only the 2 just used", len(r.buckets))
	}
	// A negative rate turns a bucket off.
	off := newRateLimiter(RateLimits{UserRate: -1, PartnerRate: -1, EligibilityRate: -1})
	for range 1000 {
		if err := off.takeRequest("p", "u"); err != nil {
			t.Fatal(err)
		}
	}
	if err := off.takeEligibility("p", 1000); err != nil {
		t.Fatal(err)
	}
}

// TestTrustedDocumentsCheckTheirHashes: a manifest whose key is not its document's hash is refused at start.
func TestTrustedDocumentsCheckTheirHashes(t *testing.T) {
	doc := `{ viewer { username } }`
	if _, err := NewTrustedDocuments(map[string]string{documentHash(doc): doc}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewTrustedDocuments(map[string]string{strings.ToUpper(documentHash(doc)): doc}); err != nil {
		t.Errorf("an upper-case hash: %v", err)
	}
	if _, err := NewTrustedDocuments(map[string]string{documentHash(doc + " "): doc}); err == nil {
		t.Error("a wrong hash was accepted")
	}
}
