package server

import (
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/lindung/lindung"
)

// Lindung is an Apollo Federation v2 subgraph (docs/federation.md). A router composes the supergraph from
// the hub's SDL (Query._service) and resolves references from other agencies' subgraphs through
// Query._entities, forwarding each caller's bearer token and X-Lindung-Purpose header. The hub has no
// special case for a router: a request without a token is refused before GraphQL (401), and _entities
// resolves through the caller's own request (scope, masks, audit), so that a router, or anyone calling
// _entities directly, gets nothing a caller could not get from Query.victim.

// The federation's root fields, as the request guard sees them.
const (
	serviceField  = "_service"
	entitiesField = "_entities"
)

// mayReadSchema reports whether the caller may read the schema: introspection, and the subgraph SDL
// (_service { sdl }) a supergraph is composed from. The SDL is the whole schema, so it follows the same rule:
// every caller of a demo hub (GraphiQL's docs), otherwise only roles granted read_schema (the hub
// operator, and the supergraph router's service account).
func (s *Server) mayReadSchema(c *caller) bool {
	return s.cfg.Demo || (c != nil && c.decision.May(lindung.ActionReadSchema))
}

// entitiesSize returns how many representations an _entities field asks to resolve, from its literal list
// or its variable, so that its cost is that of a page of as many records. A size that cannot be read counts
// as 1: gqlgen's validation or the resolver refuses such an argument anyway.
func (w *walker) entitiesSize(f *ast.Field) int64 {
	a := f.Arguments.ForName("representations")
	if a == nil || a.Value == nil {
		return 1
	}
	v, err := a.Value.Value(w.vars)
	if err != nil {
		return 1
	}
	if list, ok := v.([]any); ok {
		return max(int64(len(list)), 1)
	}
	return 1
}
