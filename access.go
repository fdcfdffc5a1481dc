package lindung

import "time"

// AccessRecord is one line of the audit: the disclosure of one victim's data in one response. The table
// that holds them is append-only; a victim's "who saw my data" report is read from it.
type AccessRecord struct {
	At            time.Time
	RequestID     string
	UserID        string
	Username      string
	PartnerID     string
	Roles         []string
	Purpose       Purpose
	VictimID      string
	Disclosed     CategorySet
	Withheld      CategorySet
	PolicyVersion string
	OperationName string
}

// Disclosure is a line of a victim's disclosure report, phrased for reading out to the victim.
type Disclosure struct {
	At          time.Time
	PartnerName string
	PartnerType PartnerType
	Purpose     Purpose
	Categories  CategorySet
}
