package demo

import (
	"fmt"
	"time"

	"github.com/lindung/lindung"
)

// stage is where a case stands today, which fixes its orders, placements and status.
type stage int

const (
	stIPO       stage = iota // under a current Interim Protection Order; presumed a victim
	stPO                     // IPO ended, under a current Protection Order; confirmed
	stClosed                 // IPO and PO both ended; confirmed; repatriated or released
	stNoOrder                // identified days ago, no order yet; presumed
	stNotVictim              // IPO ended early: the court found the person not to be a victim
)

var adultStages = []w[stage]{{stIPO, 40}, {stPO, 35}, {stClosed, 15}, {stNoOrder, 5}, {stNotVictim, 5}}
var motherStages = []w[stage]{{stIPO, 45}, {stPO, 40}, {stClosed, 15}}

// household is people rescued together: one adult, an unaccompanied child, or a mother with her children.
// They share a stage, dates, a court and a placement.
type household struct {
	members    []*person // the head first
	withKids   bool      // a mother and her children
	stage      stage
	identified time.Time
	ipoStart   time.Time
	court      court
	current    string // IPO or PO: the order type in force today; "" if none
}

// person is a victim with what generation needs to know about them beyond the record.
type person struct {
	v        *lindung.Victim
	hh       *household
	mother   *person                  // for a child with her mother
	category string                   // the shelter category they belong in
	current  *lindung.ProtectionOrder // the order in force today
	ended    *time.Time               // the day the last order ended, for a finished case
	linkPDRM bool
	work     *lindung.WorkEligibility
}

func (p *person) child() bool {
	b := *p.v.AgeBand
	return b == "AGE_0_8" || b == "AGE_9_17"
}

// victims adds size victims, in households.
func (g *gen) victims(size int) {
	g.seq = map[string]int{}
	for len(g.people) < size {
		left := size - len(g.people)
		kind := pick(g.r, []w[int]{{0, 925}, {1, 30}, {2, 45}})
		switch {
		case kind == 2 && left >= 2:
			kids := 1
			if left >= 3 && g.chance(0.2) {
				kids = 2
			}
			g.family(kids)
		case kind == 1:
			g.single(true)
		default:
			g.single(false)
		}
	}
	for _, p := range g.people {
		g.ds.Victims = append(g.ds.Victims, p.v)
	}
}

func (g *gen) single(minor bool) {
	h := &household{stage: pick(g.r, adultStages)}
	g.dates(h)
	cit := pick(g.r, citizenships)
	var p *person
	if minor {
		p = g.person(h, cit, pick(g.r, []w[string]{{"FEMALE", 55}, {"MALE", 45}}), "AGE_9_17", nil)
		p.category = "CHILDREN"
	} else {
		gender := pick(g.r, []w[string]{{"FEMALE", 58}, {"MALE", 40}, {"OTHER", 2}})
		p = g.person(h, cit, gender, pick(g.r, adultBands), nil)
		p.category = "WOMEN"
		if gender == "MALE" {
			p.category = "MEN"
		}
	}
	h.members = []*person{p}
	g.households = append(g.households, h)
}

func (g *gen) family(kids int) {
	h := &household{stage: pick(g.r, motherStages), withKids: true}
	g.dates(h)
	cit := pick(g.r, citizenships)
	m := g.person(h, cit, "FEMALE", pick(g.r, motherBands), nil)
	m.category = "MOTHERS_WITH_CHILDREN"
	h.members = []*person{m}
	for range kids {
		band := pick(g.r, []w[string]{{"AGE_0_8", 60}, {"AGE_9_17", 40}})
		c := g.person(h, cit, pick(g.r, []w[string]{{"FEMALE", 50}, {"MALE", 50}}), band, m)
		c.category = "MOTHERS_WITH_CHILDREN"
		c.mother = m
		h.members = append(h.members, c)
		g.ds.FamilyLinks = append(g.ds.FamilyLinks, &lindung.FamilyLink{
			Owned:           lindung.Owned{VictimID: c.v.ID},
			RelatedVictimID: m.v.ID,
			Relationship:    "MOTHER",
		})
	}
	g.households = append(g.households, h)
}

// dates sets when a household was identified and its first order made, from its stage.
func (g *gen) dates(h *household) {
	switch h.stage {
	case stIPO:
		h.ipoStart = g.daysAgo(g.between(1, 20))
	case stPO:
		h.ipoStart = g.daysAgo(21 + g.between(1, 89))
	case stClosed:
		h.ipoStart = g.daysAgo(g.between(114, 729))
	case stNotVictim:
		h.ipoStart = g.daysAgo(g.between(25, 729))
	case stNoOrder:
		h.identified = g.daysAgo(g.between(1, 10))
	}
	if h.stage != stNoOrder {
		h.identified = h.ipoStart.Add(-time.Duration(g.r.IntN(2)) * day)
	}
	state := pick(g.r, rescueStates)
	h.court = one(g.r, courts[state])
}

