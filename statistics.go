package lindung

import (
	"context"
	"time"
)

// StatisticsPanel names one aggregate of the statistics API. Each panel is computed by one SQL statement in
// the database, which returns counts per cell and never a case row.
type StatisticsPanel string

// The panels. The case breakdowns count cases; the others count orders, services, referrals and residents.
const (
	PanelTraffickingStatus StatisticsPanel = "TRAFFICKING_STATUS"
	PanelExploitationType  StatisticsPanel = "EXPLOITATION_TYPE"
	PanelSector            StatisticsPanel = "SECTOR"
	PanelGender            StatisticsPanel = "GENDER"
	PanelAgeBand           StatisticsPanel = "AGE_BAND"
	PanelCitizenship       StatisticsPanel = "CITIZENSHIP"
	PanelState             StatisticsPanel = "STATE"
	PanelMonth             StatisticsPanel = "MONTH"
	PanelOrders            StatisticsPanel = "ORDERS"
	PanelServices          StatisticsPanel = "SERVICES"
	PanelReferrals         StatisticsPanel = "REFERRALS"
	PanelOccupancy         StatisticsPanel = "OCCUPANCY"
)

// Needs returns the data categories a panel reads of each case it counts: a case is counted only where
// every one of them is open to the caller for STATISTICS (on a legal basis, or by the victim's consent).
// Every case panel needs CASE, because the period and the state filter read the case's identification date
// and the state it is handled in; the demographic breakdowns also need DEMOGRAPHIC, the orders LEGAL.
// Occupancy counts residents of shelters, a fact about the shelter, and needs none.
func (p StatisticsPanel) Needs() CategorySet {
	switch p {
	case PanelGender, PanelAgeBand, PanelCitizenship:
		return SetOf(Case, Demographic)
	case PanelOrders:
		return SetOf(Case, Legal)
	case PanelOccupancy:
		return 0
	}
	return SetOf(Case)
}

// StatisticsQuery asks the store for one panel's raw counts under the caller's bases: Legal and Consent
// are the categories the caller's policy opens for STATISTICS on each basis.
type StatisticsQuery struct {
	Panel   StatisticsPanel
	From    *time.Time // first day of the period, inclusive; nil for open
	To      *time.Time // last day of the period, inclusive; nil for open
	State   *string    // a MalaysianState value, nil for the whole country
	Legal   CategorySet
	Consent CategorySet
	// ExpiringWithinDays is, for the orders panel, how many days ahead counts as expiring.
	ExpiringWithinDays int
}

// Statistics is the GraphQL Statistics object: the filter and the disclosure-control settings of one
// statistics query. Its panels are resolved one SQL statement each, when asked for.
type Statistics struct {
	Query        StatisticsQuery // the filter and the caller's bases; Panel is set per panel
	Threshold    int
	RoundingBase int
	ExactCounts  bool
}

// StatisticsRow is one raw, exact count of a panel, before disclosure control. Kind says what the row is
// (a cell of a breakdown, a total, or a national by-state total used to keep filtered figures consistent).
type StatisticsRow struct {
	Kind       string
	Key        string
	Count      int64
	Capacity   int64    // occupancy rows: beds
	Shelters   int64    // occupancy rows: shelters
	MedianDays *float64 // referral rows: median days to the status
}

// StatisticsSession computes statistics panels. Its results are exact counts: the caller applies
// disclosure control before anything leaves the hub.
type StatisticsSession interface {
	Statistics(ctx context.Context, q StatisticsQuery) ([]StatisticsRow, error)
}
