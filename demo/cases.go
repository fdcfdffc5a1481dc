package demo

import (
	"fmt"
	"time"

	"github.com/lindung/lindung"
)

// Order durations: the commonly cited defaults of Act 670.
const (
	ipoDays = 21
	poDays  = 90
)

var transferReasons = []string{
	"Transferred nearer the court hearing the case",
	"Transferred to a shelter with an interpreter on site",
	"Transferred after a risk assessment",
}

// place makes every household's orders and placements: current residents take a place in a shelter of
// their kind with room for the whole household; past stays are recorded with their end.
func (g *gen) place() {
	for _, h := range g.households {
		if h.stage == stNoOrder {
			continue
		}
		ipoEnd := h.ipoStart.Add(ipoDays * day)
		var ipoEnded, poEnded *time.Time
		switch h.stage {
		case stPO, stClosed:
			ipoEnded = ptr(ipoEnd)
		case stNotVictim:
			ipoEnded = ptr(minDate(h.ipoStart.Add(time.Duration(g.between(5, 20))*day), g.daysAgo(1)))
		}
		if h.stage == stClosed {
			end := ipoEnd.Add(poDays * day)
			if g.chance(0.3) { // repatriated before the order ran out
				end = ipoEnd.Add(time.Duration(g.between(30, poDays-1)) * day)
			}
			poEnded = ptr(end)
		}
		freedom := g.chance(0.4)
		for _, p := range h.members {
			ipo := g.order(p, h, "IPO", h.ipoStart, ipoEnded, nil)
			switch h.stage {
			case stIPO:
				p.current = ipo
			case stNotVictim:
				p.ended = ipoEnded
			case stClosed:
				p.ended = poEnded
			}
			if h.stage == stPO || h.stage == stClosed {
				cond := []string{}
				if freedom && !p.child() {
					cond = append(cond, "FREEDOM_OF_MOVEMENT")
				}
				po := g.order(p, h, "PO", ipoEnd, poEnded, cond)
				if h.stage == stPO {
					p.current = po
				}
			}
		}

		cat := h.members[0].category
		ipoShelter := one(g.r, g.shelterOf[bucket{cat, "IPO"}])
		switch h.stage {
		case stIPO:
			from := h.ipoStart
			now := g.alloc(h, bucket{cat, "IPO"})
			if now != nil && now != ipoShelter && !h.withKids && g.since(from) >= 3 && g.chance(0.08) {
				to := from.Add(time.Duration(g.between(1, g.since(from)-1)) * day)
				g.stay(h, ipoShelter, from, &to, "Interim Protection Order made; placed in a place of refuge")
				g.stay(h, now, to, nil, one(g.r, transferReasons))
				break
			}
			g.stay(h, now, from, nil, "Interim Protection Order made; placed in a place of refuge")
		case stPO:
			g.stay(h, ipoShelter, h.ipoStart, ptr(ipoEnd), "Interim Protection Order made; placed in a place of refuge")
			g.stay(h, g.alloc(h, bucket{cat, "PO"}), ipoEnd, nil, "Protection Order made; moved to a PO place of refuge")
		case stClosed:
			g.stay(h, ipoShelter, h.ipoStart, ptr(ipoEnd), "Interim Protection Order made; placed in a place of refuge")
			g.stay(h, one(g.r, g.shelterOf[bucket{cat, "PO"}]), ipoEnd, poEnded, "Protection Order made; moved to a PO place of refuge")
		case stNotVictim:
			g.stay(h, ipoShelter, h.ipoStart, ipoEnded, "Interim Protection Order made; placed in a place of refuge")
		}
	}
}

