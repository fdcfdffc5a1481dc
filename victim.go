package lindung

import "time"

// Owned is embedded in every record that belongs to one victim. It carries, next to the record, the
// categories that the victim's active consent grants to this request's viewer for this request's purpose,
// read by the store in the same query as the record, so that the field guard decides with a bit test.
type Owned struct {
	VictimID  string
	Consented CategorySet
	// Referred holds the categories asked for by accepted, open referrals of the victim to the viewer's
	// partner: an NGO sees no more than its referrals ask for, even where consent would allow more.
	Referred CategorySet
	// InScope says the victim is within the request's row scope. The store sets it for every record it
	// reads through the victim; a record reached another way (a referral listed to the two partners it
	// is between) may lie outside the scope, and then discloses no guarded field and links to no other
	// record of the victim. The zero value is out of scope: a record nobody vouched for discloses nothing.
	InScope bool
}

// Owner returns the ownership of the record.
func (o *Owned) Owner() *Owned { return o }

// VictimOwned is a record that belongs to one victim and whose fields the guard masks.
type VictimOwned interface {
	Owner() *Owned
}

// Record is a victim-owned record that says what its mere existence discloses: a HEALTH referral tells
// that the victim receives health care, a protection order that the victim is before a court, whatever
// fields are selected of it. The record guard serves a record, by any field, root list, filter or payload,
// only where the request may see every category it reveals for its victim.
type Record interface {
	VictimOwned
	Reveals() CategorySet
}

// Addressed is a record sent between partners (a referral, between the referring and the receiving
// partner): each of them may be shown that it exists even where it may not see the victim it concerns,
// detached from the victim (see Owned.InScope).
type Addressed interface {
	Record
	// AddressedTo reports whether the record was sent by or to the partner.
	AddressedTo(partnerID string) bool
}

// Reveals is nothing beyond the case reference: a victim in scope is known to be a case.
func (v *Victim) Reveals() CategorySet { return 0 }

// Reveals is FAMILY: a family link says who the victim's relatives are.
func (f *FamilyLink) Reveals() CategorySet { return SetOf(Family) }

// Victim is a person identified as a (presumed) victim of trafficking, known to partners by a pseudonymous
// case reference. Every field but the reference is guarded by its data category.
type Victim struct {
	Owned
	ID             string
	CaseRef        string
	OwnerPartnerID string // the agency whose protection officers hold the case

	LegalName         *string
	Aliases           []string
	DateOfBirth       *time.Time
	AgeBand           *string // CTDC ageBroad band
	Gender            *string
	Citizenship       []string // ISO 3166-1 alpha-3
	Languages         []string
	InterpreterNeeded bool
	Phone             *string

	TraffickingStatus string
	ExploitationTypes []string
	Sector            *string
	MeansOfControl    []string
	IdentifiedOn      time.Time

	MedicalNeeds     *string
	CounsellingNotes *string

	CreatedAt time.Time
	UpdatedAt time.Time
}

// VictimFilter narrows a victim listing. It filters only on fields every viewer with row access may see,
// so a filter can never be used as an oracle for a withheld value.
type VictimFilter struct {
	CaseRef   *string
	ShelterID *string
}

// Page is a keyset page request: at most First rows after the row with id After.
type Page struct {
	First int
	After string // id of the last row of the previous page; "" for the first page
	Count bool   // whether to count every match (VictimPage.TotalCount); the count grows with the table
}

// VictimPage is one page of a victim listing.
type VictimPage struct {
	Victims    []*Victim
	TotalCount int
	HasNext    bool
}

// FamilyLink links a victim to a member of their family who is also a case, such as a mother and her child.
type FamilyLink struct {
	Owned
	RelatedVictimID string
	Relationship    string // MOTHER or CHILD: what the related victim is to this one
}

// CaseLink records that an agency is linked to a case, such as the police force investigating it or the
// immigration department deciding on the victim's status. Enforcement officers see the cases their agency is
// linked to.
type CaseLink struct {
	VictimID  string
	PartnerID string
	Role      string // INVESTIGATING, PROSECUTING or IMMIGRATION
}
