package lindung

// RowScope says which victims' rows a role may see at all. The policy assigns one to each role; the store
// writes it into its SQL, and PostgreSQL row-level security enforces it again from transaction settings.
type RowScope string

// The row scopes, from none to the widest a role is given.
const (
	// ScopeNone: no victim rows. Employers, the hub operator and analysts (who get aggregates only).
	ScopeNone RowScope = "none"
	// ScopePartner: the cases owned by the viewer's partner (the protection officer's caseload).
	ScopePartner RowScope = "partner"
	// ScopeLinked: the cases the viewer's agency is linked to (an enforcement agency on the case).
	ScopeLinked RowScope = "linked"
	// ScopeReferred: the cases with an accepted, open referral to the viewer's partner (an NGO).
	ScopeReferred RowScope = "referred"
)

// Valid reports whether s is one of the row scopes.
func (s RowScope) Valid() bool {
	switch s {
	case ScopeNone, ScopePartner, ScopeLinked, ScopeReferred:
		return true
	}
	return false
}

// Scope is what the store needs to know about a request to return only what it may: whose rows, and
// whose consent counts. It is derived from the Viewer by the policy, never built from client input.
type Scope struct {
	Rows        RowScope
	UserID      string
	PartnerID   string
	PartnerType PartnerType
	Purpose     Purpose
	// Legal and WithConsent are the categories the request's policy decision opens on a legal basis and
	// on consent, and LimitToReferral bounds them by what the caller's referrals ask for, as in the
	// decision's mask. The store reads a guarded column only where that mask, with the victim's consent
	// and referral bits, may disclose it, so withheld data is never read, not even to be dropped later.
	// The zero value reads no guarded column (fail closed).
	Legal, WithConsent CategorySet
	LimitToReferral    bool
}
