package server_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lindung/lindung/demo"
)

// The side doors of issue 12: paths that reached victim data around the field guard. Each test tries the
// attack as it was reported, and shows that the path still serves what the policy grants.

// referralRow is a referral as the side-door queries select it.
type referralRow struct {
	ID      string
	Service string
	Reason  *string
	Victim  *struct{ CaseRef string }
}

// insertReferral adds a referral of victim from kpwkm to the partner, for the service, as the database
// owner, and returns its id. due is an SQL date expression.
func (h *hub) insertReferral(victim, to, service, status, reason, due string) string {
	h.t.Helper()
	p := h.partnerIDs()
	return h.strings(`INSERT INTO referrals (victim_id, from_partner_id, to_partner_id, service_code, categories,
		status, reason, due_on) VALUES ($1, $2, $3, $4::service_code, '{CASE}', $5::referral_status, $6, `+due+`)
		RETURNING id::text`, victim, p[demo.SlugKPWKM], p[to], service, status, reason)[0]
}

// TestReferralsFollowOneRuleOnEveryPath: a HEALTH referral of a victim whose health the officer may not see
// was listed, with the victim, by Query.referrals, overdueReferrals and the withdrawReferral payload, while
// Victim.referrals hid it; and the audit recorded the victim without the category that the listing
// disclosed. Now every path lists it only with the victim's HEALTH open to the caller (detached from the
// victim otherwise), and the audit records what was served.
func TestReferralsFollowOneRuleOnEveryPath(t *testing.T) {
	h := newHub(t)
	hidden := h.newMarkerVictim(victimSpec{NoChild: true})
	// The same case, but the victim shares health data with the officer's agency.
	shared := h.newMarkerVictim(victimSpec{NoChild: true, Consents: []consentSpec{
		{Grantee: demo.SlugKPWKM, Categories: []string{"HEALTH"}, Purposes: []string{"CASE_MANAGEMENT"}}}})
	refs := map[string]string{}
	for _, v := range []*markerVictim{hidden, shared} {
		refs[v.ID] = h.insertReferral(v.ID, demo.SlugNGOHarapan, "HEALTH", "ACCEPTED", "MARKER-HEALTHREF-"+v.CaseRef, "current_date - 1")
	}
	officer := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	q := `{ referrals { id service reason victim { caseRef } } overdueReferrals { id service reason victim { caseRef } } }`
	res := h.do(request{Token: officer, Query: q, RequestID: "root-referrals"})
	var d struct{ Referrals, OverdueReferrals []referralRow }
	mustDecode(t, res.Data, &d)
	for name, list := range map[string][]referralRow{"referrals": d.Referrals, "overdueReferrals": d.OverdueReferrals} {
		found := map[string]referralRow{}
		for _, r := range list {
			found[r.ID] = r
		}
		h1, ok := found[refs[hidden.ID]]
		if !ok {
			t.Errorf("%s: the referral the officer's agency sent is not listed at all, even detached", name)
		} else if h1.Victim != nil || h1.Reason != nil {
			t.Errorf("%s: a HEALTH referral is listed with its victim or reason to an officer without health consent: %+v", name, h1)
		}
		if s, ok := found[refs[shared.ID]]; !ok || s.Victim == nil || s.Victim.CaseRef != shared.CaseRef {
			t.Errorf("%s: with the victim's consent the HEALTH referral is listed with its victim: %+v", name, s)
		}
	}
	if strings.Contains(string(res.Body), hidden.CaseRef) && strings.Contains(string(res.Body), "MARKER-HEALTHREF-"+hidden.CaseRef) {
		t.Errorf("the hidden referral's reason is in the response")
	}
	// The audit holds what was served: the repatriation referral (CASE) of the hidden victim, and HEALTH
	// only for the victim who shares it.
	for _, a := range h.accessRecords("root-referrals") {
		switch a.VictimID {
		case hidden.ID:
			if slices.Contains(a.Disclosed, "HEALTH") || !slices.Contains(a.Disclosed, "CASE") {
				t.Errorf("audit of the hidden victim: %v, want CASE (its repatriation referral) and no HEALTH", a.Disclosed)
			}
		case shared.ID:
			if !slices.Contains(a.Disclosed, "HEALTH") {
				t.Errorf("audit of the sharing victim: %v, want HEALTH: its health referral was listed with it", a.Disclosed)
			}
		}
	}
	// The nested path agrees.
	var n struct {
		Victim struct{ Referrals []referralRow }
	}
	mustDecode(t, h.do(request{Token: officer, Query: `query($id: ID!) { victim(id: $id) { referrals { id } } }`,
		Variables: map[string]any{"id": hidden.ID}}).Data, &n)
	for _, r := range n.Victim.Referrals {
		if r.ID == refs[hidden.ID] {
			t.Error("Victim.referrals lists the HEALTH referral")
		}
	}
	// The payload of a mutation on it is detached from the victim too.
	res = h.do(request{Token: officer, Query: `mutation($id: ID!) { withdrawReferral(id: $id) { id status service reason victim { caseRef } } }`,
		Variables: map[string]any{"id": refs[hidden.ID]}})
	var w struct {
		WithdrawReferral *struct {
			ID, Status string
			Reason     *string
			Victim     *struct{ CaseRef string }
		}
	}
	mustDecode(t, res.Data, &w)
	if w.WithdrawReferral == nil || w.WithdrawReferral.Status != "WITHDRAWN" {
		t.Fatalf("withdrawReferral: %s", res.Body)
	}
	if w.WithdrawReferral.Victim != nil || w.WithdrawReferral.Reason != nil || strings.Contains(string(res.Body), hidden.CaseRef) {
		t.Errorf("the withdrawReferral payload discloses the victim of a HEALTH referral: %s", res.Body)
	}
}

