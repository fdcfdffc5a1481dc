package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

const orderMutation = `mutation($in: RecordProtectionOrderInput!) { recordProtectionOrder(input: $in) { id type endsOn endedOn } }`

var orderSeq int

// order records an order of type typ for the victim, from startOffset days from today for days days.
func (h *careHub) order(t *testing.T, victimID, typ string, startOffset, days int) string {
	t.Helper()
	orderSeq++
	var out struct{ RecordProtectionOrder struct{ ID string } }
	h.ok(t, h.officer, orderMutation, map[string]any{"in": map[string]any{"victimId": victimID, "type": typ,
		"court": "Mahkamah Majistret", "orderNumber": fmt.Sprintf("T/%s/%d/%s", typ, orderSeq, victimID[:8]),
		"startsOn": h.day(startOffset), "endsOn": h.day(startOffset + days)}}, &out)
	return out.RecordProtectionOrder.ID
}

// day returns the date offset days from today, as the database sees today.
func (h *careHub) day(offset int) string {
	return h.strings(`SELECT (current_date + $1::int)::text`, offset)[0]
}

// shelter creates a shelter as the database owner.
func (h *careHub) shelter(category, order string, capacity int) string {
	return h.strings(`INSERT INTO shelters (name, operator_partner_id, state, category, order_type, capacity)
		VALUES ('Test ' || gen_random_uuid(), (SELECT id FROM partners WHERE slug = 'kpwkm'), 'SARAWAK', $1, $2, $3)
		RETURNING id::text`, category, order, capacity)[0]
}

// TestProtectionOrders: an IPO first and within 21 days; a PO after it, within 90, ending the IPO; one
// extension within the limit; expiring orders listed.
func TestProtectionOrders(t *testing.T) {
	h := newCareHub(t)
	v := h.newMarkerVictim(victimSpec{NoChild: true, NoExtras: true})
	in := func(typ string, start, days int) map[string]any {
		return map[string]any{"in": map[string]any{"victimId": v.ID, "type": typ, "court": "Court", "orderNumber": "N-" + typ + v.ID,
			"startsOn": h.day(start), "endsOn": h.day(start + days)}}
	}
	h.fails(t, h.officer, orderMutation, in("PO", 0, 30), "CONFLICT", "ORDER_SEQUENCE", "")
	h.fails(t, h.officer, orderMutation, in("IPO", 0, 22), "INVALID", "ORDER_DURATION", "endsOn")
	h.fails(t, h.officer, orderMutation, in("IPO", 0, 0), "INVALID", "", "endsOn")
	ipo := h.order(t, v.ID, "IPO", -5, 21)
	h.fails(t, h.officer, orderMutation, in("IPO", 0, 10), "CONFLICT", "ORDER_SEQUENCE", "")
	h.fails(t, h.officer, `mutation($id: ID!, $d: Date!) { extendProtectionOrder(id: $id, endsOn: $d) { id } }`,
		map[string]any{"id": ipo, "d": h.day(20)}, "INVALID", "ORDER_DURATION", "endsOn")
	h.fails(t, h.officer, orderMutation, in("PO", 0, 91), "INVALID", "ORDER_DURATION", "endsOn")
	po := h.order(t, v.ID, "PO", 0, 90)
	if got := h.strings(`SELECT coalesce(ended_on::text, '') FROM protection_orders WHERE id = $1`, ipo)[0]; got != h.day(0) {
		t.Errorf("the IPO was ended on %q, want the PO's start", got)
	}
	h.fails(t, h.officer, `mutation($id: ID!, $d: Date!) { extendProtectionOrder(id: $id, endsOn: $d) { id } }`,
		map[string]any{"id": po, "d": h.day(181)}, "INVALID", "ORDER_DURATION", "endsOn")
	var ext struct{ ExtendProtectionOrder struct{ EndsOn string } }
	h.ok(t, h.officer, `mutation($id: ID!, $d: Date!) { extendProtectionOrder(id: $id, endsOn: $d) { endsOn } }`,
		map[string]any{"id": po, "d": h.day(120)}, &ext)
	if ext.ExtendProtectionOrder.EndsOn != h.day(120) {
		t.Errorf("extended to %q", ext.ExtendProtectionOrder.EndsOn)
	}
	var exp struct{ OrdersExpiring []struct{ ID string } }
	h.ok(t, h.officer, `{ ordersExpiring(withinDays: 120) { id } }`, nil, &exp)
	if !strings.Contains(jsonOf(exp), po) {
		t.Error("the PO is not listed as expiring within 120 days")
	}
	h.fails(t, h.officer, `{ ordersExpiring(withinDays: -1) { id } }`, nil, "INVALID", "", "withinDays")
	h.fails(t, h.officer, `mutation($id: ID!, $d: Date!) { endProtectionOrder(id: $id, endedOn: $d) { id } }`,
		map[string]any{"id": po, "d": h.day(500)}, "INVALID", "", "endedOn")
	h.ok(t, h.officer, `mutation($id: ID!, $d: Date!) { endProtectionOrder(id: $id, endedOn: $d) { endedOn } }`,
		map[string]any{"id": po, "d": h.day(1)}, nil)
	h.fails(t, h.pdrm, orderMutation, in("PO", 0, 10), "FORBIDDEN", "", "")
	if got := len(h.changes(v.ID)); got != 5 { // IPO, PO, IPO ended, extension, end
		t.Errorf("%d change records, want 5", got)
	}
}

