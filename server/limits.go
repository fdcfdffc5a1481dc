package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"

	"github.com/lindung/lindung"
)

// Limits bound what one GraphQL document may ask for. They are checked after the document is parsed and
// validated and before any database work, so a document over a limit costs a parse and nothing more.
// A zero field takes its value from DefaultLimits; a negative one turns that limit off.
type Limits struct {
	// MaxTokens caps the lexical tokens of the query text (names, punctuation, values, comments),
	// counted before parsing, so a huge document is refused without building its syntax tree.
	MaxTokens int
	// MaxDepth caps the nesting of fields, counted through fragments: `{ viewer { username } }` is 2.
	MaxDepth int
	// MaxAliases caps the aliased fields of the operation, each fragment counted as often as it is spread.
	MaxAliases int
	// MaxDirectives caps the directives of the operation, counted like aliases.
	MaxDirectives int
	// MaxCost caps the estimated work: every field costs 1, and a field's selection is multiplied by
	// its page size (the `first` or `limit` argument, or its default) or, for another list, by ListSize.
	MaxCost int
	// ListSize is the size the cost assumes for a list with no page-size argument.
	ListSize int
}

// DefaultLimits admit every query of the README, the test suite and GraphiQL with room to spare, and
// refuse the bombs. They start from GraphQL Armor's defaults (depth 6, aliases 15, directives 50, tokens
// 1000, cost 5000) and change two, measured on the queries the test suite sends:
//   - depth 10, because the schema's legitimate paths run deeper than 6: victims → edges → node → consents
//     → provisions → granteePartner → slug is 7, and the deepest query of the tests (a victim reached
//     through a family member's family member, with its consents) is 9;
//   - cost 100,000 in this hub's own units (see Limits.MaxCost, lists without a page size counted as 5):
//     a full page of 100 victims with every field and relation, the heaviest legitimate query of the
//     tests, costs about 50,000, and each further level of nested lists multiplies by 5 or more.
var DefaultLimits = Limits{MaxTokens: 1000, MaxDepth: 10, MaxAliases: 15, MaxDirectives: 50, MaxCost: 100000, ListSize: 5}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxTokens, DefaultLimits.MaxTokens)
	def(&l.MaxDepth, DefaultLimits.MaxDepth)
	def(&l.MaxAliases, DefaultLimits.MaxAliases)
	def(&l.MaxDirectives, DefaultLimits.MaxDirectives)
	def(&l.MaxCost, DefaultLimits.MaxCost)
	def(&l.ListSize, DefaultLimits.ListSize)
	return l
}

// EligibilityField is the field whose every occurrence in an operation, aliased or spread through
// fragments, is one employer eligibility check, taken from the employer's eligibility bucket: a hundred
// aliased checks in one request are a hundred checks.
const EligibilityField = "workPermitEligibility"

// requestGuard is the gqlgen extension that refuses, before any database work, what a request may not
// ask: documents over the limits, untrusted documents, introspection by callers who may not introspect,
// and eligibility checks over the employer's rate.
type requestGuard struct{ s *Server }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
} = requestGuard{}

// ExtensionName names the guard in gqlgen's stats.
func (requestGuard) ExtensionName() string { return "LindungRequestGuard" }

// Validate accepts every schema: the guard works by field names and argument names.
func (requestGuard) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters resolves a trusted document's hash to its text and counts the query's
// tokens, before gqlgen parses it.
func (g requestGuard) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if err := g.s.resolveDocument(ctx, p); err != nil {
		return err
	}
	if max := g.s.limits.MaxTokens; max > 0 {
		if n := countTokens(p.Query, max); n > max {
			return refusal(ctx, http.StatusBadRequest, limitError("tokens", max, "the query has more than %d tokens", max))
		}
	}
	return nil
}

