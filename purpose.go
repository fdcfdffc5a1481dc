package lindung

// Purpose is the declared reason for a request. Policy and consent are both given per purpose, and every
// access record names the purpose it was made under.
type Purpose string

// The purposes of use.
const (
	PurposeCaseManagement  Purpose = "CASE_MANAGEMENT"
	PurposeServiceDelivery Purpose = "SERVICE_DELIVERY"
	PurposeProsecution     Purpose = "PROSECUTION"
	PurposeEmploymentCheck Purpose = "EMPLOYMENT_CHECK"
	PurposeStatistics      Purpose = "STATISTICS"
	PurposeFamilyContact   Purpose = "FAMILY_CONTACT"
	// PurposeEmergency is break-glass access: declarable only by roles the policy lets open emergency
	// access, and it discloses only what a grant in effect for the caller opens (see EmergencyGrant).
	PurposeEmergency Purpose = "EMERGENCY"
)

// Purposes lists every purpose.
func Purposes() []Purpose {
	return []Purpose{PurposeCaseManagement, PurposeServiceDelivery, PurposeProsecution,
		PurposeEmploymentCheck, PurposeStatistics, PurposeFamilyContact, PurposeEmergency}
}

// Valid reports whether p is one of the purposes.
func (p Purpose) Valid() bool {
	for _, q := range Purposes() {
		if p == q {
			return true
		}
	}
	return false
}
