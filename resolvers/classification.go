package resolvers

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// CheckClassification enforces "the schema is the classification": every field of a type marked
// @victimOwned carries @sensitive(category: …) or @pseudonymous, no sensitive field is non-null (a withheld
// non-null field would null its parent), and @sensitive appears only on victim-owned types, whose records
// carry the victim's mask. The server refuses to start on a schema that fails it.
func CheckClassification(s *ast.Schema) error {
	var problems []string
	for _, t := range s.Types {
		if t.Kind != ast.Object || strings.HasPrefix(t.Name, "__") {
			continue
		}
		owned := t.Directives.ForName("victimOwned") != nil
		for _, f := range t.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			sensitive := f.Directives.ForName("sensitive") != nil
			pseudonymous := f.Directives.ForName("pseudonymous") != nil
			switch {
			case owned && !sensitive && !pseudonymous:
				problems = append(problems, fmt.Sprintf("%s.%s has no data category: add @sensitive(category: …) or @pseudonymous", t.Name, f.Name))
			case sensitive && f.Type.NonNull:
				problems = append(problems, fmt.Sprintf("%s.%s is sensitive but non-null: a withheld value would null its parent", t.Name, f.Name))
			case (sensitive || pseudonymous) && !owned:
				problems = append(problems, fmt.Sprintf("%s.%s is classified but %s is not @victimOwned", t.Name, f.Name, t.Name))
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return errors.New("schema classification: " + strings.Join(problems, "; "))
}