// TestReferralOutsideTheRowScope: a referral sent to the police for a case the police are not linked to is
// seen by them (they must answer it), but its reason and victim are case data outside their row scope.
func TestReferralOutsideTheRowScope(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{NoChild: true})
	id := h.insertReferral(v.ID, demo.SlugPDRM, "LEGAL", "IN_PROGRESS", "MARKER-PDRMREASON", "current_date + 3")
	res := h.do(request{Token: h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer),
		Query: `{ referrals { id service status reason rejectionReason victim { id caseRef } } }`})
	if !strings.Contains(string(res.Body), id) {
		t.Fatalf("the referral to the police is not listed to them: %s", truncate(res.Body))
	}
	assertNoLeak(t, res.Body, append(v.identifiers(), "MARKER-PDRMREASON"))
}

// TestOrdersExpiringCannotBeBisected: an NGO that may not see LEGAL asked ordersExpiring for withinDays 0,
// 1, 2, ... and read the end dates of protection orders off the day the list grew. The list's existence is
// LEGAL data: it lists no order the caller may not see, whatever withinDays says.
func TestOrdersExpiringCannotBeBisected(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(hostileSpec()) // referred to ngo-harapan for CASE and DEMOGRAPHIC; order ends tomorrow
	order := h.strings(`SELECT id::text FROM protection_orders WHERE victim_id = $1`, v.ID)[0]
	q := `query($d: Int!) { ordersExpiring(withinDays: $d) { id endsOn } }`
	ngo := h.token(demo.SlugNGOHarapan, demo.RoleNGOCaseworker)
	var first string
	for days := 0; days <= 3; days++ {
		res := h.do(request{Token: ngo, Query: q, Variables: map[string]any{"d": days}})
		if days == 0 {
			first = string(res.Body)
		} else if string(res.Body) != first {
			t.Errorf("withinDays %d answers differently from 0: the NGO learns when an order ends:\n%s\n%s", days, first, res.Body)
		}
		assertNoLeak(t, res.Body, []string{order})
	}
	officer := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	if res := h.do(request{Token: officer, Query: q, Variables: map[string]any{"d": 1}}); !strings.Contains(string(res.Body), order) {
		t.Errorf("the officer, who may see LEGAL, does not find the order expiring tomorrow: %s", truncate(res.Body))
	}
	if res := h.do(request{Token: officer, Query: q, Variables: map[string]any{"d": 0}}); strings.Contains(string(res.Body), order) {
		t.Errorf("an order ending tomorrow is listed within 0 days")
	}
}

