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
	Provisions           []ConsentProvision
}

// Reveals is CASE: that a victim consented to something is part of the case.
func (c *Consent) Reveals() CategorySet { return SetOf(Case) }

// Reveals is CASE and every category the provision grants: a grant of HEALTH to a medical NGO tells that
// the victim receives health care there, so neither the grant nor its grantee is shown to a request that
// may not see the victim's health data.
func (p *ConsentProvision) Reveals() CategorySet { return SetOf(Case) | p.Categories }

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
