package server

import (
	"sort"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/lindung/lindung/resolvers"
)

// TestVictimFields: every field of Victim an operation can resolve is found, however it is reached, and
// anything but a query reads every column (nil).
func TestVictimFields(t *testing.T) {
	schema := resolvers.NewExecutableSchema().Schema()
	for _, c := range []struct {
		name, query string
		want        string // the fields, sorted, comma-separated; "all" for nil
	}{
		{"list", `{ victims(first: 100) { edges { node { caseRef legalName ageBand gender traffickingStatus identifiedOn } } } }`,
			"ageBand,caseRef,gender,identifiedOn,legalName,traffickingStatus"},
		{"only caseRef", `{ victims { totalCount edges { cursor node { caseRef } } } }`, "caseRef"},
		{"no victim", `{ shelters { id name } }`, ""},
		{"aliases", `{ a: victim(id: "x") { n: legalName p: phone } b: victims { edges { node { c: caseRef } } } }`,
			"caseRef,legalName,phone"},
		{"two roots", `query ($id: ID!) { victims { edges { node { caseRef } } } victim(id: $id) { medicalNeeds } }`,
			"caseRef,medicalNeeds"},
		{"fragments, nested", `query { victim(id: "x") { ...A } }
			fragment A on Victim { caseRef referrals { victim { ...B } } family { victim { ... on Victim { aliases } } } }
			fragment B on Victim { counsellingNotes }`, "aliases,caseRef,counsellingNotes,family,referrals"},
		{"fragment on a type around Victim", `{ referrals { ...R } } fragment R on Referral { status victim { sector } }`, "sector"},
		{"shelter residents", `{ shelters { residents { gender } } }`, "gender"},
		{"placement to victim", `{ victim(id: "x") { placements { shelter { residents { dateOfBirth } } } } }`,
			"dateOfBirth,placements"},
		{"entities", `query ($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Victim { citizenship } ...E } }
			fragment E on _Entity { ... on Victim { meansOfControl } }`, "__typename,citizenship,meansOfControl"},
		{"skipped still counted", `query ($no: Boolean = true) { victim(id: "x") { caseRef phone @skip(if: $no) ... @include(if: false) { languages } } }`,
			"caseRef,languages,phone"},
		{"withheld", `{ victim(id: "x") { caseRef withheld { field } } }`, "caseRef,withheld"},
		{"mutation", `mutation { updateVictim(id: "x", input: {}) { caseRef } }`, "all"},
		{"mutation with a query beside it", `query Q { victims { edges { node { caseRef } } } }
			mutation M { updateVictim(id: "x", input: {}) { caseRef } }`, "all"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQuery(schema, c.query)
			if errs != nil {
				t.Fatalf("%v", errs)
			}
			op := doc.Operations[len(doc.Operations)-1]
			got := victimFields(schema, &graphql.OperationContext{Doc: doc, Operation: op})
			names := "all"
			if got != nil {
				var l []string
				for f := range got {
					l = append(l, f)
				}
				sort.Strings(l)
				names = strings.Join(l, ",")
			}
			if names != c.want {
				t.Errorf("victim fields %q, want %q", names, c.want)
			}
		})
	}
	if got := victimFields(schema, &graphql.OperationContext{}); got != nil {
		t.Errorf("an operation context without a document: %v, want every column", got)
	}
	// A document that was not validated carries no parent types: every column.
	doc, _ := gqlparser.LoadQuery(schema, `{ victims { edges { node { caseRef } } } }`)
	doc.Operations[0].SelectionSet[0].(*ast.Field).ObjectDefinition = nil
	if got := victimFields(schema, &graphql.OperationContext{Doc: doc, Operation: doc.Operations[0]}); got != nil {
		t.Errorf("a field without its parent type: %v, want every column", got)
	}
}
