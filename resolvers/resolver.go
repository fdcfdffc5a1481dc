// Package resolvers serves the GraphQL schema. Resolvers are thin: they read the request's state from the
// context, load through the request's dataloaders, and leave every decision to the policy's Decision and
// every statement to the store's Session. The field guard (guard.go) masks victim data field by field.
package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/disclosure"
	"github.com/lindung/lindung/graph"
)

// MaxPageSize is the largest page a listing returns; asking for more is an INVALID error, not a silent cut.
const MaxPageSize = 100

// DefaultPageSize is the page size when first is not given.
const DefaultPageSize = 20

// Resolver is the root of the resolvers. It holds nothing per request: that lives in Request.
type Resolver struct {
	// OrderLimits bound the protection orders recorded; the zero value means lindung.DefaultOrderLimits.
	OrderLimits lindung.OrderLimits
	// StatisticsControl is the statistics API's disclosure control; the zero value means disclosure.DefaultK.
	StatisticsControl disclosure.Options
	// MaxRepresentations bounds the representations of one entity type that one _entities call resolves;
	// past it each further one is null with one LIMIT_EXCEEDED error (0 means DefaultMaxRepresentations).
	MaxRepresentations int
	// RunningPolicy is the version of the policy the hub runs with, for policyVersions' current.
	RunningPolicy string
}

// NewExecutableSchema returns the schema with its resolvers and the field guard's directives, with the
// default order limits.
func NewExecutableSchema() graphql.ExecutableSchema { return NewConfiguredSchema(Resolver{}) }

// NewConfiguredSchema returns the schema served by the resolver r (its order limits and disclosure
// control), guarded like
// NewExecutableSchema's.
func NewConfiguredSchema(r Resolver) graphql.ExecutableSchema {
	return graph.NewExecutableSchema(graph.Config{
		Resolvers: &r,
		Directives: graph.DirectiveRoot{
			Sensitive:    sensitive,
			Pseudonymous: pseudonymous,
		},
	})
}

// NewUnguardedSchema returns the schema with directives that resolve every field without a check. It
// exists only as the baseline of the policy-overhead benchmark; serving it would disclose everything in
// the caller's row scope, unaudited.
func NewUnguardedSchema() graphql.ExecutableSchema {
	pass := func(ctx context.Context, obj any, next graphql.Resolver) (any, error) { return next(ctx) }
	return graph.NewExecutableSchema(graph.Config{
		Resolvers: &Resolver{},
		Directives: graph.DirectiveRoot{
			Sensitive: func(ctx context.Context, obj any, next graphql.Resolver, _ lindung.Category) (any, error) {
				return next(ctx)
			},
			Pseudonymous: pass,
		},
	})
}
