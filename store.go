package lindung

import (
	"context"
	"time"
)

// Session is the data access of one request: one database transaction, run under the request's Scope, so
// that every read of the request sees one snapshot, and the audit of what it disclosed commits with it.
// Methods named ...ByVictimIDs return results aligned to ids, empty where a victim has none or is out of
// scope; a row outside the scope is never returned and looks exactly like a row that does not exist.
type Session interface {
	CareSession
	StatisticsSession
	AuditLog
	PolicyVersionSession

	FindVictimByID(ctx context.Context, id string) (*Victim, error)
	FindVictims(ctx context.Context, filter VictimFilter, page Page) (*VictimPage, error)
	FindVictimsByIDs(ctx context.Context, ids []string) ([]*Victim, error)
	// FindVictimsByCaseRefs resolves a federated router's victim representations (keyed by case
	// reference), aligned to refs like FindVictimsByIDs.
	FindVictimsByCaseRefs(ctx context.Context, refs []string) ([]*Victim, error)

	FindPlacementsByVictimIDs(ctx context.Context, ids []string) ([][]*Placement, error)
	FindOrdersByVictimIDs(ctx context.Context, ids []string) ([][]*ProtectionOrder, error)
	FindServiceRecordsByVictimIDs(ctx context.Context, ids []string) ([][]*ServiceRecord, error)
	FindReferralsByVictimIDs(ctx context.Context, ids []string) ([][]*Referral, error)
	FindConsentsByVictimIDs(ctx context.Context, ids []string) ([][]*Consent, error)
	FindFamilyByVictimIDs(ctx context.Context, ids []string) ([][]*FamilyLink, error)
	FindWorkEligibilityByVictimIDs(ctx context.Context, ids []string) ([]*WorkEligibility, error)
	FindResidentIDsByShelterIDs(ctx context.Context, ids []string) ([][]string, error)

	FindSheltersByIDs(ctx context.Context, ids []string) ([]*Shelter, error)
	FindShelters(ctx context.Context, state *string) ([]*Shelter, error)
	FindPartnersByIDs(ctx context.Context, ids []string) ([]*Partner, error)
	FindPartners(ctx context.Context, filter PartnerFilter) ([]*Partner, error)
	FindReferrals(ctx context.Context, filter ReferralFilter) ([]*Referral, error)
	FindServices(ctx context.Context) ([]*Service, error)
	FindDisclosures(ctx context.Context, victimID string) ([]*Disclosure, error)

	// FindUsers returns every registered user with their partner's slug, ordered by username, and
	// FindTraining every recorded training completion with its user's id and name: the operator's
	// listings, which the caller authorizes (no row scope applies to the hub's own directory).
	FindUsers(ctx context.Context) ([]*DirectoryUser, error)
	FindTraining(ctx context.Context) ([]*TrainingCompletion, error)

	CreatePartner(ctx context.Context, p *Partner) error
	CreateUser(ctx context.Context, u *User) error
	// SetUserDisabled disables or enables again the user with username and returns them; NOT_FOUND when
	// there is none. The caller's next request after a disable is refused (see the request's identity).
	SetUserDisabled(ctx context.Context, username string, disabled bool) (*User, error)
	// SetUserRoles replaces the roles of the user with username and returns them; NOT_FOUND when there is
	// none. Whether the roles may be held together is the policy's to say, before this is called.
	SetUserRoles(ctx context.Context, username string, roles []string) (*User, error)
	// SetPartnerSuspended suspends or reinstates the partner with slug and returns it; NOT_FOUND when there
	// is none. A suspended partner's users are refused on their next request.
	SetPartnerSuspended(ctx context.Context, slug string, suspended bool) (*Partner, error)
	CreateShelter(ctx context.Context, s *Shelter) error
	CreateVictim(ctx context.Context, v *Victim) error
	UpdateVictim(ctx context.Context, id string, upd VictimUpdate) (*Victim, error)
}

// VictimUpdate holds the fields of a victim to change; nil leaves a field as it is.
type VictimUpdate struct {
	LegalName         *string
	Aliases           []string
	DateOfBirth       *time.Time
	AgeBand           *string
	Gender            *string
	Citizenship       []string
	Languages         []string
	InterpreterNeeded *bool
	Phone             *string
	TraffickingStatus *string
	ExploitationTypes []string
	Sector            *string
	MeansOfControl    []string
	MedicalNeeds      *string
	CounsellingNotes  *string
}

type sessionKey struct{}

// WithSession returns a context that carries the request's session.
func WithSession(ctx context.Context, s Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// SessionFrom returns the request's session, or nil outside a request.
func SessionFrom(ctx context.Context) Session {
	s, _ := ctx.Value(sessionKey{}).(Session)
	return s
}

// Decision is the policy's answer for one request: what may be disclosed of each victim-owned record.
// It is computed once per request (cached per roles, purpose and policy version) and asked per record.
type Decision interface {
	// Mask returns the categories that may be disclosed of a record, from its victim's consent and
	// referral bits. It must be a few bit operations: it runs for every guarded field.
	Mask(o *Owned) CategorySet
	// Reason says why a category outside the mask is withheld: NOT_PERMITTED or NO_CONSENT.
	Reason(c Category) string
	// May reports whether the request's roles may take an action.
	May(a Action) bool
	// Assignable reports whether a user may be registered with roles: INVALID for a role the policy does
	// not know, CONFLICT naming two roles that must never be held together (separation of duties).
	Assignable(roles []string) error
	// Grants returns the categories the policy opens for the request's purpose on a legal basis and on
	// consent, whatever the row scope: aggregate statistics count cases by them without disclosing rows.
	Grants() (legal, withConsent CategorySet)
}
