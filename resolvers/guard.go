package resolvers

import (
	"context"
	"reflect"

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
		// The audit counts what was served: a field that resolves to null (no value recorded, or a
		// related record out of scope) discloses nothing of its category, though the record itself was
		// served, so its victim is counted.
		v, err := next(ctx)
		if err == nil {
			var served lindung.CategorySet
			if !isNil(v) {
				served = 1 << category
			}
			req.disclose(o.VictimID, served)
		}
		return v, err
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
	if !req.SeesRows() {
		// No path should lead such a request to a victim-owned record; should one ever, it is not there.
		return nil, lindung.ErrNotFound
	}
	req.disclose(owned.Owner().VictimID, 0)
	return next(ctx)
}

// isNil reports whether a resolved value is null in the response: nil, or a nil pointer, slice or map.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch r := reflect.ValueOf(v); r.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return r.IsNil()
	}
	return false
}

// residentsDisclosed keeps, of a shelter's residents, those whose location the request may see: listing a
// victim as a resident says where they are, so it is a disclosure of LOCATION, and audited as one.
func residentsDisclosed(ctx context.Context, vs []*lindung.Victim) ([]*lindung.Victim, error) {
	req, err := request(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*lindung.Victim, 0, len(vs))
	for _, v := range vs {
		if req.Decision.Mask(&v.Owned).Has(lindung.Location) {
			req.disclose(v.ID, lindung.SetOf(lindung.Location))
			out = append(out, v)
		}
	}
	return out, nil
}

// withServiceCategory keeps the records whose kind of service the request may see for their victim, and
// counts that category as disclosed: listing a HEALTH referral discloses that the victim receives health
// care. Records of other services are left out, as rows outside the scope are.
func withServiceCategory[T lindung.VictimOwned](ctx context.Context, records []T, code func(T) string) ([]T, error) {
	req, err := request(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(records))
	for _, r := range records {
		c := lindung.ServiceCategory(code(r))
		o := r.Owner()
		if req.Decision.Mask(o).Has(c) {
			req.disclose(o.VictimID, lindung.SetOf(c))
			out = append(out, r)
		}
	}
	return out, nil
}
