package lindung

import "time"

// Shelter is a gazetted place of refuge. Each takes either victims under an Interim Protection Order or
// victims under a Protection Order, never both, and one category of resident.
type Shelter struct {
	ID                string
	Name              string
	OperatorPartnerID string
	State             string
	Category          string // WOMEN, MEN, CHILDREN or MOTHERS_WITH_CHILDREN
	OrderType         string // IPO or PO: the only order type it takes
	Capacity          int
	Services          []string
	Occupancy         int // current residents, counted across all cases regardless of the viewer's scope
}

// Placement is a stay of a victim in a shelter.
type Placement struct {
	Owned
	ID        string
	ShelterID string
	FromDate  time.Time
	ToDate    *time.Time
	Reason    string
}

// Reveals is LOCATION: a stay in a shelter says where the victim is, or was.
func (p *Placement) Reveals() CategorySet { return SetOf(Location) }

// Reveals is LEGAL: an order says the victim is before a court, and its listing by end date gives the end.
func (o *ProtectionOrder) Reveals() CategorySet { return SetOf(Legal) }

// ProtectionOrder is an Interim Protection Order (IPO) or Protection Order (PO) made by a court.
type ProtectionOrder struct {
	Owned
	ID          string
	Type        string // IPO or PO
	Court       string
	OrderNumber string
	StartsOn    time.Time
	EndsOn      time.Time
	EndedOn     *time.Time
	Conditions  []string
}