const placeMutation = `mutation($in: PlaceVictimInput!) { placeVictim(input: $in) { id fromDate shelter { id } } }`

// TestPlacementRules: each rule refuses with its name and writes nothing; a mother is placed with her
// child, moves with it, and the child neither moves away nor leaves alone.
func TestPlacementRules(t *testing.T) {
	h := newCareHub(t)
	mother := h.newMarkerVictim(victimSpec{NoExtras: true})
	h.order(t, mother.ID, "IPO", 0, 21)
	single := h.newMarkerVictim(victimSpec{NoChild: true, NoExtras: true})
	ipoMWC, ipoMWC2, poMWC := h.shelter("MOTHERS_WITH_CHILDREN", "IPO", 10), h.shelter("MOTHERS_WITH_CHILDREN", "IPO", 10), h.shelter("MOTHERS_WITH_CHILDREN", "PO", 10)
	ipoWomen, ipoChildren, tiny := h.shelter("WOMEN", "IPO", 10), h.shelter("CHILDREN", "IPO", 10), h.shelter("MOTHERS_WITH_CHILDREN", "IPO", 1)
	ipoMen := h.shelter("MEN", "IPO", 10)
	in := func(victim, shelter string) map[string]any {
		return map[string]any{"in": map[string]any{"victimId": victim, "shelterId": shelter, "reason": "Rescue"}}
	}
	before := h.rowCounts()
	for _, tc := range []struct{ name, victim, shelter, rule string }{
		{"IPO victim in a PO shelter", mother.ID, poMWC, "ORDER_TYPE"},
		{"mother with child in a women's shelter", mother.ID, ipoWomen, "CATEGORY"},
		{"capacity", mother.ID, tiny, "CAPACITY"},
		{"child placed apart from the mother", mother.ChildID, ipoChildren, "CO_PLACEMENT"},
		{"no order", single.ID, ipoWomen, "ORDER_TYPE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.fails(t, h.officer, placeMutation, in(tc.victim, tc.shelter), "CONFLICT", tc.rule+":", "")
		})
	}
	if after := h.rowCounts(); after != before {
		t.Fatalf("refused placements wrote rows:\n%s\n%s", before, after)
	}
	h.order(t, single.ID, "IPO", 0, 21)
	before = h.rowCounts()
	h.fails(t, h.officer, placeMutation, in(single.ID, ipoMWC), "CONFLICT", "CATEGORY:", "")
	h.fails(t, h.officer, placeMutation, in(single.ID, ipoMen), "CONFLICT", "CATEGORY:", "")
	h.fails(t, h.officer, placeMutation, in(single.ID, randomUUID()), "INVALID", "", "shelterId")
	h.fails(t, h.officer, placeMutation, map[string]any{"in": map[string]any{"victimId": single.ID, "shelterId": ipoWomen, "reason": ""}}, "INVALID", "", "reason")
	if after := h.rowCounts(); after != before {
		t.Fatalf("refused placements wrote rows:\n%s\n%s", before, after)
	}

	var placed struct {
		PlaceVictim []struct{ Shelter struct{ ID string } }
	}
	h.ok(t, h.officer, placeMutation, in(mother.ID, ipoMWC), &placed)
	if len(placed.PlaceVictim) != 2 || placed.PlaceVictim[0].Shelter.ID != ipoMWC || placed.PlaceVictim[1].Shelter.ID != ipoMWC {
		t.Fatalf("mother and child placed as %+v", placed)
	}
	h.fails(t, h.officer, placeMutation, in(mother.ID, ipoMWC2), "CONFLICT", "ALREADY_PLACED:", "")
	move := `mutation($in: PlaceVictimInput!) { moveVictim(input: $in) { shelter { id } } }`
	h.fails(t, h.officer, move, in(mother.ChildID, ipoChildren), "CONFLICT", "CO_PLACEMENT:", "")
	h.fails(t, h.officer, `mutation($id: ID!) { endPlacement(victimId: $id) { toDate } }`, map[string]any{"id": mother.ChildID}, "CONFLICT", "CO_PLACEMENT:", "")
	h.ok(t, h.officer, move, in(mother.ID, ipoMWC2), nil)
	where := h.strings(`SELECT shelter_id::text FROM placements WHERE victim_id = ANY($1::uuid[]) AND to_date IS NULL ORDER BY victim_id`,
		[]string{mother.ID, mother.ChildID})
	if len(where) != 2 || where[0] != ipoMWC2 || where[1] != ipoMWC2 {
		t.Errorf("after moving the mother, current placements are %v, want both in %s", where, ipoMWC2)
	}
	if n := h.count(`SELECT count(*) FROM placements WHERE shelter_id = $1 AND to_date IS NOT NULL`, ipoMWC); n != 2 {
		t.Errorf("%d ended placements in the first shelter, want 2", n)
	}
	var ended struct{ EndPlacement []struct{ ToDate string } }
	h.ok(t, h.officer, `mutation($id: ID!) { endPlacement(victimId: $id) { toDate } }`, map[string]any{"id": mother.ID}, &ended)
	if len(ended.EndPlacement) != 2 {
		t.Errorf("ending the mother's stay ended %d placements, want 2", len(ended.EndPlacement))
	}
	h.fails(t, h.pdrm, placeMutation, in(single.ID, ipoWomen), "FORBIDDEN", "", "")
	var occ struct {
		Occupancy []struct {
			State                               string
			Shelters, Capacity, Occupancy, Free int
		}
	}
	h.ok(t, h.officer, `{ occupancy(state: SARAWAK) { state shelters capacity occupancy free } }`, nil, &occ)
	want := h.count(`SELECT count(*) FROM placements p JOIN shelters s ON s.id = p.shelter_id WHERE s.state = 'SARAWAK' AND p.to_date IS NULL`)
	if len(occ.Occupancy) != 1 || occ.Occupancy[0].State != "SARAWAK" || occ.Occupancy[0].Occupancy != want {
		t.Errorf("occupancy %+v, want SARAWAK with %d", occ, want)
	}
}

