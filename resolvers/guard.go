package resolvers

import (
	"context"
	"reflect"

	"github.com/99designs/gqlgen/graphql"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/disclosure"
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

// records is the record guard, run for every field that returns victim-owned records (@records): root
// lists, nested lists, filters and mutation payloads alike. It is the one place that decides whether a
// record is served at all, from the row scope and the mask that also guard its fields: a record is kept
// when its victim is in scope and the mask holds every category its existence reveals (Record.Reveals)
// and the category the path reveals (via). A record kept is audited with those categories. Another record
// is left out without a trace in the response, as a row out of scope is, since even its withheld path
// would say that it exists, with two exceptions that serve it detached from its victim (no victim, no
// guarded field, nothing reached through it): a mutation's payload, which the caller has just written,
// and a record addressed to the caller's partner (Addressed: a referral to its two partners) listed by a
// root field. Under a victim a record is never detached: listed there, it would tie the victim to it.
func records(ctx context.Context, obj any, next graphql.Resolver, via *lindung.Category) (any, error) {
	req, err := request(ctx)
	if err != nil {
		return nil, err
	}
	detach := detachAddressed
	if parent, nested := obj.(lindung.VictimOwned); nested {
		if !parent.Owner().InScope {
			return nil, nil
		}
		detach = detachNever
	} else if fc := graphql.GetFieldContext(ctx); fc != nil && fc.Object == "Mutation" {
		detach = detachAlways
	}
	v, err := next(ctx)
	if err != nil || isNil(v) {
		return v, err
	}
	var path lindung.CategorySet
	if via != nil {
		path = lindung.SetOf(*via)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		r, ok := v.(lindung.Record)
		if !ok {
			return nil, lindung.Internal(nil, "a record field returned a value that is not a record")
		}
		kept := req.admit(r, path, detach)
		if kept == nil {
			if nonNull(ctx) {
				return nil, lindung.ErrNotFound
			}
			return nil, nil
		}
		return kept, nil
	}
	// The list is copied only from its first record not served as it is: most lists are served whole.
	var out reflect.Value
	for i := 0; i < rv.Len(); i++ {
		e := rv.Index(i)
		r, ok := asRecord(e)
		if !ok {
			return nil, lindung.Internal(nil, "a record field returned a list of values that are not records")
		}
		kept := req.admit(r, path, detach)
		if kept == r && !out.IsValid() {
			continue
		}
		if !out.IsValid() {
			out = reflect.AppendSlice(reflect.MakeSlice(rv.Type(), 0, rv.Len()), rv.Slice(0, i))
		}
		switch {
		case kept == nil:
		case kept == r:
			out = reflect.Append(out, e)
		case e.Kind() == reflect.Pointer:
			out = reflect.Append(out, reflect.ValueOf(kept))
		}
	}
	if !out.IsValid() {
		return v, nil
	}
	return out.Interface(), nil
}

// asRecord returns the record held by a list element: a pointer to one, or one held by value (whose
// methods are on its pointer).
func asRecord(e reflect.Value) (lindung.Record, bool) {
	if e.Kind() != reflect.Pointer && e.CanAddr() {
		e = e.Addr()
	}
	r, ok := e.Interface().(lindung.Record)
	return r, ok && !isNil(r)
}

// nonNull reports whether the field being resolved is declared non-null.
func nonNull(ctx context.Context) bool {
	fc := graphql.GetFieldContext(ctx)
	return fc != nil && fc.Field.Definition != nil && fc.Field.Definition.Type.NonNull
}

// detachment says when admit may serve a record detached from its victim.
type detachment uint8

const (
	detachNever     detachment = iota // nested under a victim's record
	detachAddressed                   // a root list: records addressed to the caller's partner
	detachAlways                      // a mutation's payload: the record the caller has just written
)

// admit decides whether a record is served, and records what serving it discloses: the record itself,
// the record detached from its victim, or nil.
func (r *Request) admit(rec lindung.Record, path lindung.CategorySet, d detachment) lindung.Record {
	if !r.SeesRows() {
		return nil
	}
	o := rec.Owner()
	need := rec.Reveals() | path
	if o.InScope && r.Decision.Mask(o)&need == need {
		r.disclose(o.VictimID, need)
		return rec
	}
	a, addressed := rec.(lindung.Addressed)
	if d == detachAlways || d == detachAddressed && addressed && a.AddressedTo(r.Viewer.PartnerID) {
		// The caller learns that the record exists, nothing of the victim: audited as an access that
		// disclosed no category.
		if c := detached(rec); c != nil {
			r.disclose(o.VictimID, 0)
			return c
		}
	}
	return nil
}

// detached returns a copy of a record outside its victim's scope: the mask of an out-of-scope record is
// empty, so no guarded field is disclosed, and nothing is reached through it. The victim id stays, for
// the audit only.
func detached(rec lindung.Record) lindung.Record {
	v := reflect.ValueOf(rec)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	c := reflect.New(v.Elem().Type())
	c.Elem().Set(v.Elem())
	d, ok := c.Interface().(lindung.Record)
	if !ok {
		return nil
	}
	*d.Owner() = lindung.Owned{VictimID: rec.Owner().VictimID}
	return d
}

// aggregate guards a count over victims' records on a type that holds no victim data (@aggregate), such as a
// shelter's occupancy: polled around a placement, an exact count tells when someone arrived, and where. It
// is exact only for a request with case rows that sees the category on a legal basis (the protection
// officer placing victims), or whose roles hold exact_counts; it passes the statistics' disclosure control
// (counts from 1 to k-1 suppressed, the others rounded) for roles with see_statistics; it is null otherwise.
func (r *Resolver) aggregate(ctx context.Context, _ any, next graphql.Resolver, category lindung.Category) (any, error) {
	req, err := request(ctx)
	if err != nil {
		return nil, err
	}
	legal, _ := req.Decision.Grants()
	exact := req.SeesRows() && legal.Has(category) || req.Decision.May(lindung.ActionExactCounts)
	controlled := !exact && req.Decision.May(lindung.ActionSeeStatistics)
	if !exact && !controlled {
		return nil, nil
	}
	v, err := next(ctx)
	if err != nil || exact {
		return v, err
	}
	opt := r.statistics()
	control := func(n int) *int {
		if disclosure.Small(int64(n), opt) {
			return nil
		}
		c := int(disclosure.Round(int64(n), opt.Base))
		return &c
	}
	// The value keeps the type the field's resolver gave it (an int of a model field, or an *int).
	switch c := v.(type) {
	case int:
		if p := control(c); p != nil {
			return *p, nil
		}
		return nil, nil
	case *int:
		if c == nil {
			return nil, nil
		}
		return control(*c), nil
	}
	return nil, lindung.Internal(nil, "an aggregate field returned a value that is not a count")
}
