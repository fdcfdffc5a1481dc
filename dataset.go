package lindung

// Dataset is a complete, consistent set of records to load into an empty hub at once: the demo data, or a
// generated data set for benchmarks. Records refer to each other by the ids they carry.
type Dataset struct {
	Partners        []*Partner
	Users           []*User
	Trainings       []*TrainingCompletion
	Shelters        []*Shelter
	Victims         []*Victim
	CaseLinks       []*CaseLink
	FamilyLinks     []*FamilyLink // one row per direction is not needed: a MOTHER link from the child implies the CHILD link
	Placements      []*Placement
	Orders          []*ProtectionOrder
	ServiceRecords  []*ServiceRecord
	Referrals       []*Referral
	Consents        []*Consent
	WorkEligibility []*WorkEligibility
}