// TestConsentProvisionsNeedTheirCategories: the provisions of a consent named the grantee and categories
// ("ngo-harapan: HEALTH"), which told the police that the victim receives health care. A provision is
// shown only to a request that may see every category it grants for the victim.
func TestConsentProvisionsNeedTheirCategories(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{NoChild: true, Links: []string{demo.SlugPDRM}, Consents: []consentSpec{
		{Grantee: demo.SlugNGOHarapan, Categories: []string{"HEALTH"}, Purposes: []string{"SERVICE_DELIVERY"}},
		{Grantee: demo.SlugNGOSuara, Categories: []string{"COUNSELLING", "CONTACT"}, Purposes: []string{"SERVICE_DELIVERY"}},
		{Grantee: "GOVERNMENT", Categories: []string{"IDENTITY"}, Purposes: []string{"PROSECUTION"}},
	}})
	q := `query($id: ID!) { victim(id: $id) { consents { provisions { granteePartner { slug name } granteeType categories } } }
		a: victim(id: $id) { consents { ... on Consent { provisions { ...P } } } } }
		fragment P on ConsentProvision { granteePartner { slug } categories purposes }`
	for _, c := range []caller{{demo.SlugPDRM, demo.RoleEnforcementOfficer}, {demo.SlugKPWKM, demo.RoleProtectionOfficer}} {
		res := h.do(request{Token: h.token(c.Partner, c.Role), Query: q, Variables: map[string]any{"id": v.ID}})
		assertNoLeak(t, res.Body, []string{"HEALTH", "COUNSELLING", demo.SlugNGOHarapan, demo.SlugNGOSuara, "Harapan", "Suara"})
		if c.Role == demo.RoleEnforcementOfficer && !strings.Contains(string(res.Body), "IDENTITY") {
			t.Errorf("%s: the provision the police may see (IDENTITY, consented to them) is missing: %s", c, res.Body)
		}
	}
	// The NGO granted health care sees its own provision: it may see HEALTH, by consent and referral.
	h.insertReferral(v.ID, demo.SlugNGOHarapan, "HEALTH", "ACCEPTED", "r", "current_date + 3")
	h.exec(`UPDATE referrals SET categories = '{CASE,HEALTH}' WHERE victim_id = $1 AND service_code = 'HEALTH'`, v.ID)
	res := h.do(request{Token: h.token(demo.SlugNGOHarapan, demo.RoleNGOCaseworker), Query: q, Variables: map[string]any{"id": v.ID}})
	if !strings.Contains(string(res.Body), "HEALTH") {
		t.Errorf("the NGO does not see the provision granting it HEALTH: %s", res.Body)
	}
	assertNoLeak(t, res.Body, []string{"COUNSELLING", demo.SlugNGOSuara})
}

