package resolvers

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/lindung/lindung"
)

// Prefetching makes batching exact. A dataloader batches the loads that arrive within its wait, which on a
// busy machine may split one level of a response into several batches. So a resolver that returns a list
// of records looks ahead at the selection (through aliases, fragments and @include/@skip, as gqlgen
// collects it) and loads every relation requested, for all the records at once, level by level; the field
// resolvers then find their data in the loaders' caches. Round trips per request depend on the shape of
// the query, never on the number of rows.
//
// A relation is prefetched only for the records whose mask discloses the field's category: data the guard
// would withhold is not read at all.

// prefetcher walks one selection tree.
type prefetcher struct {
	ctx context.Context
	op  *graphql.OperationContext
	req *Request
}

func newPrefetcher(ctx context.Context) (*prefetcher, bool) {
	req := RequestFrom(ctx)
	if req == nil || req.Loaders == nil || !graphql.HasOperationContext(ctx) {
		return nil, false
	}
	return &prefetcher{ctx: ctx, op: graphql.GetOperationContext(ctx), req: req}, true
}

// fieldsByName collects the selection for typeName and merges fields requested under several aliases.
func (p *prefetcher) fieldsByName(sel ast.SelectionSet, typeName string) map[string]*mergedField {
	out := map[string]*mergedField{}
	for _, f := range graphql.CollectFields(p.op, sel, []string{typeName}) {
		m := out[f.Name]
		if m == nil {
			m = &mergedField{def: f.Definition}
			out[f.Name] = m
		}
		m.sel = append(m.sel, f.Selections...)
	}
	return out
}

type mergedField struct {
	def *ast.FieldDefinition
	sel ast.SelectionSet
}

// allowed returns the ids of the records whose mask discloses the field's category.
func (p *prefetcher) allowed(f *mergedField, owners []*lindung.Owned) []string {
	cat, guarded := fieldCategory(f.def)
	ids := make([]string, 0, len(owners))
	seen := make(map[string]bool, len(owners))
	for _, o := range owners {
		if seen[o.VictimID] || (guarded && !p.req.Decision.Mask(o).Has(cat)) {
			continue
		}
		seen[o.VictimID] = true
		ids = append(ids, o.VictimID)
	}
	return ids
}

// fetch reads keys through l in one statement, now (loader.read). An error is not the prefetch's to
// report: it is cached, and each field that needs the record meets it when its resolver loads.
func fetch[V any](ctx context.Context, l *loader[V], keys []string) []V {
	if len(keys) == 0 {
		return nil
	}
	values, _ := l.read(ctx, keys)
	return values
}

// selection returns the selection set of the field being resolved, or, following path, of a field
// nested in it (e.g. "edges", "node" for a connection).
func (p *prefetcher) selection(typeNames []string, path ...string) ast.SelectionSet {
	sel := graphql.GetFieldContext(p.ctx).Field.Selections
	for i, name := range path {
		f := p.fieldsByName(sel, typeNames[i])[name]
		if f == nil {
			return nil
		}
		sel = f.sel
	}
	return sel
}

// prefetchVictims primes the victim loader with vs and prefetches what the current field selects on
// them, following path from the current field to the victims.
func prefetchVictims(ctx context.Context, vs []*lindung.Victim, typeNames []string, path ...string) {
	p, ok := newPrefetcher(ctx)
	if !ok {
		return
	}
	for _, v := range vs {
		p.req.Loaders.Victim.Prime(ctx, v.ID, v)
	}
	p.Victims(vs, p.selection(typeNames, path...))
}

// prefetchShelters prefetches what the current field selects on shelters.
func prefetchShelters(ctx context.Context, shs []*lindung.Shelter) {
	if p, ok := newPrefetcher(ctx); ok {
		p.Shelters(shs, p.selection(nil))
	}
}

// prefetchReferrals prefetches what the current field selects on referrals.
func prefetchReferrals(ctx context.Context, rs []*lindung.Referral) {
	if p, ok := newPrefetcher(ctx); ok {
		p.Referrals(rs, p.selection(nil))
	}
}

