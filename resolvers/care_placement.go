package resolvers

import (
	"context"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/graph/model"
)

// limits returns the protection-order limits the resolver was configured with, Act 670's by default.
func (r *Resolver) limits() lindung.OrderLimits {
	if r.OrderLimits == (lindung.OrderLimits{}) {
		return lindung.DefaultOrderLimits()
	}
	return r.OrderLimits
}

// recordOrder validates and records a protection order. The order rules are checked on the victim's
// orders read under a lock on the victim, so two requests cannot record two orders in force at once.
func recordOrder(ctx context.Context, limits lindung.OrderLimits, in model.RecordProtectionOrderInput, key *string) (*lindung.ProtectionOrder, error) {
	req, err := authorize(ctx, lindung.ActionManageOrders)
	if err != nil {
		return nil, err
	}
	o := &lindung.ProtectionOrder{Owned: lindung.Owned{VictimID: in.VictimID}, Type: in.Type, StartsOn: in.StartsOn,
		EndsOn: in.EndsOn}
	if o.Court, err = text("court", in.Court, 200); err != nil {
		return nil, err
	}
	if o.OrderNumber, err = text("orderNumber", in.OrderNumber, 100); err != nil {
		return nil, err
	}
	if len(in.Conditions) > 20 {
		return nil, lindung.Invalid("conditions", "an order has at most 20 conditions")
	}
	for _, c := range in.Conditions {
		c, err := text("conditions", c, 500)
		if err != nil {
			return nil, err
		}
		o.Conditions = append(o.Conditions, c)
	}
	if _, err := lindung.CheckNewOrder(o, nil, limits); lindung.CodeOf(err) == lindung.EINVALID {
		return nil, err // the durations, before anything is read
	}
	ref, _, err := idempotent(ctx, req, key, "recordProtectionOrder", in, func() (string, error) {
		if _, err := visibleVictim(ctx, req, in.VictimID); err != nil {
			return "", err
		}
		if err := req.Session.LockVictims(ctx, []string{in.VictimID}); err != nil {
			return "", err
		}
		existing, err := req.Session.FindOrdersByVictimIDs(ctx, []string{in.VictimID})
		if err != nil {
			return "", err
		}
		ended, err := lindung.CheckNewOrder(o, existing[0], limits)
		if err != nil {
			return "", err
		}
		if err := req.Session.CreateOrder(ctx, o); err != nil {
			return "", err
		}
		if ended != nil {
			if err := req.Session.UpdateOrderDates(ctx, ended.ID, nil, &o.StartsOn); err != nil {
				return "", err
			}
			if err := req.changed(ctx, in.VictimID, "protectionOrder", ended.ID, "ended", "endedOn"); err != nil {
				return "", err
			}
		}
		return in.VictimID + "/" + o.ID, req.changed(ctx, in.VictimID, "protectionOrder", o.ID, "recorded",
			"type", "court", "orderNumber", "startsOn", "endsOn", "conditions")
	})
	if err != nil {
		return nil, err
	}
	victimID, id := victimAndID(ref)
	return reloadOne(ctx, req.Session.FindOrdersByVictimIDs, victimID, id, func(o *lindung.ProtectionOrder) string { return o.ID })
}

// changeOrder extends an order in force (endsOn) or ends it early (endedOn).
func changeOrder(ctx context.Context, limits lindung.OrderLimits, id string, endsOn, endedOn *time.Time) (*lindung.ProtectionOrder, error) {
	req, err := authorize(ctx, lindung.ActionManageOrders)
	if err != nil {
		return nil, err
	}
	o, err := req.Session.FindOrderForUpdate(ctx, id)
	if err != nil {
		return nil, err
	}
	action, field := "extended", "endsOn"
	if endsOn != nil {
		if err := lindung.CheckExtension(o, *endsOn, today(), limits); err != nil {
			return nil, err
		}
	} else {
		action, field = "ended", "endedOn"
		if o.EndedOn != nil {
			return nil, lindung.Errorf(lindung.ECONFLICT, "ORDER_ENDED: the order was ended already")
		}
		if endedOn.Before(lindung.Day(o.StartsOn)) || endedOn.After(lindung.Day(o.EndsOn)) {
			return nil, lindung.Invalid("endedOn", "an order is ended on a day between its start and its end")
		}
	}
	if err := req.Session.UpdateOrderDates(ctx, id, endsOn, endedOn); err != nil {
		return nil, err
	}
	if err := req.changed(ctx, o.VictimID, "protectionOrder", id, action, field); err != nil {
		return nil, err
	}
	return reloadOne(ctx, req.Session.FindOrdersByVictimIDs, o.VictimID, id, func(o *lindung.ProtectionOrder) string { return o.ID })
}

