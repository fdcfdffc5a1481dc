package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/graph/model"
)

// Entities reached through Query._entities (a federated router resolving references from other agencies'
// subgraphs) are served exactly like the root fields that reach the same records: the caller is the
// request's viewer (the router forwards the caller's token and purpose), only the key of a representation
// is read (gqlgen's federation code unmarshals nothing else, so forged fields such as a legalName or a
// partnerId never reach a resolver), rows come from the same scoped store methods, and every field of a
// victim passes the same guard and lands in the same audit. A reference outside the scope is null, like
// one that names nothing.
//
// A router sends every representation of a query in one _entities call, however many there are, so a
// batch is served whole: its size is bounded by the cost limit (each representation costs what a
// victim(id) with the same selection costs, see server/limits.go) and, past that, by MaxRepresentations
// per entity type, beyond which each further representation is null rather than the whole call refused.
// Rows are read in chunks of entityChunk, so the SQL statements of a batch grow with its size divided by
// the chunk, never with the size itself, and no statement carries an unbounded array.

// DefaultMaxRepresentations is the default of Resolver.MaxRepresentations: above the largest batch a
// supergraph query is expected to join (the federation test joins 2,000 cases), below what would hold a
// database connection for long.
const DefaultMaxRepresentations = 5000

// entityChunk is how many representations are read from the database in one round trip.
const entityChunk = 500

// maxRepresentations returns the configured bound on the representations of one type in one call.
func (r *Resolver) maxRepresentations() int {
	if r.MaxRepresentations > 0 {
		return r.MaxRepresentations
	}
	return DefaultMaxRepresentations
}

// resolveEntities resolves the keys of one entity type's representations with load, chunk by chunk,
// aligned to keys (nil where a record is missing or out of scope). Keys past the configured maximum are
// not read: they resolve to null, and one error says why, so that a gateway shows one clear error rather
// than one per entity and field.
func resolveEntities[V any](ctx context.Context, r *Resolver, keys []string,
	load func(ctx context.Context, keys []string) ([]V, error)) ([]V, error) {
	if _, err := request(ctx); err != nil {
		return nil, err
	}
	served := min(len(keys), r.maxRepresentations())
	out := make([]V, len(keys))
	for start := 0; start < served; start += entityChunk {
		end := min(start+entityChunk, served)
		vs, err := load(ctx, keys[start:end])
		if err != nil {
			return nil, err
		}
		copy(out[start:end], vs)
	}
	if served == len(keys) {
		return out, nil
	}
	// The error is the call's, at _entities, not the first left-out entity's: a gateway spreads an error at
	// _entities[i] over every field it wanted of entity i, and one at _entities once.
	graphql.AddError(ctx, lindung.Errorf(lindung.ELIMITEXCEEDED,
		"%d representations of one type in one _entities call; the first %d were resolved, the other %d are null (split the batch)",
		len(keys), served, len(keys)-served))
	return out, nil
}

// withheldFields lists the fields of the record being resolved (its type's every @sensitive field, asked
// for or not) whose category the request's mask withholds for the record's victim, with the reason, in
// schema order: the reasons extensions.withheld gives, inside data, where they survive a gateway. It says
// what the policy decides for this caller and victim, never whether a withheld field holds a value, and
// reads nothing from the database.
func withheldFields(ctx context.Context, o *lindung.Owned) ([]*model.WithheldField, error) {
	req, err := request(ctx)
	if err != nil {
		return nil, err
	}
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.ObjectDefinition == nil {
		return nil, lindung.Internal(nil, "withheld outside a field")
	}
	mask := req.Decision.Mask(o)
	out := []*model.WithheldField{}
	for _, f := range fc.Field.ObjectDefinition.Fields {
		if cat, guarded := fieldCategory(f); guarded && !mask.Has(cat) {
			out = append(out, &model.WithheldField{Field: f.Name, Reason: req.Decision.Reason(cat), Category: cat})
		}
	}
	return out, nil
}
