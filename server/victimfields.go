package server

import (
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// victimFields returns the name of every field of Victim that op can resolve, wherever it selects it: at
// any depth, through aliases, fragments, inline fragments and fields of an interface or union Victim is a
// member of, @skip and @include ignored (they can only narrow what is resolved). The store reads only
// the victim columns these fields serve (postgres.SessionRequest.VictimFields), and reads them for every
// victim of the request, by whatever path: the victim loader is primed by one path and read by another,
// so one set for the whole operation is what keeps a victim read for one field complete for every other.
//
// It returns nil, which reads every column, for anything but a query: a mutation's resolvers and care
// rules read victims for their own checks (age, gender) whatever the payload selects. It returns nil too
// for a document it cannot read as validated (a field without its parent type), so that any doubt
// reads everything.
func victimFields(schema *ast.Schema, op *graphql.OperationContext) map[string]bool {
	if schema == nil || op == nil || op.Doc == nil || op.Operation == nil || op.Operation.Operation != ast.Query {
		return nil
	}
	victim := schema.Types["Victim"]
	if victim == nil {
		return nil
	}
	member := func(d *ast.Definition) bool {
		return d.Name == victim.Name || d.IsAbstractType() && slices.ContainsFunc(schema.GetPossibleTypes(d),
			func(t *ast.Definition) bool { return t.Name == victim.Name })
	}
	fields := map[string]bool{}
	ok := true
	var walk func(ast.SelectionSet)
	walk = func(sel ast.SelectionSet) {
		for _, s := range sel {
			switch s := s.(type) {
			case *ast.Field:
				switch {
				case s.ObjectDefinition == nil:
					ok = false
				case member(s.ObjectDefinition):
					fields[s.Name] = true
				}
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				// Fragment definitions are walked below, each once, whether spread or not.
			default:
				ok = false
			}
		}
	}
	walk(op.Operation.SelectionSet)
	for _, f := range op.Doc.Fragments {
		walk(f.SelectionSet)
	}
	if !ok {
		return nil
	}
	return fields
}
