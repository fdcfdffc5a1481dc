package lindung

import "time"

// Service is an entry of the service catalogue: health and treatment, counselling, legal and court
// support, interpreter, family communication, work permission, repatriation.
type Service struct {
	Code        string
	Name        string
	Description string
}

// ServiceRecord is a service requested for, scheduled for or delivered to a victim by a provider partner.
type ServiceRecord struct {
	Owned
	ID                string
	ServiceCode       string
	ProviderPartnerID string
	Status            string // REQUESTED, SCHEDULED, DELIVERED or CANCELLED
	RequestedOn       time.Time
	ScheduledFor      *time.Time
	DeliveredOn       *time.Time
}

// Referral asks another partner to provide a service to a victim. While it is accepted and open, the
// receiving partner may see the case.
type Referral struct {
	Owned
	ID              string
	FromPartnerID   string
	ToPartnerID     string
	ServiceCode     string
	Categories      CategorySet // the categories the referral asks to share
	Status          string      // IN_PROGRESS, ACCEPTED, REJECTED, COMPLETED or WITHDRAWN
	Reason          string
	RejectionReason *string
	DueOn           time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Reveals is CASE (referrals are part of the case) and the category of the referral's service: a HEALTH
// referral discloses health care.
func (r *Referral) Reveals() CategorySet { return SetOf(Case, ServiceCategory(r.ServiceCode)) }

// AddressedTo reports whether the referral was sent by or to the partner.
func (r *Referral) AddressedTo(partnerID string) bool {
	return partnerID != "" && (r.FromPartnerID == partnerID || r.ToPartnerID == partnerID)
}

// Reveals is CASE (services are part of the case) and the category of the service: counselling received
// is counselling data.
func (r *ServiceRecord) Reveals() CategorySet { return SetOf(Case, ServiceCategory(r.ServiceCode)) }

// Reveals is EMPLOYMENT: a decision on permission to work.
func (w *WorkEligibility) Reveals() CategorySet { return SetOf(Employment) }

// ReferralFilter narrows a referral listing.
type ReferralFilter struct {
	Status *string
}

// WorkEligibility is an officer's decision on whether a victim may work, and until when.
type WorkEligibility struct {
	Owned
	ProtectionOrderHeld    bool
	MedicalScreeningPassed bool
	RiskAssessmentPassed   bool
	Decision               string // ELIGIBLE, NOT_ELIGIBLE or PENDING
	DecidedOn              *time.Time
	ValidUntil             *time.Time
}

// ServiceCategory is the data category that the kind of a service reveals about the person who receives
// it: that a victim is in counselling is counselling data, whatever else the record says. A service record
// or referral is disclosed only with its service's category.
func ServiceCategory(code string) Category {
	switch code {
	case "HEALTH":
		return Health
	case "COUNSELLING":
		return Counselling
	case "LEGAL":
		return Legal
	case "INTERPRETER":
		return Demographic // the need for an interpreter follows from the languages spoken
	case "FAMILY_COMMUNICATION":
		return Family
	case "WORK_PERMISSION":
		return Employment
	}
	return Case
}
