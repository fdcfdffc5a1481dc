package demo

import (
	"fmt"
	"time"

	"github.com/lindung/lindung"
)

// referralKind is a service kpwkm refers victims to an NGO for, with what the referral asks to share.
type referralKind struct {
	service    string
	to         string
	p          float64
	categories lindung.CategorySet
	reasons    []string
}

var referralKinds = []referralKind{
	{svcHealth, SlugNGOHarapan, 0.55,
		lindung.SetOf(lindung.Demographic, lindung.Case, lindung.Health, lindung.Contact),
		[]string{"Medical screening for the work permission", "Follow-up of an injury from the workplace",
			"General health check after rescue"}},
	{svcCounselling, SlugNGOSuara, 0.45,
		lindung.SetOf(lindung.Demographic, lindung.Case, lindung.Counselling, lindung.Contact),
		[]string{"Trauma counselling", "Support before giving evidence in court", "Group sessions in the shelter"}},
	{svcInterpreter, SlugNGOCahaya, 0.6,
		lindung.SetOf(lindung.Identity, lindung.Demographic, lindung.Contact),
		[]string{"Interpreter for the statement to the police", "Interpreter for the court hearing",
			"Interpreter for medical appointments"}},
	{svcFamily, SlugNGOSuara, 0.15,
		lindung.SetOf(lindung.Demographic, lindung.Case, lindung.Family, lindung.Contact),
		[]string{"Arrange a call with family at home", "Trace family members in the home country"}},
}

var rejectionReasons = []string{
	"No capacity this month; please refer again in four weeks",
	"Outside our service area",
	"Service not offered for this age group",
	"Duplicate of an earlier referral",
}

var openStatuses = []w[string]{{"ACCEPTED", 55}, {"IN_PROGRESS", 15}, {"REJECTED", 7}, {"COMPLETED", 13}, {"WITHDRAWN", 10}}
var closedStatuses = []w[string]{{"COMPLETED", 75}, {"WITHDRAWN", 15}, {"REJECTED", 10}}