// MutateOperationContext measures the validated operation and refuses it over a limit.
func (g requestGuard) MutateOperationContext(ctx context.Context, op *graphql.OperationContext) *gqlerror.Error {
	s := g.s
	c := callerFrom(ctx)
	m := measure(op.Doc, op.Operation, op.Variables, s.limits.ListSize)
	if m.introspection && c != nil && !s.mayReadSchema(c) {
		return refusal(ctx, http.StatusForbidden, lindung.Errorf(lindung.EFORBIDDEN,
			"introspection is only for the hub operator and the supergraph router; ask the operator for the schema"))
	}
	if m.nul || variablesHoldNUL(op.Variables) {
		// PostgreSQL text cannot hold U+0000: such a value would fail the request's transaction deep in
		// the store, so it is refused here, for every argument alike.
		return refusal(ctx, http.StatusBadRequest, lindung.Errorf(lindung.EINVALID,
			"text may not contain the NUL character (U+0000)"))
	}
	for _, l := range []struct {
		name  string
		value int64
		max   int
		what  string
	}{
		{"depth", int64(m.depth), s.limits.MaxDepth, "the operation nests fields %d deep; the limit is %d"},
		{"aliases", m.aliases, s.limits.MaxAliases, "the operation has %d aliases; the limit is %d"},
		{"directives", m.directives, s.limits.MaxDirectives, "the operation has %d directives; the limit is %d"},
		{"cost", m.cost, s.limits.MaxCost, "the operation's estimated cost is %d; the limit is %d (ask for smaller pages or fewer nested lists)"},
	} {
		if l.max > 0 && l.value > int64(l.max) {
			return refusal(ctx, http.StatusBadRequest, limitError(l.name, l.max, l.what, l.value, l.max))
		}
	}
	if n := m.fields[EligibilityField]; n > 0 && c != nil {
		if err := s.rates.takeEligibility(c.claims.Partner, n); err != nil {
			return refusal(ctx, httpStatus(err.Code), err)
		}
	}
	return nil
}

// limitError says which limit a request exceeded and what the limit is, so a partner's developer can
// change the request; the limit's name and value also go to extensions.limit and extensions.max.
func limitError(name string, max int, format string, args ...any) *lindung.Error {
	return &lindung.Error{Code: lindung.ELIMITEXCEEDED, Message: fmt.Sprintf(format, args...), Err: exceeded{name, max}}
}

// exceeded is the cause of a LIMIT_EXCEEDED error: which limit, and its value.
type exceeded struct {
	limit string
	max   int
}

func (e exceeded) Error() string { return fmt.Sprintf("%s limit %d exceeded", e.limit, e.max) }

// refusal turns an error into the gqlgen error that refuses the whole request, and sets the HTTP status
// the response goes out with.
func refusal(ctx context.Context, status int, err *lindung.Error) *gqlerror.Error {
	if c := callerFrom(ctx); c != nil {
		c.status.setStatus(status)
		if ra := retryAfter(err); ra > 0 {
			c.status.Header().Set("Retry-After", strconv.Itoa(ra))
		}
	}
	ext := map[string]any{"code": string(err.Code)}
	var x exceeded
	if errors.As(err, &x) {
		ext["limit"], ext["max"] = x.limit, x.max
	}
	return &gqlerror.Error{Message: err.Message, Err: err, Extensions: ext}
}

// countTokens counts the lexical tokens of a query up to max+1, so a huge document costs no more than
// the limit. A lexical error ends the count: the parser reports it.
func countTokens(query string, max int) int {
	lx := lexer.New(&ast.Source{Input: query})
	n := 0
	for n <= max {
		t, err := lx.ReadToken()
		if err != nil || t.Kind == lexer.EOF {
			break
		}
		n++
	}
	return n
}

// measurement is what an operation asks for, with every fragment counted as often as it is spread.
type measurement struct {
	depth         int
	aliases       int64
	directives    int64
	cost          int64
	introspection bool
	// nul says a string literal holds U+0000.
	nul bool
	// fields counts the occurrences of each field name.
	fields map[string]int64
}

// add folds the measurement of a selection or fragment into m.
func (m *measurement) add(o *measurement) {
	m.aliases = satAdd(m.aliases, o.aliases)
	m.directives = satAdd(m.directives, o.directives)
	m.cost = satAdd(m.cost, o.cost)
	m.introspection = m.introspection || o.introspection
	m.nul = m.nul || o.nul
	m.depth = max(m.depth, o.depth)
	for k, v := range o.fields {
		if m.fields == nil {
			m.fields = map[string]int64{}
		}
		m.fields[k] = satAdd(m.fields[k], v)
	}
}

// measure walks the operation. Each fragment is measured once per context and its measurement reused
// for every spread, so a document that spreads fragments exponentially often is measured in time linear
// in its size; sums saturate rather than overflow.
func measure(doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any, listSize int) measurement {
	w := &walker{doc: doc, vars: vars, listSize: int64(max(listSize, 1)), memo: map[fragmentKey]*measurement{}}
	m := w.selections(op.SelectionSet, false)
	m.directives = satAdd(m.directives, int64(len(op.Directives)))
	return *m
}

type walker struct {
	doc      *ast.QueryDocument
	vars     map[string]any
	listSize int64
	memo     map[fragmentKey]*measurement
}

