// Package demo generates Lindung's demo data set: a complete, consistent, plainly fictional picture of a
// year or two of trafficking cases in Malaysia, sized on request, for the demo hub and for benchmarks.
//
// Generation is deterministic: a fixed seed drives every choice, ids included, so the same size and day
// give the same data set. Dates are relative to the day of generation, so that orders, placements and
// consents are current whenever the demo is seeded. Every name is marked fictional.
package demo

import (
	"math/rand/v2"
	"time"

	"github.com/lindung/lindung"
)

// The slugs of the demo partners.
const (
	SlugKPWKM          = "kpwkm"
	SlugPDRM           = "pdrm"
	SlugJIM            = "jim"
	SlugNGOHarapan     = "ngo-harapan"
	SlugNGOSuara       = "ngo-suara"
	SlugNGOCahaya      = "ngo-cahaya"
	SlugEmployerLadang = "employer-ladang"
	SlugEmployerKilang = "employer-kilang"
	SlugOperator       = "operator"
)

// PartnerSlugs lists the demo partners' slugs in the order the data set holds the partners.
func PartnerSlugs() []string {
	return []string{SlugKPWKM, SlugPDRM, SlugJIM, SlugNGOHarapan, SlugNGOSuara, SlugNGOCahaya,
		SlugEmployerLadang, SlugEmployerKilang, SlugOperator}
}

// NGOSlugs lists the demo NGOs' slugs.
func NGOSlugs() []string { return []string{SlugNGOHarapan, SlugNGOSuara, SlugNGOCahaya} }

// The roles the demo users hold.
const (
	RoleMinistryAnalyst    = "ministry_analyst"
	RoleProtectionOfficer  = "protection_officer"
	RoleEnforcementOfficer = "enforcement_officer"
	RoleNGOCaseworker      = "ngo_caseworker"
	RoleEmployerHR         = "employer_hr"
	RoleOperator           = "operator"
	// RoleRouter is the federation router's service account (docs/federation.md), a user of the operator.
	RoleRouter = "router"
)

// UntrainedOfficerUsername is the protection officer who has not completed the training module, to show
// that a role without training opens nothing.
const UntrainedOfficerUsername = "protection_officer.untrained@kpwkm"

// TrainingModule is the version of the protection-officer training module the trained officer completed.
const TrainingModule = "PO-2026.1"

// DemoUsername returns the username of the demo user who holds role at the partner with slug.
func DemoUsername(role, slug string) string { return role + "@" + slug }

// Seeds of the generator: fixed, so that every run gives the same data set.
const (
	seedFixed1, seedFixed2 = 0x4c696e64756e6701, 0x64656d6f2d666978 // partners, users, base shelters
	seedMain1, seedMain2   = 0x4c696e64756e6702, 0x64656d6f2d636173 // cases and everything about them
	// accounts added after the first release, drawn apart so that the ids and capacities drawn from the
	// fixed stream after the users stay as they were.
	seedLate1, seedLate2 = 0x4c696e64756e6703, 0x64656d6f2d6c6174
)

// Generate returns a data set of size victims, dated relative to today (truncated to the UTC day). The same
// size and day always give the same data set, ids included. The partners, users and the first shelters
// carry the same ids whatever the size.
func Generate(size int, today time.Time) *lindung.Dataset {
	if size < 0 {
		size = 0
	}
	t := today.UTC()
	g := &gen{
		fixed: rand.New(rand.NewPCG(seedFixed1, seedFixed2)),
		r:     rand.New(rand.NewPCG(seedMain1, seedMain2)),
		today: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC),
		ds:    &lindung.Dataset{},
	}
	g.partners()
	g.users()
	g.baseShelters()
	g.victims(size)
	g.shelters()
	g.place()
	g.links()
	g.work()
	g.care()
	return g.ds
}

// ServiceCatalogue returns the services the hub knows, by code.
func ServiceCatalogue() []*lindung.Service {
	return []*lindung.Service{
		{Code: svcHealth, Name: "Health and treatment", Description: "Medical screening, treatment and follow-up."},
		{Code: svcCounselling, Name: "Counselling", Description: "Psychosocial support and trauma counselling."},
		{Code: svcLegal, Name: "Legal and court support", Description: "Advice and accompaniment to court."},
		{Code: svcInterpreter, Name: "Interpreter", Description: "Interpretation in the victim's language."},
		{Code: svcFamily, Name: "Family communication", Description: "Calls and visits with family."},
		{Code: svcWork, Name: "Work permission", Description: "Screening and assessment for permission to work."},
		{Code: svcRepatriation, Name: "Repatriation", Description: "Safe return to the country of origin."},
	}
}

// The service codes.
const (
	svcHealth       = "HEALTH"
	svcCounselling  = "COUNSELLING"
	svcLegal        = "LEGAL"
	svcInterpreter  = "INTERPRETER"
	svcFamily       = "FAMILY_COMMUNICATION"
	svcWork         = "WORK_PERMISSION"
	svcRepatriation = "REPATRIATION"
)
