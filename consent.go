package lindung

import "time"

// Consent is a victim's recorded permission to share categories of their data, modelled on FHIR Consent.
// It is given by the victim or, for a child, by the mother; it is never inferred and never rewritten:
// withdrawal is recorded beside it, and expiry follows from the provisions' periods.
type Consent struct {
	Owned
	ID                   string
	GrantorVictimID      string // the victim, or the mother of a child victim
	GrantorRelation      string // SELF or MOTHER
	RecordedByUserID     string
	RecordedAt           time.Time
	Language             string
	InterpreterPartnerID *string
	Method               string // VERBAL or WRITTEN
	DocumentRef          *string
	WithdrawnAt          *time.Time
	// NeedsConfirmation: the consent widens what its recorder's own partner may see and has no document
	// reference, so it grants nothing until a second, different user confirms it (four eyes).
	NeedsConfirmation bool
	ConfirmedByUserID *string
	ConfirmedAt       *time.Time
	// Status is where the consent stands as of the request, as the database's one consent evaluator
	// says: ACTIVE, PENDING, SCHEDULED, WITHDRAWN or EXPIRED. Read, never computed outside it.
	Status     string
	Provisions []ConsentProvision
}

// Widens reports whether the consent grants anything to the partner with id partnerID and type
// partnerType, by id or by type: a consent that widens what its own recorder's partner may see needs
// evidence (a document reference) or a second user's confirmation before it takes effect.
func (c *Consent) Widens(partnerID string, partnerType PartnerType) bool {
	for _, p := range c.Provisions {
		if p.GranteePartnerID != nil && *p.GranteePartnerID == partnerID || p.GranteeType != nil && *p.GranteeType == partnerType {
			return true
		}
	}
	return false
}

// ConsentProvision grants one partner, or every partner of a type, some categories for some purposes
// during a period.
type ConsentProvision struct {
	Owned
	GranteePartnerID *string
	GranteeType      *PartnerType
	Categories       CategorySet
	Purposes         []Purpose
	PeriodStart      time.Time
	PeriodEnd        *time.Time // nil: until withdrawn
}