// household is a victim with the family members the placement rules concern, as residents.
type household struct {
	victim   *lindung.Resident
	mother   *lindung.Resident   // when the victim is a child whose mother is a visible case
	children []*lindung.Resident // when the victim is a mother: her children who are visible cases
	current  map[string]*lindung.Placement
}

// readHousehold locks the victim and the family members the rules concern, then reads them: their ages,
// orders in force on day on and current placements.
func readHousehold(ctx context.Context, req *Request, victimID string, on time.Time) (*household, error) {
	if _, err := visibleVictim(ctx, req, victimID); err != nil {
		return nil, err
	}
	family, err := req.Session.FindFamilyByVictimIDs(ctx, []string{victimID})
	if err != nil {
		return nil, err
	}
	ids := []string{victimID}
	motherID := ""
	for _, f := range family[0] {
		ids = append(ids, f.RelatedVictimID)
		if f.Relationship == "MOTHER" {
			motherID = f.RelatedVictimID
		}
	}
	vs, err := req.Session.FindVictimsByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	var visible []string
	for _, v := range vs {
		if v != nil {
			visible = append(visible, v.ID)
		}
	}
	if err := req.Session.LockVictims(ctx, visible); err != nil {
		return nil, err
	}
	placements, err := req.Session.FindPlacementsByVictimIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	orders, err := req.Session.FindOrdersByVictimIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	h := &household{current: map[string]*lindung.Placement{}}
	for i, v := range vs {
		if v == nil {
			continue
		}
		r := &lindung.Resident{ID: v.ID, Child: lindung.IsChild(v, on)}
		if v.Gender != nil {
			r.Gender = *v.Gender
		}
		if o := lindung.OrderInForce(orders[i], on); o != nil {
			r.Order = o.Type
		}
		for _, p := range placements[i] {
			if p.ToDate == nil {
				r.ShelterID = p.ShelterID
				h.current[v.ID] = p
			}
		}
		switch {
		case i == 0:
			h.victim = r
		case v.ID == motherID:
			h.mother = r
		default:
			h.children = append(h.children, r)
		}
	}
	h.victim.MotherID = motherID
	for _, c := range h.children {
		h.victim.Children = append(h.victim.Children, c.ID)
	}
	return h, nil
}

// place places (move false) or moves (move true) a victim, and a mother's children with her.
func place(ctx context.Context, in model.PlaceVictimInput, key *string, move bool) ([]*lindung.Placement, error) {
	req, err := authorize(ctx, lindung.ActionPlaceVictims)
	if err != nil {
		return nil, err
	}
	reason, err := text("reason", in.Reason, 500)
	if err != nil {
		return nil, err
	}
	on := today()
	if in.On != nil {
		on = lindung.Day(*in.On)
		if on.After(today().AddDate(0, 0, 30)) || on.Before(today().AddDate(-1, 0, 0)) {
			return nil, lindung.Invalid("on", "a placement starts within a year before and 30 days after today")
		}
	}
	operation := "placeVictim"
	if move {
		operation = "moveVictim"
	}
	ref, _, err := idempotent(ctx, req, key, operation, in, func() (string, error) {
		h, err := readHousehold(ctx, req, in.VictimID, on)
		if err != nil {
			return "", err
		}
		switch {
		case !move && h.victim.ShelterID != "":
			return "", lindung.PlacementRuleError("ALREADY_PLACED", "the victim is placed already; use moveVictim")
		case move && h.victim.ShelterID == "":
			return "", lindung.PlacementRuleError("NOT_PLACED", "the victim is not placed; use placeVictim")
		case move && h.victim.ShelterID == in.ShelterID:
			return "", lindung.PlacementRuleError("SAME_SHELTER", "the victim is placed in this shelter already")
		}
		sh, err := req.Session.LockShelter(ctx, in.ShelterID)
		if lindung.CodeOf(err) == lindung.ENOTFOUND {
			return "", lindung.Invalid("shelterId", "no shelter has this id")
		}
		if err != nil {
			return "", err
		}
		movers := append([]*lindung.Resident{h.victim}, h.children...)
		if err := lindung.CheckPlacement(sh, movers, h.mother); err != nil {
			return "", err
		}
		var ids []string
		for _, m := range movers {
			ids = append(ids, m.ID)
			if m.ShelterID == sh.ID {
				continue // a child already with the mother's new shelter stays as she is
			}
			if cur := h.current[m.ID]; cur != nil {
				if err := req.Session.EndPlacement(ctx, cur.ID, on); err != nil {
					return "", err
				}
				if err := req.changed(ctx, m.ID, "placement", cur.ID, "ended", "toDate"); err != nil {
					return "", err
				}
			}
			p := &lindung.Placement{Owned: lindung.Owned{VictimID: m.ID}, ShelterID: sh.ID, FromDate: on, Reason: reason}
			if m.ID != h.victim.ID {
				p.Reason = reason + " (with the mother)"
			}
			if err := req.Session.CreatePlacement(ctx, p); err != nil {
				return "", err
			}
			if err := req.changed(ctx, m.ID, "placement", p.ID, map[bool]string{false: "placed", true: "moved"}[move], "shelter", "fromDate", "reason"); err != nil {
				return "", err
			}
		}
		return joinRefs(ids), nil
	})
	if err != nil {
		return nil, err
	}
	return currentPlacements(ctx, req, splitRefs(ref))
}