// TestOccupancyIsNoLocator: exact occupancy, per shelter and per state, was served to roles whose LOCATION
// access needs consent; polled around a placement it located a victim. Exact counts now go only to roles
// with case rows and LOCATION on a legal basis; statistics roles get them under disclosure control.
func TestOccupancyIsNoLocator(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(hostileSpec()) // its test shelter in Selangor holds it alone
	q := `query($s: ID!) { shelter(id: $s) { occupancy } occupancy(state: SELANGOR) { occupancy free } }`
	vars := map[string]any{"s": v.ShelterID}
	type answer struct {
		Shelter   struct{ Occupancy *int }
		Occupancy []struct{ Occupancy, Free *int }
	}
	read := func(token string) (answer, string) {
		res := h.do(request{Token: token, Query: q, Variables: vars})
		if len(res.Errors) > 0 {
			t.Fatalf("occupancy: %s", res.Body)
		}
		var a answer
		mustDecode(t, res.Data, &a)
		return a, string(res.Body)
	}
	polled := map[caller]string{}
	for _, c := range []caller{{demo.SlugPDRM, demo.RoleEnforcementOfficer}, {demo.SlugNGOHarapan, demo.RoleNGOCaseworker},
		{demo.SlugKPWKM, demo.RoleMinistryAnalyst}, {demo.SlugOperator, demo.RoleOperator}} {
		a, body := read(h.token(c.Partner, c.Role))
		polled[c] = body
		if a.Shelter.Occupancy != nil {
			t.Errorf("%s: the occupancy of a shelter with one resident is %d", c, *a.Shelter.Occupancy)
		}
		for _, s := range a.Occupancy {
			if c.Role != demo.RoleMinistryAnalyst && (s.Occupancy != nil || s.Free != nil) {
				t.Errorf("%s: state occupancy %v / free %v served without a legal basis for LOCATION", c, s.Occupancy, s.Free)
			}
			if s.Occupancy != nil && *s.Occupancy%5 != 0 {
				t.Errorf("%s: state occupancy %d is not rounded", c, *s.Occupancy)
			}
		}
	}
	a, _ := read(h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer))
	if a.Shelter.Occupancy == nil || *a.Shelter.Occupancy != 1 {
		t.Errorf("the protection officer, who places victims, gets occupancy %v, want exactly 1", a.Shelter.Occupancy)
	}
	// Polling around a placement: a second resident arrives; nobody but the officer sees a change.
	other := h.strings(`SELECT v.id::text FROM victims v WHERE NOT EXISTS (SELECT 1 FROM placements p
		WHERE p.victim_id = v.id AND p.to_date IS NULL) LIMIT 1`)[0]
	h.exec(`INSERT INTO placements (victim_id, shelter_id, from_date) VALUES ($1, $2, current_date)`, other, v.ShelterID)
	for c, before := range polled {
		if _, after := read(h.token(c.Partner, c.Role)); after != before {
			a1, a2 := before, after
			// The analyst's state figure is rounded: it may cross a rounding boundary, never by one.
			if c.Role != demo.RoleMinistryAnalyst {
				t.Errorf("%s: the answer changed with one placement:\n%s\n%s", c, a1, a2)
			}
		}
	}
}

// TestDisclosureReportIsComplete: an access that disclosed only the case reference never appeared in the
// victim's report (most access records carry no category); and reading the report left no trace.
func TestDisclosureReportIsComplete(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(hostileSpec())
	h.do(request{Token: h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer), Query: `query($id: ID!) { victim(id: $id) { caseRef } }`,
		Variables: map[string]any{"id": v.ID}})
	officer := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	q := `query($id: ID!) { disclosures(victimId: $id) { partnerName partnerType categories sentence } }`
	type line struct {
		PartnerName, PartnerType, Sentence string
		Categories                         []string
	}
	var d struct{ Disclosures []line }
	mustDecode(t, h.do(request{Token: officer, Query: q, Variables: map[string]any{"id": v.ID}, RequestID: "report-1"}).Data, &d)
	police := h.strings(`SELECT name FROM partners WHERE slug = $1`, demo.SlugPDRM)[0]
	found := false
	for _, l := range d.Disclosures {
		if l.PartnerName == police && len(l.Categories) == 0 && strings.Contains(l.Sentence, "case reference") {
			found = true
		}
	}
	if !found {
		t.Errorf("the police's look-up of the case reference is not in the report: %+v", d.Disclosures)
	}
	if recs := h.accessRecords("report-1"); len(recs) != 1 || recs[0].VictimID != v.ID {
		t.Errorf("reading the report wrote %d access records, want one for the victim: %+v", len(recs), recs)
	}
	mustDecode(t, h.do(request{Token: officer, Query: q, Variables: map[string]any{"id": v.ID}}).Data, &d)
	ministry := h.strings(`SELECT name FROM partners WHERE slug = $1`, demo.SlugKPWKM)[0]
	found = false
	for _, l := range d.Disclosures {
		found = found || l.PartnerName == ministry
	}
	if !found {
		t.Errorf("the officer's reading of the report is not in the next report: %+v", d.Disclosures)
	}
}

