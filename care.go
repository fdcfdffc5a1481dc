package lindung

import (
	"context"
	"time"
)

// ChangeRecord is one line of the change log: a record a mutation created or changed, written in the
// mutation's transaction. It names the fields changed, never their values, so that the log can be read
// for accountability without becoming a second copy of the victim's file.
type ChangeRecord struct {
	RequestID string
	UserID    string
	Username  string
	PartnerID string
	Roles     []string
	Purpose   Purpose
	VictimID  string // "" for a change that concerns no victim, such as a training record
	Entity    string // e.g. consent, referral, placement
	RecordID  string
	Action    string   // e.g. recorded, withdrawn, accepted
	Fields    []string // the names of the fields written
}

// FamilyContact is an entry of a victim's family-communication log: a call or a visit with a family
// member, and the interpreter who helped, if one did.
type FamilyContact struct {
	Owned
	ID                   string
	Kind                 string // CALL or VISIT
	WithWhom             string
	OccurredOn           time.Time
	InterpreterPartnerID *string
	RecordedByPartnerID  string
	RecordedAt           time.Time
}

// EligibilityCode is a short code a victim may hand to an employer, so that the employer can check the
// victim's permission to work and nothing else. Only its hash is stored: Code is set once, in the answer
// to the request that issued it.
type EligibilityCode struct {
	Owned
	ID                string
	Code              *string
	EmployerPartnerID *string // nil: any private employer the victim consented to
	IssuedAt          time.Time
	ExpiresAt         time.Time
	RevokedAt         *time.Time
}

// EligibilityCheck is the store's answer to an employer's check of a code. VictimID is set only for an
// eligible code, for the audit; it never reaches the employer.
type EligibilityCheck struct {
	Eligible   bool
	ValidUntil *time.Time
	VictimID   string
}

// WorkPermit is everything an employer learns from a code: whether the holder may work, and until when.
type WorkPermit struct {
	Eligible   bool
	ValidUntil *time.Time
}

// StateOccupancy is the shelter capacity and current residents of one state.
type StateOccupancy struct {
	State     string
	Shelters  int
	Capacity  int
	Occupancy int
}

// IdempotencyClaim is what the store knows of an idempotency key: nothing yet (Claimed: this request now
// holds it), or the operation and input it was first used with, and the reference of that result.
type IdempotencyClaim struct {
	Claimed   bool
	Operation string
	InputHash []byte
	Result    string
}

// CareSession is the part of a request's session that the care workflows write through: consent,
// referrals, orders, placements, services, the family log, work permission and training. Every method runs
// in the request's one transaction, under its scope; a record outside the scope is not found.
type CareSession interface {
	RecordChanges(ctx context.Context, records []*ChangeRecord) error
	ClaimIdempotencyKey(ctx context.Context, key, operation string, inputHash []byte) (*IdempotencyClaim, error)
	SetIdempotencyResult(ctx context.Context, key, result string) error
	FindPartnerBySlug(ctx context.Context, slug string) (*Partner, error)
	LockVictims(ctx context.Context, ids []string) error
	CreateFamilyLink(ctx context.Context, childID, motherID string) error

	CreateConsent(ctx context.Context, c *Consent) error
	WithdrawConsent(ctx context.Context, id string) (victimID string, err error)
	ConfirmConsent(ctx context.Context, id string) (victimID string, err error)

	CreateReferral(ctx context.Context, r *Referral) error
	FindReferralForUpdate(ctx context.Context, id string) (*Referral, error)
	SetReferralStatus(ctx context.Context, id, status string, rejectionReason *string) (*Referral, error)
	FindOverdueReferrals(ctx context.Context) ([]*Referral, error)

	CreateOrder(ctx context.Context, o *ProtectionOrder) error
	FindOrderForUpdate(ctx context.Context, id string) (*ProtectionOrder, error)
	UpdateOrderDates(ctx context.Context, id string, endsOn, endedOn *time.Time) error
	FindOrdersExpiring(ctx context.Context, withinDays int) ([]*ProtectionOrder, error)

	LockShelter(ctx context.Context, id string) (*Shelter, error)
	CreatePlacement(ctx context.Context, p *Placement) error
	EndPlacement(ctx context.Context, id string, on time.Time) error
	FindOccupancy(ctx context.Context, state *string) ([]*StateOccupancy, error)

	CreateServiceRecord(ctx context.Context, r *ServiceRecord) error
	FindServiceRecordForUpdate(ctx context.Context, id string) (*ServiceRecord, error)
	UpdateServiceRecord(ctx context.Context, r *ServiceRecord) error
	HasAcceptedReferral(ctx context.Context, victimID, service string) (bool, error)

	CreateFamilyContact(ctx context.Context, f *FamilyContact) error
	FindFamilyContactsByVictimIDs(ctx context.Context, ids []string) ([][]*FamilyContact, error)

	SaveWorkEligibility(ctx context.Context, w *WorkEligibility) error
	HasEmploymentConsent(ctx context.Context, victimID string, employerPartnerID *string) (bool, error)
	CreateEligibilityCode(ctx context.Context, c *EligibilityCode, hash []byte) error
	FindEligibilityCodeForUpdate(ctx context.Context, id string) (*EligibilityCode, error)
	RevokeEligibilityCode(ctx context.Context, id string) error
	CheckEligibilityCode(ctx context.Context, hash []byte, legal, withConsent CategorySet, requestID, username string) (*EligibilityCheck, error)

	RecordTraining(ctx context.Context, username string, t *TrainingCompletion) error
}