// TestConcurrentPlacementsCannotOverfill: two officers place two victims into the last free place at
// once; the shelter's row lock makes one of them wait and then see the other's resident.
func TestConcurrentPlacementsCannotOverfill(t *testing.T) {
	h := newCareHub(t)
	sh := h.shelter("WOMEN", "IPO", 1)
	var vs []*markerVictim
	for range 2 {
		v := h.newMarkerVictim(victimSpec{NoChild: true, NoExtras: true})
		h.order(t, v.ID, "IPO", 0, 21)
		vs = append(vs, v)
	}
	for round := range 5 {
		h.exec(`UPDATE placements SET to_date = current_date WHERE shelter_id = $1 AND to_date IS NULL`, sh)
		h.exec(`DELETE FROM placements WHERE shelter_id = $1`, sh)
		var wg sync.WaitGroup
		codes := make([]string, 2)
		for i, v := range vs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := h.send(request{Token: h.officer, Query: placeMutation,
					Variables: map[string]any{"in": map[string]any{"victimId": v.ID, "shelterId": sh, "reason": "race"}}})
				if err == nil {
					codes[i] = res.Code()
				}
			}()
		}
		wg.Wait()
		if n := h.count(`SELECT count(*) FROM placements WHERE shelter_id = $1 AND to_date IS NULL`, sh); n != 1 {
			t.Fatalf("round %d: %d residents in a shelter of 1 (codes %q)", round, n, codes)
		}
		if !((codes[0] == "" && codes[1] == "CONFLICT") || (codes[0] == "CONFLICT" && codes[1] == "")) {
			t.Errorf("round %d: codes %q, want one success and one CONFLICT", round, codes)
		}
	}
}
