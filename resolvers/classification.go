package resolvers

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// CheckClassification enforces "the schema is the classification", for every type and field that can
// carry victim-derived data, not only for victims' own records:
//
//   - every object type says what it holds: @victimOwned (one victim's record), @victimDerived (derived
//     from victims' records: statistics, a disclosure report, a page of victims) or @noVictimData;
//   - every field of a @victimOwned type carries @sensitive(category: …) or @pseudonymous, no sensitive
//     field is non-null (a withheld non-null field would null its parent), and @sensitive appears only on
//     victim-owned types, whose records carry the victim's mask;
//   - every field that returns victim-owned records (of any type, through lists, unions or interfaces),
//     root lists and mutation payloads included, carries @records, the record guard;
//   - a @victimDerived type is reached only from a root field or from another @victimDerived type, so
//     that it never escapes the root field that guards it;
//   - @aggregate appears only on a nullable Int of a @noVictimData type: a count the guard may withhold.
//
// Root types (Query, Mutation) are checked for their fields. The server refuses to start on a schema that
// fails, so a new field or resolver that returns victim data without a guard fails start-up, and CI.
// The federation's types and fields that gqlgen generates (Query._entities, Entity) carry no directive and
// resolve victims through the record guard in their resolver (entity.resolvers.go); they are the one
// exception.
func CheckClassification(s *ast.Schema) error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	roots := map[string]bool{}
	for _, r := range []*ast.Definition{s.Query, s.Mutation, s.Subscription} {
		if r != nil {
			roots[r.Name] = true
		}
	}
	kind := func(name string) string {
		t := s.Types[name]
		if t == nil {
			return ""
		}
		for _, k := range []string{"victimOwned", "victimDerived", "noVictimData"} {
			if t.Directives.ForName(k) != nil {
				return k
			}
		}
		return ""
	}
	// carriesRecords reports whether a value of the named type may be a victim-owned record.
	carriesRecords := func(name string) bool {
		t := s.Types[name]
		if t == nil {
			return false
		}
		switch t.Kind {
		case ast.Object:
			return kind(name) == "victimOwned"
		case ast.Union, ast.Interface:
			for _, p := range s.PossibleTypes[name] {
				if kind(p.Name) == "victimOwned" {
					return true
				}
			}
		}
		return false
	}
	for _, t := range s.Types {
		if t.Kind != ast.Object || strings.HasPrefix(t.Name, "__") || strings.HasPrefix(t.Name, "_") || generated(t.Position) {
			continue
		}
		k := kind(t.Name)
		n := 0
		for _, d := range []string{"victimOwned", "victimDerived", "noVictimData"} {
			if t.Directives.ForName(d) != nil {
				n++
			}
		}
		if !roots[t.Name] && n != 1 {
			add("%s must say what it holds: exactly one of @victimOwned, @victimDerived(guard: …), @noVictimData", t.Name)
		}
		owned := k == "victimOwned"
		for _, f := range t.Fields {
			if strings.HasPrefix(f.Name, "__") || generated(f.Position) {
				continue
			}
			sensitive := f.Directives.ForName("sensitive") != nil
			pseudonymous := f.Directives.ForName("pseudonymous") != nil
			guarded := f.Directives.ForName("records") != nil
			aggregate := f.Directives.ForName("aggregate") != nil
			switch {
			case owned && !sensitive && !pseudonymous:
				add("%s.%s has no data category: add @sensitive(category: …) or @pseudonymous", t.Name, f.Name)
			case sensitive && f.Type.NonNull:
				add("%s.%s is sensitive but non-null: a withheld value would null its parent", t.Name, f.Name)
			case (sensitive || pseudonymous) && !owned:
				add("%s.%s is classified but %s is not @victimOwned", t.Name, f.Name, t.Name)
			}
			target := f.Type.Name()
			switch {
			case carriesRecords(target) && !guarded:
				add("%s.%s returns victim-owned %s without the record guard: add @records", t.Name, f.Name, target)
			case guarded && !carriesRecords(target):
				add("%s.%s carries @records but returns no victim-owned record", t.Name, f.Name)
			}
			if kind(target) == "victimDerived" && !roots[t.Name] && k != "victimDerived" {
				add("%s.%s reaches the victim-derived %s from outside its guarded root field", t.Name, f.Name, target)
			}
			if aggregate && (k != "noVictimData" || f.Type.NonNull || f.Type.NamedType != "Int") {
				add("%s.%s: @aggregate guards a nullable Int of a @noVictimData type", t.Name, f.Name)
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return errors.New("schema classification: " + strings.Join(problems, "; "))
}

// generated reports whether a definition comes from gqlgen's own sources (the federation's), not schema/.
func generated(p *ast.Position) bool { return p != nil && p.Src != nil && p.Src.BuiltIn }