// statTotals returns the published total and the published cells of a breakdown, by key (nil: suppressed).
func statTotals(b breakdown) (*int, map[string]*int) {
	cells := map[string]*int{}
	for _, c := range b.Cells {
		cells[c.Key] = c.Count
	}
	return b.Total.Count, cells
}

// TestStatisticsResistDifferencing: two requests over periods one day apart gave totals 500 and 499, and
// the difference of every breakdown gave the profile of the one case identified on that day. Periods are
// now snapped to whole months and counts rounded by default: the two answers are the same, and no
// difference of published counts, over periods or over states, is a single case.
func TestStatisticsResistDifferencing(t *testing.T) {
	h := newHub(t)
	token := h.token(demo.SlugKPWKM, demo.RoleMinistryAnalyst)
	day := h.strings(`SELECT (date_trunc('month', current_date) - interval '2 months' + interval '9 days')::date::text`)[0]
	h.exec(`UPDATE victims SET identified_on = $1 WHERE id = (SELECT id FROM victims ORDER BY id LIMIT 1)`, day)
	next := h.strings(`SELECT ($1::date + 1)::text`, day)[0]
	today := h.strings(`SELECT current_date::text`)[0]
	resA := h.do(request{Token: token, Query: statsQuery, Variables: map[string]any{"filter": map[string]any{"from": day, "to": today}}})
	resB := h.do(request{Token: token, Query: statsQuery, Variables: map[string]any{"filter": map[string]any{"from": next, "to": today}}})
	if len(resA.Errors) > 0 || string(resA.Body) != string(resB.Body) {
		t.Errorf("periods a day apart answer differently, so their difference is the cases of that day:\n%s\n%s", truncate(resA.Body), truncate(resB.Body))
	}
	k, national := statistics(t, h, token, nil)
	checkProtected(t, k, national)
	// Overlapping filters: the nation against the sum of every state but one. Every published count is a
	// multiple of the rounding base, so such a difference is never one case.
	var states []string
	for _, c := range national["byState"].Cells {
		states = append(states, c.Key)
	}
	sums := map[string]map[string]int{}
	for _, st := range states[1:] {
		_, bs := statistics(t, h, token, map[string]any{"state": st})
		for name, b := range bs {
			_, cells := statTotals(b)
			if sums[name] == nil {
				sums[name] = map[string]int{}
			}
			for key, n := range cells {
				if n != nil {
					sums[name][key] += *n
				}
			}
		}
	}
	for name, b := range national {
		_, cells := statTotals(b)
		for key, n := range cells {
			if n == nil {
				continue
			}
			if *n%5 != 0 {
				t.Errorf("%s %s: published %d is not rounded", name, key, *n)
			}
			if diff := *n - sums[name][key]; diff == 1 || diff == -1 {
				t.Errorf("%s %s: the nation minus the other states gives %d: one case", name, key, diff)
			}
		}
	}
}

// TestPayloadsAreDetachedNotRefused: a mutation's payload passes the record guard like any path, so an
// officer who requests health care for a victim whose health data the officer may not see gets the
// record's id, not its service, status or victim; the write itself stands.
func TestPayloadsAreDetachedNotRefused(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{NoChild: true})
	res := h.do(request{Token: h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer),
		Query: `mutation($v: ID!) { requestService(input: {victimId: $v, service: HEALTH, providerSlug: "ngo-harapan"}) {
			id status service { code } provider { slug } } }`, Variables: map[string]any{"v": v.ID}})
	var d struct {
		RequestService *struct {
			ID      string
			Status  *string
			Service *struct{ Code string }
		}
	}
	mustDecode(t, res.Data, &d)
	if len(res.Errors) > 0 || d.RequestService == nil || d.RequestService.ID == "" {
		t.Fatalf("requestService: %s", res.Body)
	}
	if d.RequestService.Status != nil || d.RequestService.Service != nil {
		t.Errorf("the payload discloses a HEALTH service to an officer without health consent: %s", res.Body)
	}
	if n := h.count(`SELECT count(*) FROM service_records WHERE id = $1 AND service_code = 'HEALTH'`, d.RequestService.ID); n != 1 {
		t.Errorf("the request was not recorded")
	}
}
