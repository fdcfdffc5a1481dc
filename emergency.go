package lindung

import (
	"context"
	"time"
)

// EmergencyNeed says what an emergency grant of a category needs before and after it takes effect, as
// the policy's p5 rows say per role and category. The order is strictness: a grant of several categories
// needs the strictest of theirs.
type EmergencyNeed uint8

// The needs, from the least to the most strict.
const (
	// EmergencyReview: the grant takes effect at once; a reviewer looks at it afterwards.
	EmergencyReview EmergencyNeed = iota + 1
	// EmergencyApprove: a second user must approve the grant before it takes effect.
	EmergencyApprove
	// EmergencyApproveOtherPartner: a second user of another partner must approve it first.
	EmergencyApproveOtherPartner
)

var emergencyNeedNames = [...]string{EmergencyReview: "review", EmergencyApprove: "approve",
	EmergencyApproveOtherPartner: "approve_other_partner"}

// String returns the need as policy.csv and the database spell it.
func (n EmergencyNeed) String() string {
	if n >= EmergencyReview && int(n) < len(emergencyNeedNames) {
		return emergencyNeedNames[n]
	}
	return ""
}

// ParseEmergencyNeed returns the need spelt s, false for any other word.
func ParseEmergencyNeed(s string) (EmergencyNeed, bool) {
	for n := EmergencyReview; int(n) < len(emergencyNeedNames); n++ {
		if emergencyNeedNames[n] == s {
			return n, true
		}
	}
	return 0, false
}

// NeedsApproval reports whether a grant with this need waits for a second user.
func (n EmergencyNeed) NeedsApproval() bool { return n >= EmergencyApprove }

// EmergencyTerms is what the policy lets a set of roles open in an emergency: per category the need,
// and the longest a grant may last. A zero value (no categories) opens nothing.
type EmergencyTerms struct {
	Needs map[Category]EmergencyNeed
	Max   time.Duration
}

// Need returns the strictest need among cats, and false when any of them cannot be opened at all.
func (t EmergencyTerms) Need(cats CategorySet) (EmergencyNeed, bool) {
	var need EmergencyNeed
	if cats == 0 {
		return 0, false
	}
	for _, c := range cats.List() {
		n, ok := t.Needs[c]
		if !ok {
			return 0, false
		}
		need = max(need, n)
	}
	return need, true
}

// EmergencyPolicy is implemented by a Decision that knows the emergency terms of its roles, whatever
// purpose it was decided for: a grant is opened under the caller's everyday purpose.
type EmergencyPolicy interface {
	EmergencyTerms() EmergencyTerms
}

// EmergencyState is where a grant stands now.
type EmergencyState string

// The states of a grant.
const (
	EmergencyAwaitingApproval EmergencyState = "AWAITING_APPROVAL"
	EmergencyInEffect         EmergencyState = "IN_EFFECT"
	EmergencyExpired          EmergencyState = "EXPIRED"
	EmergencyRevoked          EmergencyState = "REVOKED"
)

// EmergencyGrant is break-glass access to one victim's named categories, opened by one user with a
// reason, for a bounded time. It is in effect while it has not expired, is not revoked, and is approved
// where its need requires; the store evaluates that in the statement that reads the victim.
type EmergencyGrant struct {
	ID              string
	VictimID        string
	OpenedBy        string // username
	PartnerID       string
	PartnerName     string
	Roles           []string
	Categories      CategorySet
	Need            EmergencyNeed
	Reason          string
	OpenedAt        time.Time
	ExpiresAt       time.Time
	ApprovedBy      *string
	ApprovedAt      *time.Time
	RevokedBy       *string
	RevokedAt       *time.Time
	ReviewedBy      *string
	ReviewedAt      *time.Time
	Finding         *string
	State           EmergencyState
	ReadsUnderGrant []*EmergencyRead
}

// EmergencyRead is one access record made under an emergency grant, for its review.
type EmergencyRead struct {
	At          time.Time
	RequestID   string
	Username    string
	PartnerName string
	Disclosed   CategorySet
}

// EmergencyOpen is what opening a grant asks for; the store adds who opens it.
type EmergencyOpen struct {
	VictimID   string
	Categories CategorySet
	Need       EmergencyNeed
	Roles      []string
	Reason     string
	Minutes    int
}

// EmergencySession is the store's side of break-glass access, in the request's transaction.
type EmergencySession interface {
	// OpenEmergency writes a grant for a victim in the request's row scope; NOT_FOUND for any other
	// victim, CONFLICT where the caller already has a grant open for the victim.
	OpenEmergency(ctx context.Context, o EmergencyOpen) (*EmergencyGrant, error)
	// ApproveEmergency approves a grant visible to the caller; FORBIDDEN for the opener, or for the
	// opener's partner where another partner must approve.
	ApproveEmergency(ctx context.Context, id string) (*EmergencyGrant, error)
	// RevokeEmergency ends a grant at once: the opener's or the opener's partner's, any grant the caller
	// sees where approver is true (a caller who may approve grants), and any grant at all where reviewer is
	// true (a caller who may review grants, and so sees every one, as in FindEmergencyGrants).
	RevokeEmergency(ctx context.Context, id string, approver, reviewer bool) (*EmergencyGrant, error)
	// CloseEmergencyReview records a reviewer's finding on a grant no longer in effect.
	CloseEmergencyReview(ctx context.Context, id, finding string) (*EmergencyGrant, error)
	// FindEmergencyGrants lists the grants visible to the caller (every grant for a reviewer), newest
	// first, with the reads made under each; reviewed selects closed (true) or open (false) reviews.
	FindEmergencyGrants(ctx context.Context, reviewed bool, reviewer bool) ([]*EmergencyGrant, error)
}