// person creates one victim of household h; mother is set for a child rescued with her mother, whose
// citizenship, languages and profile the child shares.
func (g *gen) person(h *household, cit, gender, band string, mother *person) *person {
	n := len(g.people) + 1
	v := &lindung.Victim{
		ID:             g.id(),
		OwnerPartnerID: g.partner[SlugKPWKM].ID,
		IdentifiedOn:   h.identified,
	}
	v.Owned.VictimID = v.ID
	v.CaseRef = fmt.Sprintf("LDG-%d-%06d", h.identified.Year(), n)
	v.Gender = ptr(gender)
	dob, band := g.birth(h.identified, band, mother)
	v.AgeBand = ptr(band)
	v.DateOfBirth = ptr(dob)
	v.Citizenship = []string{cit}

	names := givenNames[cit]
	var given string
	switch gender {
	case "FEMALE":
		given = one(g.r, names[0])
	case "MALE":
		given = one(g.r, names[1])
	default:
		given = one(g.r, neutralNames)
	}
	v.LegalName = ptr(fmt.Sprintf("%s Demo-%06d (fictional)", given, n))
	v.Aliases = []string{}
	if g.chance(0.12) {
		v.Aliases = append(v.Aliases, given+" D. (fictional alias)")
	}

	if mother != nil {
		v.Languages = append([]string{}, mother.v.Languages...)
	} else {
		l := language[cit]
		v.Languages = []string{l.first}
		if g.chance(l.p) {
			v.Languages = append(v.Languages, l.second)
		}
	}
	v.InterpreterNeeded = true
	for _, l := range v.Languages {
		if l == "ms" || l == "en" {
			v.InterpreterNeeded = false
		}
	}
	if mother == nil && band != "AGE_9_17" && g.chance(0.55) {
		v.Phone = ptr(fmt.Sprintf("+60 1%d-555 %04d", 1+g.r.IntN(9), g.r.IntN(10000)))
	}

	switch h.stage {
	case stIPO, stNoOrder:
		v.TraffickingStatus = "PRESUMED"
	case stNotVictim:
		v.TraffickingStatus = "NOT_A_VICTIM"
	default:
		v.TraffickingStatus = "CONFIRMED"
	}
	g.profile(v, gender, band, mother)
	if g.chance(0.4) {
		v.MedicalNeeds = ptr(one(g.r, medicalNeeds))
		if gender == "FEMALE" && mother == nil && band != "AGE_9_17" && g.chance(0.1) {
			v.MedicalNeeds = ptr(antenatal)
		}
	}
	if g.chance(0.35) {
		v.CounsellingNotes = ptr(one(g.r, counsellingNotes))
	}
	v.CreatedAt = g.stamp(h.identified)
	v.UpdatedAt = g.within(v.CreatedAt, g.today)

	p := &person{v: v, hh: h}
	g.people = append(g.people, p)
	return p
}

// profile sets the exploitation, sector and means of control.
func (g *gen) profile(v *lindung.Victim, gender, band string, mother *person) {
	switch {
	case mother != nil && band == "AGE_0_8":
		v.ExploitationTypes = []string{"OTHER"}
	case mother != nil:
		v.ExploitationTypes = []string{"FORCED_LABOUR"}
		v.Sector = ptr("DOMESTIC_WORK")
		if mother.v.Sector != nil {
			v.Sector = ptr(*mother.v.Sector)
		}
	case gender == "MALE":
		v.ExploitationTypes = append([]string{}, pick(g.r, maleExploitation)...)
	default:
		v.ExploitationTypes = append([]string{}, pick(g.r, femaleExploitation)...)
	}
	sexual := false
	for _, t := range v.ExploitationTypes {
		switch t {
		case "FORCED_LABOUR", "SEX_AND_LABOUR":
			if v.Sector == nil {
				if gender == "MALE" {
					v.Sector = ptr(pick(g.r, maleSectors))
				} else {
					v.Sector = ptr(pick(g.r, femaleSectors))
				}
			}
		}
		if t == "SEXUAL_EXPLOITATION" || t == "SEX_AND_LABOUR" || t == "FORCED_MARRIAGE" {
			sexual = true
		}
	}
	v.MeansOfControl = []string{}
	for _, m := range meansOfControl {
		p := m.p
		if m.flag == "SEXUAL_ABUSE" && sexual {
			p = 0.5
		}
		if g.chance(p) {
			v.MeansOfControl = append(v.MeansOfControl, m.flag)
		}
	}
	if len(v.MeansOfControl) == 0 {
		v.MeansOfControl = append(v.MeansOfControl, "WITHHOLDS_DOCUMENTS")
	}
}

// birth returns a date of birth that puts the person in band both on the day they were identified and
// today, so the band holds whichever day it is computed on; a child is born while the mother was 16 to 45.
func (g *gen) birth(identified time.Time, band string, mother *person) (time.Time, string) {
	lo, hi := g.bornRange(identified, band)
	if mother != nil {
		m := *mother.v.DateOfBirth
		lo = maxDate(lo, m.AddDate(16, 0, 0))
		hi = minDate(hi, m.AddDate(45, 0, 0))
		if hi.Before(lo) { // too young a mother for a child of 9 to 17: a younger child
			band = "AGE_0_8"
			lo, hi = g.bornRange(identified, band)
			lo = maxDate(lo, m.AddDate(16, 0, 0))
		}
	}
	days := int(hi.Sub(lo) / day)
	return lo.Add(time.Duration(g.r.IntN(days+1)) * day), band
}

// bornRange is the range of birth dates for which the age is in band on the day identified and today.
func (g *gen) bornRange(identified time.Time, band string) (lo, hi time.Time) {
	y := bandYears[band]
	lo = g.today.AddDate(-(y[1] + 1), 0, 2)
	hi = identified.AddDate(-y[0], 0, -1)
	return lo, hi
}

// ageOn returns the age in whole years on day at of a person born on dob.
func ageOn(dob, at time.Time) int {
	age := at.Year() - dob.Year()
	if at.Month() < dob.Month() || at.Month() == dob.Month() && at.Day() < dob.Day() {
		age--
	}
	return age
}
