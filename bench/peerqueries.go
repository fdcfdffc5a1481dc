package bench

// The peer benchmark's three queries as the hub serves them: bench/peer runs them against the hub and
// PostGraphile's equivalents, BenchmarkPeerQueries serves them in-process for profiles, and bench/scopeab
// serves (b) and (c) as any role. One definition, so that every figure measures the same queries.
const (
	// PeerQueryA is (a): one victim, a few scalars, its current shelter and its referrals ($id).
	PeerQueryA = `query A($id: ID!) { victim(id: $id) { caseRef legalName ageBand gender
		currentShelter { name } referrals { status to { name } } } }`
	// PeerQueryB is (b): the first 100 victims, six scalars.
	PeerQueryB = `{ victims(first: 100) { edges { node { caseRef legalName ageBand gender
		traffickingStatus identifiedOn } } } }`
	// PeerQueryC is (c): the first 100 victims, two scalars and each one's referrals.
	PeerQueryC = `{ victims(first: 100) { edges { node { caseRef ageBand referrals { status dueOn } } } } }`
)
