package lindung

// The records that other agencies' subgraphs reference by key in a federated supergraph (Victim by its
// case reference, Partner and Shelter by id: schema/federation.graphqls) are members of the federation's
// _Entity union. gqlgen serves a union through a Go interface whose members declare themselves with a
// marker method; that is all these methods are. Who may see an entity is decided exactly as on any other
// path, by the row scope and the field guard.

// IsEntity marks Victim as a federation entity.
func (Victim) IsEntity() {}

// IsEntity marks Partner as a federation entity.
func (Partner) IsEntity() {}

// IsEntity marks Shelter as a federation entity.
func (Shelter) IsEntity() {}
