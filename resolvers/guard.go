package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/lindung/lindung"
)

// sensitive is the field guard, run for every field marked @sensitive. It resolves the field only when
// the policy's mask for the record's victim holds the field's category; otherwise the field is null, its
// resolver is never called (so its data is never fetched), and the path is recorded with the reason.
// A record that does not say which victim it belongs to is refused: fail closed.
func sensitive(ctx context.Context, obj any, next graphql.Resolver, category lindung.Category) (any, error) {
	req, err := request(ctx)
	if err != nil {
		return nil, err
	}
	owned, ok := obj.(lindung.VictimOwned)
	if !ok {
		return nil, lindung.Internal(nil, "guarded field on a record without an owner")
	}
	o := owned.Owner()
	if req.Decision.Mask(o).Has(category) {
		req.disclose(o.VictimID, 1<<category)
		return next(ctx)
	}
	path := graphql.GetFieldContext(ctx).Path().String()
	req.withhold(o.VictimID, category, req.Decision.Reason(category), path)
	return nil, nil
}

// pseudonymous serves a record's reference fields, which are disclosed whenever the record is in scope,
// and counts the record's victim as disclosed to, for the audit.
func pseudonymous(ctx context.Context, obj any, next graphql.Resolver) (any, error) {
	req, err := request(ctx)
	if err != nil {
		return nil, err
	}
	owned, ok := obj.(lindung.VictimOwned)
	if !ok {
		return nil, lindung.Internal(nil, "reference field on a record without an owner")
	}
	req.disclose(owned.Owner().VictimID, 0)
	return next(ctx)
}
