// Package lindung holds the vocabulary of the hub: the records it keeps about victims of trafficking and the
// partners that share them, the data categories and purposes that consent and policy speak in, the viewer on
// whose behalf a request runs, and the one error type every layer returns.
//
// It imports no other package of the project; every other package imports it. The PostgreSQL store fills
// these types, the policy decides over them, and the GraphQL resolvers serve them.
package lindung