// fragmentKey measures a fragment separately where it is spread directly under a paged field, whose page
// size already counts the list the fragment selects.
type fragmentKey struct {
	name  string
	paged bool
}

// selections measures a selection set; paged says its parent field's page size counts its lists.
func (w *walker) selections(set ast.SelectionSet, paged bool) *measurement {
	m := &measurement{}
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			m.add(w.field(sel, paged))
		case *ast.InlineFragment:
			m.directives = satAdd(m.directives, int64(len(sel.Directives)))
			m.add(w.selections(sel.SelectionSet, paged))
		case *ast.FragmentSpread:
			m.directives = satAdd(m.directives, int64(len(sel.Directives)))
			m.add(w.fragment(sel.Name, paged))
		}
	}
	return m
}

func (w *walker) fragment(name string, paged bool) *measurement {
	key := fragmentKey{name, paged}
	if m, ok := w.memo[key]; ok {
		return m
	}
	// Validation refuses fragment cycles before the guard runs; the empty entry only keeps a cycle
	// from recursing should one ever get through.
	w.memo[key] = &measurement{}
	def := w.doc.Fragments.ForName(name)
	if def == nil {
		return w.memo[key]
	}
	m := w.selections(def.SelectionSet, paged)
	m.directives = satAdd(m.directives, int64(len(def.Directives)))
	w.memo[key] = m
	return m
}

func (w *walker) field(f *ast.Field, paged bool) *measurement {
	if f.Name == "__schema" || f.Name == "__type" || f.Name == serviceField {
		// Introspection is allowed or refused as a whole (see MutateOperationContext), and gqlparser's
		// own rule bounds its depth; GraphiQL's introspection query nests deeper than any data query.
		// A subgraph's SDL (_service) is the whole schema too.
		return &measurement{depth: 1, cost: 1, introspection: true}
	}
	size, sized := w.pageSize(f)
	children := w.selections(f.SelectionSet, sized)
	m := &measurement{depth: children.depth + 1, directives: int64(len(f.Directives)),
		fields: map[string]int64{f.Name: 1}}
	for _, a := range f.Arguments {
		m.nul = m.nul || literalHoldsNUL(a.Value)
	}
	if f.Alias != "" && f.Alias != f.Name {
		m.aliases = 1
	}
	mult := int64(1)
	switch {
	case sized:
		mult = size
	case !paged && len(f.SelectionSet) > 0 && f.Definition != nil && f.Definition.Type.Elem != nil:
		mult = w.listSize
	}
	m.cost = satAdd(1, satMul(mult, children.cost))
	children.depth = 0
	children.cost = 0
	m.add(children)
	return m
}

// pageSize returns the page size a field asks for with a `first` or `limit` argument, or the
// argument's default. A negative or absent size counts as 1: the resolver refuses it anyway. For
// _entities it is the number of representations (see entitiesSize).
func (w *walker) pageSize(f *ast.Field) (int64, bool) {
	if f.Name == entitiesField {
		return w.entitiesSize(f), true
	}
	for _, name := range []string{"first", "limit"} {
		var v *ast.Value
		if a := f.Arguments.ForName(name); a != nil {
			v = a.Value
		} else if f.Definition != nil {
			if d := f.Definition.Arguments.ForName(name); d != nil {
				v = d.DefaultValue
			} else {
				continue
			}
		} else {
			continue
		}
		val, err := v.Value(w.vars)
		if err != nil {
			return 1, true
		}
		switch n := val.(type) {
		case int64:
			return max(n, 1), true
		case int:
			return max(int64(n), 1), true
		case json.Number:
			if i, err := n.Int64(); err == nil {
				return max(i, 1), true
			}
		}
		return 1, true
	}
	return 0, false
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// literalHoldsNUL reports whether a literal value, or any value nested in it, is a string holding U+0000.
func literalHoldsNUL(v *ast.Value) bool {
	if v == nil {
		return false
	}
	if (v.Kind == ast.StringValue || v.Kind == ast.BlockValue) && strings.ContainsRune(v.Raw, 0) {
		return true
	}
	for _, c := range v.Children {
		if literalHoldsNUL(c.Value) {
			return true
		}
	}
	return false
}

// variablesHoldNUL reports whether any string in the variables holds U+0000.
func variablesHoldNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case map[string]any:
		for _, x := range v {
			if variablesHoldNUL(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if variablesHoldNUL(x) {
				return true
			}
		}
	}
	return false
}