// Victims prefetches the relations selected on victims.
func (p *prefetcher) Victims(vs []*lindung.Victim, sel ast.SelectionSet) {
	if len(vs) == 0 {
		return
	}
	owners := make([]*lindung.Owned, len(vs))
	for i, v := range vs {
		owners[i] = &v.Owned
	}
	l := p.req.Loaders
	fields := p.fieldsByName(sel, "Victim")
	if f := fields["placements"]; f != nil {
		p.Placements(flatten(fetch(p.ctx, l.Placements, p.allowed(f, owners))), f.sel)
	}
	if f := fields["currentShelter"]; f != nil {
		var shelterIDs []string
		for _, ps := range fetch(p.ctx, l.Placements, p.allowed(f, owners)) {
			for _, pl := range ps {
				if pl.ToDate == nil {
					shelterIDs = append(shelterIDs, pl.ShelterID)
				}
			}
		}
		p.Shelters(nonNil(fetch(p.ctx, l.Shelter, shelterIDs)), f.sel)
	}
	if f := fields["protectionOrders"]; f != nil {
		fetch(p.ctx, l.Orders, p.allowed(f, owners))
	}
	if f := fields["services"]; f != nil {
		p.ServiceRecords(flatten(fetch(p.ctx, l.ServiceRecords, p.allowed(f, owners))), f.sel)
	}
	if f := fields["referrals"]; f != nil {
		p.Referrals(flatten(fetch(p.ctx, l.Referrals, p.allowed(f, owners))), f.sel)
	}
	if f := fields["consents"]; f != nil {
		p.Consents(flatten(fetch(p.ctx, l.Consents, p.allowed(f, owners))), f.sel)
	}
	if f := fields["family"]; f != nil {
		p.Family(flatten(fetch(p.ctx, l.Family, p.allowed(f, owners))), f.sel)
	}
	if f := fields["workEligibility"]; f != nil {
		fetch(p.ctx, l.WorkEligibility, p.allowed(f, owners))
	}
	if f := fields["familyContacts"]; f != nil {
		p.FamilyContacts(flatten(fetch(p.ctx, l.FamilyContacts, p.allowed(f, owners))), f.sel)
	}
}

// FamilyContacts prefetches the partners named in family-communication log entries.
func (p *prefetcher) FamilyContacts(fs []*lindung.FamilyContact, sel ast.SelectionSet) {
	fields := p.fieldsByName(sel, "FamilyContact")
	if len(fs) == 0 || (fields["interpreter"] == nil && fields["recordedBy"] == nil) {
		return
	}
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.RecordedByPartnerID)
		if f.InterpreterPartnerID != nil {
			ids = append(ids, *f.InterpreterPartnerID)
		}
	}
	fetch(p.ctx, p.req.Loaders.Partner, ids)
}

// Shelters prefetches the relations selected on shelters.
func (p *prefetcher) Shelters(shs []*lindung.Shelter, sel ast.SelectionSet) {
	if len(shs) == 0 {
		return
	}
	l := p.req.Loaders
	fields := p.fieldsByName(sel, "Shelter")
	if f := fields["operator"]; f != nil {
		ids := make([]string, len(shs))
		for i, s := range shs {
			ids[i] = s.OperatorPartnerID
		}
		fetch(p.ctx, l.Partner, ids)
	}
	if f := fields["residents"]; f != nil {
		ids := make([]string, len(shs))
		for i, s := range shs {
			ids[i] = s.ID
		}
		var victimIDs []string
		for _, r := range fetch(p.ctx, l.Residents, ids) {
			victimIDs = append(victimIDs, r...)
		}
		p.Victims(nonNil(fetch(p.ctx, l.Victim, victimIDs)), f.sel)
	}
}

// Placements prefetches the shelters of placements.
func (p *prefetcher) Placements(ps []*lindung.Placement, sel ast.SelectionSet) {
	if f := p.fieldsByName(sel, "Placement")["shelter"]; f != nil && len(ps) > 0 {
		var ids []string
		for _, pl := range ps {
			if p.req.Decision.Mask(&pl.Owned).Has(lindung.Location) {
				ids = append(ids, pl.ShelterID)
			}
		}
		p.Shelters(nonNil(fetch(p.ctx, p.req.Loaders.Shelter, ids)), f.sel)
	}
}

