package resolvers

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

const directives = `
directive @sensitive(category: String!) on FIELD_DEFINITION
directive @pseudonymous on FIELD_DEFINITION
directive @victimOwned on OBJECT
directive @records(via: String) on FIELD_DEFINITION
directive @aggregate(category: String!) on FIELD_DEFINITION
directive @noVictimData on OBJECT
directive @victimDerived(guard: String!) on OBJECT
`

func TestCheckClassification(t *testing.T) {
	tests := []struct {
		name string
		sdl  string
		want string // "" for a schema that passes
	}{
		{"classified", `type Query { v: V @records } type V @victimOwned { id: ID! @pseudonymous name: String @sensitive(category: "IDENTITY") }`, ""},
		{"unclassified field", `type Query { v: V @records } type V @victimOwned { id: ID! @pseudonymous phone: String }`, "V.phone has no data category"},
		{"non-null sensitive", `type Query { v: V @records } type V @victimOwned { name: String! @sensitive(category: "IDENTITY") }`, "V.name is sensitive but non-null"},
		{"non-null sensitive list", `type Query { v: V @records } type V @victimOwned { names: [String!]! @sensitive(category: "IDENTITY") }`, "V.names is sensitive but non-null"},
		{"sensitive outside owned type", `type Query { v: V @records } type V @noVictimData { name: String @sensitive(category: "IDENTITY") }`, "V.name is classified but V is not @victimOwned"},
		{"unguarded root list", `type Query { vs: [V!]! } type V @victimOwned { id: ID! @pseudonymous }`, "Query.vs returns victim-owned V without the record guard"},
		{"unguarded payload", `type Query { v: V @records } type Mutation { m: V! } type V @victimOwned { id: ID! @pseudonymous }`, "Mutation.m returns victim-owned V without the record guard"},
		{"unguarded nested list", `type Query { v: V @records } type V @victimOwned { id: ID! @pseudonymous kids: [V!] @sensitive(category: "FAMILY") }`, "V.kids returns victim-owned V without the record guard"},
		{"unguarded field of a plain type", `type Query { s: S } type S @noVictimData { residents: [V!]! } type V @victimOwned { id: ID! @pseudonymous }`, "S.residents returns victim-owned V"},
		{"unguarded union", `type Query { u: U } union U = V | S type S @noVictimData { id: ID } type V @victimOwned { id: ID! @pseudonymous }`, "Query.u returns victim-owned U"},
		{"unclassified type", `type Query { s: S } type S { count: Int }`, "S must say what it holds"},
		{"derived type escapes its root", `type Query { s: S d: D } type S @noVictimData { d: D } type D @victimDerived(guard: "x") { n: Int }`, "S.d reaches the victim-derived D"},
		{"non-null aggregate", `type Query { s: S } type S @noVictimData { n: Int! @aggregate(category: "LOCATION") }`, "S.n: @aggregate guards a nullable Int"},
		{"guarded", `type Query { vs: [V!]! @records s: S d: D } type Mutation { m: V! @records } type S @noVictimData { n: Int @aggregate(category: "LOCATION") residents: [V!]! @records(via: "LOCATION") } type D @victimDerived(guard: "x") { n: Int } type V @victimOwned { id: ID! @pseudonymous }`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := gqlparser.MustLoadSchema(&ast.Source{Input: directives + tt.sdl})
			err := CheckClassification(s)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestSchemaIsClassified checks the real schema, which the server also checks at start-up.
func TestSchemaIsClassified(t *testing.T) {
	if err := CheckClassification(NewExecutableSchema().Schema()); err != nil {
		t.Fatal(err)
	}
}

// TestSchemaIsDescribed: every type, field, argument and enum value of the schema says what it is.
func TestSchemaIsDescribed(t *testing.T) {
	s := NewExecutableSchema().Schema()
	for _, typ := range s.Types {
		if typ.BuiltIn || strings.HasPrefix(typ.Name, "__") {
			continue
		}
		if typ.Description == "" {
			t.Errorf("type %s has no description", typ.Name)
		}
		for _, f := range typ.Fields {
			if strings.HasPrefix(f.Name, "__") || (f.Position != nil && f.Position.Src != nil && f.Position.Src.BuiltIn) {
				// Fields that gqlgen adds (the federation's _entities and _service) are described by
				// the Apollo Federation specification.
				continue
			}
			if f.Description == "" {
				t.Errorf("%s.%s has no description", typ.Name, f.Name)
			}
		}
		for _, v := range typ.EnumValues {
			if v.Description == "" {
				t.Errorf("%s.%s has no description", typ.Name, v.Name)
			}
		}
	}
}

// TestOnlyTheGuardedSchemaIsGuarded: the server refuses, outside tests, a schema whose directives do not run
// the guards; the benchmark baseline is such a schema, and the served one is not.
func TestOnlyTheGuardedSchemaIsGuarded(t *testing.T) {
	if !Guarded(NewExecutableSchema()) || !Guarded(NewConfiguredSchema(Resolver{})) {
		t.Error("the served schema does not report its guards")
	}
	if Guarded(NewUnguardedSchema()) {
		t.Error("the unguarded benchmark schema reports guards")
	}
}