// care records for every victim their consents, the referrals made under them, and the services requested,
// scheduled and delivered.
func (g *gen) care() {
	kpwkm := g.partner[SlugKPWKM]
	for _, p := range g.people {
		h := p.hh
		caseEnd := g.today // the last day services run on
		if p.ended != nil {
			caseEnd = *p.ended
		}
		pConsent := 0.95
		switch h.stage {
		case stNoOrder:
			pConsent = 0.5
		case stNotVictim:
			pConsent = 0.7
		}
		if !g.chance(pConsent) {
			g.ownServices(p, caseEnd)
			continue
		}
		c := g.consent(p, h.identified.Add(time.Duration(g.r.IntN(3))*day), 1)
		open := g.today // referrals are made while the consent holds
		state := pick(g.r, []w[string]{{"ACTIVE", 80}, {"WITHDRAWN", 10}, {"EXPIRED", 10}})
		var periodEnd *time.Time
		switch {
		case state == "WITHDRAWN":
			c.WithdrawnAt = ptr(g.within(c.RecordedAt, g.today.Add(-time.Hour)))
			open = *c.WithdrawnAt
		case state == "EXPIRED" && g.since(c.RecordedAt) >= 3:
			recDay := c.RecordedAt.Truncate(day)
			periodEnd = ptr(recDay.Add(time.Duration(g.between(1, g.since(recDay)-1)) * day))
			open = *periodEnd
		}

		var refs []*lindung.Referral
		last := minDate(open, caseEnd)
		if (h.stage == stIPO || h.stage == stPO || h.stage == stClosed) && last.After(c.RecordedAt.Add(time.Hour)) {
			for _, k := range referralKinds {
				if k.service == svcInterpreter && !p.v.InterpreterNeeded || !g.chance(k.p) {
					continue
				}
				refs = append(refs, g.referral(p, k, c.RecordedAt, last))
			}
		}
		g.ownServices(p, caseEnd)

		var used [3]lindung.CategorySet // by NGO, in NGOSlugs order
		family := false
		for _, r := range refs {
			for i, s := range NGOSlugs() {
				if g.partner[s].ID == r.ToPartnerID {
					used[i] |= r.Categories
				}
			}
			family = family || r.ServiceCode == svcFamily
		}
		start := c.RecordedAt.Truncate(day)
		prov := func(partner *string, typ *lindung.PartnerType, cats lindung.CategorySet, purposes ...lindung.Purpose) {
			pr := lindung.ConsentProvision{Owned: lindung.Owned{VictimID: p.v.ID}, GranteePartnerID: partner, GranteeType: typ, Categories: cats,
				Purposes: purposes, PeriodStart: start}
			if periodEnd != nil {
				pr.PeriodEnd = ptr(*periodEnd)
			}
			c.Provisions = append(c.Provisions, pr)
		}
		if g.chance(0.7) {
			prov(ptr(kpwkm.ID), nil, lindung.SetOf(lindung.Health, lindung.Counselling), lindung.PurposeCaseManagement)
		}
		for i, s := range NGOSlugs() {
			if used[i] == 0 {
				continue
			}
			purposes := []lindung.Purpose{lindung.PurposeServiceDelivery}
			if s == SlugNGOSuara && family {
				purposes = append(purposes, lindung.PurposeFamilyContact)
			}
			prov(ptr(g.partner[s].ID), nil, used[i], purposes...)
		}
		if p.linkPDRM && g.chance(0.85) || !p.linkPDRM && g.chance(0.2) {
			prov(nil, ptr(lindung.PartnerGovernment), lindung.SetOf(lindung.Identity, lindung.Contact), lindung.PurposeProsecution)
		}
		if len(c.Provisions) == 0 || g.chance(0.85) {
			prov(nil, ptr(lindung.PartnerGovernment), lindung.SetOf(lindung.Demographic, lindung.Case), lindung.PurposeStatistics)
		}
		// A verbal consent that widens what the officer's own agency may see took effect once a second
		// officer of the agency confirmed it (four eyes), an hour after it was recorded.
		if c.DocumentRef == nil && c.Widens(kpwkm.ID, kpwkm.Type) {
			c.NeedsConfirmation = true
			c.ConfirmedByUserID = ptr(g.confirmer.ID)
			c.ConfirmedAt = ptr(c.RecordedAt.Add(time.Hour))
		}
		g.ds.Consents = append(g.ds.Consents, c)

		// A separate, written consent lets employers check the eligibility code of a victim allowed to work.
		if p.work != nil && p.work.Decision == "ELIGIBLE" && g.chance(0.85) {
			e := g.consent(p, *p.work.DecidedOn, 2)
			e.Method = "WRITTEN"
			e.DocumentRef = ptr(fmt.Sprintf("consent-forms/%s/2.pdf", p.v.CaseRef))
			if g.chance(0.1) {
				e.WithdrawnAt = ptr(g.within(e.RecordedAt, g.today.Add(-time.Hour)))
			}
			e.Provisions = []lindung.ConsentProvision{{
				Owned:       lindung.Owned{VictimID: p.v.ID},
				GranteeType: ptr(lindung.PartnerPrivate),
				Categories:  lindung.SetOf(lindung.Employment),
				Purposes:    []lindung.Purpose{lindung.PurposeEmploymentCheck},
				PeriodStart: *p.work.DecidedOn,
				PeriodEnd:   ptr(*p.work.ValidUntil),
			}}
			g.ds.Consents = append(g.ds.Consents, e)
		}
	}
}

// consent starts a consent of p recorded on day d (or yesterday, if d is not in the past); n numbers the
// victim's consent forms.
func (g *gen) consent(p *person, d time.Time, n int) *lindung.Consent {
	c := &lindung.Consent{
		Owned:            lindung.Owned{VictimID: p.v.ID},
		ID:               g.id(),
		GrantorVictimID:  p.v.ID,
		GrantorRelation:  "SELF",
		RecordedByUserID: g.officer.ID,
		RecordedAt:       g.stamp(d),
		Language:         p.v.Languages[0],
		Method:           "VERBAL",
	}
	if p.mother != nil {
		c.GrantorVictimID = p.mother.v.ID
		c.GrantorRelation = "MOTHER"
	}
	if p.v.InterpreterNeeded && g.chance(0.75) {
		c.InterpreterPartnerID = ptr(g.partner[SlugNGOCahaya].ID)
	}
	if g.chance(0.6) {
		c.Method = "WRITTEN"
		c.DocumentRef = ptr(fmt.Sprintf("consent-forms/%s/%d.pdf", p.v.CaseRef, n))
	}
	return c
}