// ServiceRecords prefetches the providers of service records.
func (p *prefetcher) ServiceRecords(rs []*lindung.ServiceRecord, sel ast.SelectionSet) {
	if f := p.fieldsByName(sel, "ServiceRecord")["provider"]; f != nil && len(rs) > 0 {
		ids := make([]string, len(rs))
		for i, r := range rs {
			ids[i] = r.ProviderPartnerID
		}
		fetch(p.ctx, p.req.Loaders.Partner, ids)
	}
}

// Referrals prefetches the partners and victims of referrals.
func (p *prefetcher) Referrals(rs []*lindung.Referral, sel ast.SelectionSet) {
	if len(rs) == 0 {
		return
	}
	fields := p.fieldsByName(sel, "Referral")
	if fields["from"] != nil || fields["to"] != nil {
		var partnerIDs []string
		for _, r := range rs {
			partnerIDs = append(partnerIDs, r.FromPartnerID, r.ToPartnerID)
		}
		fetch(p.ctx, p.req.Loaders.Partner, partnerIDs)
	}
	if f := fields["victim"]; f != nil {
		ids := make([]string, len(rs))
		for i, r := range rs {
			ids[i] = r.VictimID
		}
		p.Victims(nonNil(fetch(p.ctx, p.req.Loaders.Victim, ids)), f.sel)
	}
}

// Consents prefetches the partners named in consents.
func (p *prefetcher) Consents(cs []*lindung.Consent, sel ast.SelectionSet) {
	if len(cs) == 0 {
		return
	}
	var ids []string
	if p.fieldsByName(sel, "Consent")["interpreter"] != nil {
		for _, c := range cs {
			if c.InterpreterPartnerID != nil {
				ids = append(ids, *c.InterpreterPartnerID)
			}
		}
	}
	if f := p.fieldsByName(sel, "Consent")["provisions"]; f != nil && p.fieldsByName(f.sel, "ConsentProvision")["granteePartner"] != nil {
		for _, c := range cs {
			for _, pr := range c.Provisions {
				if pr.GranteePartnerID != nil {
					ids = append(ids, *pr.GranteePartnerID)
				}
			}
		}
	}
	fetch(p.ctx, p.req.Loaders.Partner, ids)
}

// Family prefetches the related victims of family links.
func (p *prefetcher) Family(fs []*lindung.FamilyLink, sel ast.SelectionSet) {
	if f := p.fieldsByName(sel, "FamilyMember")["victim"]; f != nil && len(fs) > 0 {
		ids := make([]string, len(fs))
		for i, l := range fs {
			ids[i] = l.RelatedVictimID
		}
		p.Victims(nonNil(fetch(p.ctx, p.req.Loaders.Victim, ids)), f.sel)
	}
}

func flatten[T any](groups [][]T) []T {
	var out []T
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func nonNil[T any](vs []*T) []*T {
	out := vs[:0:0]
	for _, v := range vs {
		if v != nil {
			out = append(out, v)
		}
	}
	return out
}

var fieldCategories sync.Map // *ast.FieldDefinition -> categoryOf

type categoryOf struct {
	category lindung.Category
	guarded  bool
}

// fieldCategory returns the category a field's @sensitive directive names, and whether it has one.
func fieldCategory(def *ast.FieldDefinition) (lindung.Category, bool) {
	if def == nil {
		return 0, false
	}
	if c, ok := fieldCategories.Load(def); ok {
		return c.(categoryOf).category, c.(categoryOf).guarded
	}
	var c categoryOf
	if d := def.Directives.ForName("sensitive"); d != nil {
		if arg := d.Arguments.ForName("category"); arg != nil && arg.Value != nil {
			if cat, err := lindung.ParseCategory(arg.Value.Raw); err == nil {
				c = categoryOf{category: cat, guarded: true}
			}
		}
	}
	fieldCategories.Store(def, c)
	return c.category, c.guarded
}