// endStay ends a victim's stay, and her children's with her.
func endStay(ctx context.Context, victimID string, on *time.Time) ([]*lindung.Placement, error) {
	req, err := authorize(ctx, lindung.ActionPlaceVictims)
	if err != nil {
		return nil, err
	}
	day := today()
	if on != nil {
		day = lindung.Day(*on)
		if day.After(today()) {
			return nil, lindung.Invalid("on", "a stay is ended today or on a day past")
		}
	}
	h, err := readHousehold(ctx, req, victimID, day)
	if err != nil {
		return nil, err
	}
	if h.victim.ShelterID == "" {
		return nil, lindung.PlacementRuleError("NOT_PLACED", "the victim is not placed")
	}
	if h.mother != nil && h.mother.ShelterID == h.victim.ShelterID {
		return nil, lindung.PlacementRuleError("CO_PLACEMENT", "a child leaves the shelter with the mother; end the mother's placement")
	}
	var ended []string
	for _, m := range append([]*lindung.Resident{h.victim}, h.children...) {
		cur := h.current[m.ID]
		if cur == nil || cur.ShelterID != h.victim.ShelterID {
			continue
		}
		if err := req.Session.EndPlacement(ctx, cur.ID, day); err != nil {
			return nil, err
		}
		if err := req.changed(ctx, m.ID, "placement", cur.ID, "ended", "toDate"); err != nil {
			return nil, err
		}
		ended = append(ended, m.ID+"/"+cur.ID)
	}
	var out []*lindung.Placement
	for _, ref := range ended {
		v, id := victimAndID(ref)
		p, err := reloadOne(ctx, req.Session.FindPlacementsByVictimIDs, v, id, func(p *lindung.Placement) string { return p.ID })
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// currentPlacements returns the current placements of the victims, in their order.
func currentPlacements(ctx context.Context, req *Request, victimIDs []string) ([]*lindung.Placement, error) {
	for _, id := range victimIDs {
		forget(ctx, id)
	}
	groups, err := req.Session.FindPlacementsByVictimIDs(ctx, victimIDs)
	if err != nil {
		return nil, err
	}
	out := []*lindung.Placement{}
	for _, g := range groups {
		for _, p := range g {
			if p.ToDate == nil {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// recordFamilyLink links a child to its mother, both cases of the caller's agency.
func recordFamilyLink(ctx context.Context, childID, motherID string) (*lindung.Victim, error) {
	req, err := authorize(ctx, lindung.ActionRegisterVictims)
	if err != nil {
		return nil, err
	}
	if childID == motherID {
		return nil, lindung.Invalid("motherId", "a victim is not her own mother")
	}
	if err := req.Session.CreateFamilyLink(ctx, childID, motherID); err != nil {
		return nil, err
	}
	if err := req.changed(ctx, childID, "familyLink", childID+"/"+motherID, "recorded", "mother"); err != nil {
		return nil, err
	}
	return visibleVictim(ctx, req, childID)
}