// referral records a referral of p made between from and last, and the service it led to.
func (g *gen) referral(p *person, k referralKind, from, last time.Time) *lindung.Referral {
	created := g.within(from, last)
	statuses := openStatuses
	if p.hh.stage == stClosed {
		statuses = closedStatuses
	}
	r := &lindung.Referral{
		Owned:         lindung.Owned{VictimID: p.v.ID},
		ID:            g.id(),
		FromPartnerID: g.partner[SlugKPWKM].ID,
		ToPartnerID:   g.partner[k.to].ID,
		ServiceCode:   k.service,
		Categories:    k.categories,
		Status:        pick(g.r, statuses),
		Reason:        one(g.r, k.reasons),
		CreatedAt:     created,
		DueOn:         created.Truncate(day).Add(time.Duration(g.between(7, 30)) * day),
	}
	if p.v.MedicalNeeds != nil && *p.v.MedicalNeeds == antenatal && k.service == svcHealth {
		r.Reason = "Antenatal care"
	}
	r.UpdatedAt = r.CreatedAt
	if r.Status != "IN_PROGRESS" {
		r.UpdatedAt = g.within(r.CreatedAt, minDate(g.today, maxDate(last, r.CreatedAt.Add(time.Hour))))
	}
	if r.Status == "REJECTED" {
		r.RejectionReason = ptr(one(g.r, rejectionReasons))
	}
	g.ds.Referrals = append(g.ds.Referrals, r)

	requested := created.Truncate(day)
	switch r.Status {
	case "IN_PROGRESS":
		g.service(p, k.service, r.ToPartnerID, "REQUESTED", requested, g.today)
	case "ACCEPTED":
		if g.chance(0.4) { // sessions have begun
			g.service(p, k.service, r.ToPartnerID, "DELIVERED", requested, g.today)
		} else {
			g.service(p, k.service, r.ToPartnerID, "SCHEDULED", requested, g.today)
		}
	case "COMPLETED":
		g.service(p, k.service, r.ToPartnerID, "DELIVERED", requested, maxDate(last, requested.Add(day)))
	case "WITHDRAWN":
		g.service(p, k.service, r.ToPartnerID, "CANCELLED", requested, g.today)
	}
	return r
}

// ownServices records the services kpwkm provides itself.
func (g *gen) ownServices(p *person, caseEnd time.Time) {
	h := p.hh
	kpwkm := g.partner[SlugKPWKM].ID
	current := h.stage == stIPO || h.stage == stPO
	status := func() string {
		if !current {
			return "DELIVERED"
		}
		return pick(g.r, []w[string]{{"REQUESTED", 25}, {"SCHEDULED", 35}, {"DELIVERED", 40}})
	}
	begin := h.identified.Add(day)
	if current && g.chance(0.3) {
		g.service(p, svcHealth, kpwkm, status(), begin, caseEnd)
	}
	if p.linkPDRM && h.stage != stNoOrder && g.chance(0.6) {
		g.service(p, svcLegal, kpwkm, status(), begin, caseEnd)
	}
	if h.stage != stNoOrder && g.chance(0.2) {
		g.service(p, svcFamily, kpwkm, status(), begin, caseEnd)
	}
	if p.work != nil {
		requested := p.current.StartsOn.Add(day)
		switch p.work.Decision {
		case "PENDING":
			g.service(p, svcWork, kpwkm, "SCHEDULED", requested, g.today)
		default:
			g.service(p, svcWork, kpwkm, "DELIVERED", requested, p.work.DecidedOn.Add(day))
		}
	}
	switch {
	case h.stage == stClosed && g.chance(0.7):
		g.service(p, svcRepatriation, kpwkm, "DELIVERED", caseEnd.Add(-14*day), caseEnd.Add(day))
	case h.stage == stPO && g.chance(0.15):
		g.service(p, svcRepatriation, kpwkm, "REQUESTED", p.current.StartsOn.Add(day), g.today)
	case h.stage == stClosed && g.chance(0.2):
		g.service(p, svcRepatriation, kpwkm, "CANCELLED", caseEnd.Add(-20*day), g.today)
	}
}

// service records a service for p requested on day requested; a delivered service is delivered before
// the day by.
func (g *gen) service(p *person, code, provider, status string, requested, by time.Time) {
	requested = minDate(requested, g.daysAgo(1))
	s := &lindung.ServiceRecord{
		Owned:             lindung.Owned{VictimID: p.v.ID},
		ID:                g.id(),
		ServiceCode:       code,
		ProviderPartnerID: provider,
		Status:            status,
		RequestedOn:       requested,
	}
	switch status {
	case "SCHEDULED":
		s.ScheduledFor = ptr(g.daysAgo(-g.between(1, 14)))
	case "DELIVERED":
		by = minDate(by, g.today)
		span := max(int(by.Sub(requested)/day)-1, 0)
		d := requested.Add(time.Duration(g.between(0, span)) * day)
		s.ScheduledFor = ptr(d)
		s.DeliveredOn = ptr(d)
	}
	g.ds.ServiceRecords = append(g.ds.ServiceRecords, s)
}