// order records a protection order for p.
func (g *gen) order(p *person, h *household, typ string, start time.Time, ended *time.Time, cond []string) *lindung.ProtectionOrder {
	g.seq[typ]++
	if cond == nil {
		cond = []string{}
	}
	o := &lindung.ProtectionOrder{
		Owned:       lindung.Owned{VictimID: p.v.ID},
		ID:          g.id(),
		Type:        typ,
		Court:       h.court.name,
		OrderNumber: fmt.Sprintf("%s/%s/%d/%06d", typ, h.court.code, start.Year(), g.seq[typ]),
		StartsOn:    start,
		Conditions:  cond,
	}
	if typ == "IPO" {
		o.EndsOn = start.Add(ipoDays * day)
	} else {
		o.EndsOn = start.Add(poDays * day)
	}
	if ended != nil {
		o.EndedOn = ptr(*ended)
	}
	g.ds.Orders = append(g.ds.Orders, o)
	return o
}

// alloc takes places for the whole household in a shelter of bucket b with room for all of them, or
// returns nil when there is none.
func (g *gen) alloc(h *household, b bucket) *lindung.Shelter {
	list := g.shelterOf[b]
	if len(list) == 0 {
		return nil
	}
	k := len(h.members)
	start := g.r.IntN(len(list))
	for i := range list {
		sh := list[(start+i)%len(list)]
		if sh.Capacity-sh.Occupancy >= k {
			sh.Occupancy += k
			return sh
		}
	}
	return nil
}

// stay records a stay of every member of h in shelter sh; a nil shelter leaves them unplaced.
func (g *gen) stay(h *household, sh *lindung.Shelter, from time.Time, to *time.Time, reason string) {
	if sh == nil {
		return
	}
	for i, p := range h.members {
		r := reason
		switch {
		case h.withKids && i == 0:
			r += "; placed together with her children"
		case h.withKids:
			r += "; placed together with the mother"
		}
		pl := &lindung.Placement{
			Owned:     lindung.Owned{VictimID: p.v.ID},
			ID:        g.id(),
			ShelterID: sh.ID,
			FromDate:  from,
			Reason:    r,
		}
		if to != nil {
			pl.ToDate = ptr(*to)
		}
		g.ds.Placements = append(g.ds.Placements, pl)
	}
}

// links records the agencies linked to each case: the police investigating, immigration deciding on status.
// Children follow their mother.
func (g *gen) links() {
	for _, h := range g.households {
		pdrm, jim := g.chance(0.4), g.chance(0.3)
		for _, p := range h.members {
			p.linkPDRM = pdrm
			if pdrm {
				g.ds.CaseLinks = append(g.ds.CaseLinks, &lindung.CaseLink{VictimID: p.v.ID, PartnerID: g.partner[SlugPDRM].ID, Role: "INVESTIGATING"})
			}
			if jim {
				g.ds.CaseLinks = append(g.ds.CaseLinks, &lindung.CaseLink{VictimID: p.v.ID, PartnerID: g.partner[SlugJIM].ID, Role: "IMMIGRATION"})
			}
		}
	}
}

// work decides on permission to work for every adult holding a Protection Order: eligible once the
// medical screening and the risk assessment are both passed, until the order ends.
func (g *gen) work() {
	for _, p := range g.people {
		if p.current == nil || p.current.Type != "PO" || p.child() {
			continue
		}
		we := &lindung.WorkEligibility{Owned: lindung.Owned{VictimID: p.v.ID}, ProtectionOrderHeld: true, Decision: "PENDING"}
		held := g.since(p.current.StartsOn)
		if held >= 10 { // screening and assessment take a week or two
			we.MedicalScreeningPassed = g.chance(0.85)
			we.RiskAssessmentPassed = g.chance(0.8)
			decided := p.current.StartsOn.Add(time.Duration(g.between(7, min(30, held-1))) * day)
			switch {
			case we.MedicalScreeningPassed && we.RiskAssessmentPassed:
				we.Decision = "ELIGIBLE"
				we.DecidedOn = ptr(decided)
				we.ValidUntil = ptr(p.current.EndsOn)
			case g.chance(0.5):
				we.Decision = "NOT_ELIGIBLE"
				we.DecidedOn = ptr(decided)
			}
		}
		p.work = we
		g.ds.WorkEligibility = append(g.ds.WorkEligibility, we)
	}
}
