package lindung

import "time"

// PartnerType is the kind of organisation a partner is. Consent may be granted to a partner type as well as
// to one partner.
type PartnerType string

// The partner types. OPERATOR is the organisation that runs the hub; it sees no victim data.
const (
	PartnerGovernment PartnerType = "GOVERNMENT"
	PartnerNGO        PartnerType = "NGO"
	PartnerPrivate    PartnerType = "PRIVATE"
	PartnerOperator   PartnerType = "OPERATOR"
)

// Valid reports whether t is one of the partner types.
func (t PartnerType) Valid() bool {
	switch t {
	case PartnerGovernment, PartnerNGO, PartnerPrivate, PartnerOperator:
		return true
	}
	return false
}

// Partner is an organisation that shares data through the hub: an agency, an NGO or an employer.
type Partner struct {
	ID        string
	Slug      string
	Name      string
	Type      PartnerType
	State     string // Malaysian state or federal territory the partner is based in
	CreatedAt time.Time
	// Suspended says the operator suspended the partner: no request of any of its users is served until
	// the operator reinstates it.
	Suspended bool
}

// User is a person who acts for one partner and holds roles there.
type User struct {
	ID          string
	PartnerID   string
	Username    string
	DisplayName string
	Roles       []string
	CreatedAt   time.Time
	// Disabled says the operator disabled the user: none of their requests is served, whatever token it
	// carries, until the operator enables them again.
	Disabled bool
}

// DirectoryUser is a registered user with the slug of their partner, as the operator lists them.
type DirectoryUser struct {
	User
	PartnerSlug string
}

// TrainingCompletion records that a user completed the protection-officer training module.
type TrainingCompletion struct {
	UserID        string
	Username      string // set when a completion is recorded through the hub, for the answer
	ModuleVersion string
	CompletedOn   time.Time
	ExpiresOn     *time.Time
}

// PartnerFilter narrows a partner listing.
type PartnerFilter struct {
	Type *PartnerType
}
