package server_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
)

// hostileSpec is the victim the hostile queries go after: linked to pdrm, referred to ngo-harapan for
// case and demographics, referred (accepted) to an employer and to the hub operator, which must open
// nothing to them, rejected by ngo-cahaya, and with consents that the policy must not honour: health,
// counselling and family to government for prosecution (denied to enforcement), everything to ngo-suara
// (not referred) and to the employer (no victim rows).
func hostileSpec() victimSpec {
	return victimSpec{
		Links: []string{demo.SlugPDRM},
		Referrals: []referralSpec{
			{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: []string{"CASE", "DEMOGRAPHIC"}},
			{To: demo.SlugEmployerLadang, Status: "ACCEPTED", Categories: lindung.AllCategories.Names()},
			{To: demo.SlugOperator, Status: "ACCEPTED", Categories: lindung.AllCategories.Names()},
		},
		Consents: []consentSpec{
			{Grantee: "GOVERNMENT", Categories: []string{"HEALTH", "COUNSELLING", "FAMILY"}, Purposes: []string{"PROSECUTION"}},
			{Grantee: demo.SlugNGOSuara, Categories: lindung.AllCategories.Names(), Purposes: []string{"SERVICE_DELIVERY", "FAMILY_CONTACT"}},
			{Grantee: demo.SlugEmployerLadang, Categories: lindung.AllCategories.Names(), Purposes: []string{"EMPLOYMENT_CHECK"}},
			{Grantee: "PRIVATE", Categories: lindung.AllCategories.Names(), Purposes: []string{"EMPLOYMENT_CHECK"}},
		},
		ChildNotShared: true,
	}
}

// hostileView is what each caller may see of the hostile victim under its default purpose.
var hostileView = map[caller]struct {
	visible   bool
	disclosed lindung.CategorySet
}{
	{demo.SlugKPWKM, demo.RoleProtectionOfficer}:  {true, lindung.AllCategories &^ lindung.SetOf(lindung.Health, lindung.Counselling)},
	{demo.SlugPDRM, demo.RoleEnforcementOfficer}:  {true, lindung.SetOf(lindung.Case, lindung.Legal, lindung.Demographic)},
	{demo.SlugNGOHarapan, demo.RoleNGOCaseworker}: {true, lindung.SetOf(lindung.Case, lindung.Demographic)},
}

// hostileQueries try every way of reaching the victim's data: aliases (some named like fields that are
// always disclosed), named and inline fragments, fragments on nested types, @include/@skip, every type
// that leads to a victim, deep cycles, several operations in one document and @defer.
var hostileQueries = []struct {
	name  string
	query string
	op    string
}{
	{"aliases", `query($id: ID!) { victim(id: $id) { caseRef: phone id: counsellingNotes legalName: medicalNeeds
		gender: legalName a: legalName b: phone c: medicalNeeds d: counsellingNotes e: workEligibility { decision validUntil }
		f: family { victim { caseRef } } g: placements { reason } h: protectionOrders { court conditions }
		identifiedOn: dateOfBirth } }`, ""},
	{"named fragments", `query($id: ID!) { victim(id: $id) { ...A ...B } }
		fragment A on Victim { legalName aliases phone }
		fragment B on Victim { medicalNeeds counsellingNotes placements { ...P } protectionOrders { ...O } workEligibility { ...W } }
		fragment P on Placement { reason shelter { name } }
		fragment O on ProtectionOrder { court orderNumber conditions }
		fragment W on WorkEligibility { validUntil decision }`, ""},
	{"inline fragments", `query($id: ID!) { victim(id: $id) { ... on Victim { legalName ... on Victim { medicalNeeds
		counsellingNotes } } ... { phone languages } } }`, ""},
	{"fragments on nested types", `query($id: ID!) { victim(id: $id) { referrals { ...R } consents { ...C } family { ...F } services { ...S } } }
		fragment R on Referral { reason rejectionReason victim { ...All } }
		fragment C on Consent { language documentRef provisions { categories } }
		fragment F on FamilyMember { relationship victim { ...All } }
		fragment S on ServiceRecord { status provider { name } }
		` + allVictimFields, ""},
	{"include and skip", `query($id: ID!, $yes: Boolean!, $no: Boolean!) { victim(id: $id) {
		legalName @include(if: $yes) phone @skip(if: $no) medicalNeeds @include(if: $yes) @skip(if: $no)
		counsellingNotes @skip(if: false) ... @include(if: $yes) { placements { reason } }
		...All @include(if: $yes) } } ` + allVictimFields, ""},
	{"skipped then included under alias", `query($id: ID!, $no: Boolean!) { victim(id: $id) {
		medicalNeeds @include(if: $no) x: medicalNeeds counsellingNotes @skip(if: true) y: counsellingNotes } }`, ""},
	{"duplicate fields", `query($id: ID!) { victim(id: $id) { legalName legalName medicalNeeds ... on Victim { medicalNeeds
		phone } phone } }`, ""},
	{"shelter residents", `query($shelter: ID!) { shelter(id: $shelter) { name occupancy residents { ...All } } } ` + allVictimFields, ""},
	{"shelters in a state", `{ shelters(state: SELANGOR) { name residents { ...All } } } ` + allVictimFields, ""},
	{"all shelters", `{ shelters { name residents { id caseRef legalName phone medicalNeeds counsellingNotes
		placements { reason } protectionOrders { court } workEligibility { validUntil } } } }`, ""},
	{"current shelter residents", `query($id: ID!) { victim(id: $id) { currentShelter { residents { ...All } }
		placements { shelter { residents { ...All } } } } } ` + allVictimFields, ""},
	{"referrals", `{ referrals { id status categories service reason rejectionReason from { slug } to { slug }
		victim { ...All } } } ` + allVictimFields, ""},
	{"rejected referrals", `{ referrals(status: REJECTED) { reason rejectionReason victim { caseRef legalName } } }`, ""},
	{"overdue referrals", `{ overdueReferrals { id service reason rejectionReason victim { ...All } } } ` + allVictimFields, ""},
	{"orders expiring, bisected", `{ a: ordersExpiring(withinDays: 0) { id endsOn court } b: ordersExpiring(withinDays: 1) { id endsOn }
		c: ordersExpiring(withinDays: 366) { id type orderNumber conditions } }`, ""},
	{"occupancy polled", `query($shelter: ID!) { shelter(id: $shelter) { occupancy } occupancy { state occupancy free } }`, ""},
	{"consent grantees", `query($id: ID!) { victim(id: $id) { consents { provisions { granteePartner { slug name } granteeType
		categories purposes } } } }`, ""},
	{"victim referrals victim", `query($id: ID!) { victim(id: $id) { referrals { victim { ...All
		referrals { victim { legalName medicalNeeds counsellingNotes } } } } } } ` + allVictimFields, ""},
	{"family cycle", `query($id: ID!) { victim(id: $id) { family { victim { family { victim { ...All } } } } } } ` + allVictimFields, ""},
	{"child by id", `query($child: ID!) { victim(id: $child) { caseRef family { relationship victim { ...All } } } } ` + allVictimFields, ""},
	{"services", `query($id: ID!) { victim(id: $id) { services { id service { name } provider { name } status
		requestedOn scheduledFor deliveredOn } } }`, ""},
	{"victims filtered by case", `query($ref: String!) { victims(first: 100, filter: {caseRef: $ref}) { totalCount
		edges { cursor node { ...All } } pageInfo { endCursor hasNextPage } } } ` + allVictimFields, ""},
	{"victims filtered by shelter", `query($shelter: ID!) { victims(filter: {shelterId: $shelter}) { totalCount
		edges { node { caseRef legalName phone } } } }`, ""},
	{"several operations", `query A { viewer { username } } query B($id: ID!) { victim(id: $id) { ...All } } ` + allVictimFields, "B"},
	{"defer", `query($id: ID!) { victim(id: $id) { caseRef ... @defer { legalName phone medicalNeeds counsellingNotes
		placements { reason } } } }`, ""},
	{"typename", `query($id: ID!) { victim(id: $id) { __typename caseRef medicalNeeds placements { __typename reason } } }`, ""},
	{"disclosures", `query($id: ID!) { disclosures(victimId: $id) { partnerName categories sentence } }`, ""},
	{"ids of other types", `query($id: ID!) { partner(id: $id) { name } shelter(id: $id) { name residents { caseRef } } }`, ""},
}

// TestHostileQueries runs every hostile query as every caller and greps the whole body for the markers the
// caller's mask withholds; a caller that may not see the victim must not find its id or case reference,
// and a caller without victim rows must find no case reference at all, and leave no audit.
func TestHostileQueries(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(hostileSpec())
	partners := h.partnerIDs()
	vars := map[string]any{"id": v.ID, "child": v.ChildID, "shelter": v.ShelterID, "ref": v.CaseRef, "yes": true, "no": false}
	for _, c := range allCallers {
		view := hostileView[c]
		forbidden := v.markers(lindung.AllCategories &^ view.disclosed)
		if !view.visible {
			forbidden = append(forbidden, v.identifiers()...)
			forbidden = append(forbidden, "MARKER-")
		}
		token := h.token(c.Partner, c.Role)
		before := h.count(`SELECT count(*) FROM access_records WHERE partner_id = $1`, partners[c.Partner])
		for _, q := range hostileQueries {
			t.Run(c.String()+"/"+q.name, func(t *testing.T) {
				used := map[string]any{}
				for k, val := range vars {
					if strings.Contains(q.query, "$"+k) {
						used[k] = val
					}
				}
				res := h.do(request{Token: token, Query: q.query, Variables: used, OperationName: q.op})
				assertNoLeak(t, res.Body, forbidden)
				if noRows(c.Role) {
					assertNoVictimData(t, res.Body)
				}
				for _, e := range res.Errors {
					if e.Extensions["code"] == "INTERNAL" || strings.Contains(e.Message, "panic") {
						t.Errorf("internal error: %s", res.Body)
					}
				}
			})
		}
		if noRows(c.Role) {
			if n := h.count(`SELECT count(*) FROM access_records WHERE partner_id = $1`, partners[c.Partner]); n != before {
				t.Errorf("%s: %d access records written for a caller without victim rows", c, n-before)
			}
		}
	}
}

// TestHostileQueriesDiscloseToTheOfficer shows that the hostile queries are not vacuous: the officer, who
// may see most of the victim, gets its markers through each of the paths that lead to it.
func TestHostileQueriesDiscloseToTheOfficer(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(hostileSpec())
	token := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	vars := map[string]any{"id": v.ID, "child": v.ChildID, "shelter": v.ShelterID, "ref": v.CaseRef, "yes": true, "no": false}
	legal := v.marker(lindung.Identity)
	for _, name := range []string{"aliases", "named fragments", "inline fragments", "fragments on nested types",
		"include and skip", "shelter residents", "shelters in a state", "current shelter residents", "referrals",
		"victim referrals victim", "family cycle", "child by id", "victims filtered by case", "victims filtered by shelter",
		"several operations"} {
		for _, q := range hostileQueries {
			if q.name != name {
				continue
			}
			used := map[string]any{}
			for k, val := range vars {
				if strings.Contains(q.query, "$"+k) {
					used[k] = val
				}
			}
			res := h.do(request{Token: token, Query: q.query, Variables: used, OperationName: q.op})
			if !strings.Contains(string(res.Body), legal) && !strings.Contains(string(res.Body), v.CaseRef) {
				t.Errorf("%s: the officer got neither the victim's case reference nor its identity: %s", name, truncate(res.Body))
			}
			assertNoLeak(t, res.Body, v.markers(lindung.SetOf(lindung.Health, lindung.Counselling)))
		}
	}
}

// TestOutOfScopeLooksLikeNothing: for every caller that may not see the victim, asking for it by id gives
// exactly the response that asking for a random id gives: same status, same body.
func TestOutOfScopeLooksLikeNothing(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(hostileSpec())
	// A victim owned by another agency is out of the protection officer's scope.
	foreign := h.newMarkerVictim(victimSpec{Owner: demo.SlugPDRM, Links: []string{demo.SlugJIM}})
	queries := []string{
		`query($id: ID!) { victim(id: $id) { ...All } } ` + allVictimFields,
		`query($id: ID!) { victim(id: $id) { id caseRef } }`,
		`query($id: ID!) { victim(id: $id) { family { victim { caseRef } } referrals { id } } }`,
		`query($id: ID!) { disclosures(victimId: $id) { partnerName } }`,
		`query($id: ID!) { a: victim(id: $id) { caseRef } b: disclosures(victimId: $id) { partnerName } }`,
		`query($id: ID!) { shelter(id: $id) { name } partner(id: $id) { name } }`,
	}
	type target struct {
		who    caller
		victim *markerVictim
	}
	var targets []target
	for _, c := range allCallers {
		if !hostileView[c].visible {
			targets = append(targets, target{c, v})
		}
	}
	targets = append(targets, target{caller{demo.SlugKPWKM, demo.RoleProtectionOfficer}, foreign},
		target{caller{demo.SlugNGOHarapan, demo.RoleNGOCaseworker}, foreign})
	for _, tg := range targets {
		token := h.token(tg.who.Partner, tg.who.Role)
		for i, q := range queries {
			for _, id := range []string{tg.victim.ID, tg.victim.ChildID} {
				real := h.do(request{Token: token, Query: q, Variables: map[string]any{"id": id}})
				fake := h.do(request{Token: token, Query: q, Variables: map[string]any{"id": randomUUID()}})
				if real.Status != fake.Status || string(real.Body) != string(fake.Body) {
					t.Errorf("%s, query %d: an out-of-scope victim is distinguishable from none:\n real %d %s\n fake %d %s",
						tg.who, i, real.Status, real.Body, fake.Status, fake.Body)
				}
				assertNoLeak(t, real.Body, append(tg.victim.identifiers(), "MARKER-"))
			}
		}
		// A filter on an out-of-scope case reference finds nothing, exactly as one on a case that does not exist.
		q := `query($ref: String!) { victims(filter: {caseRef: $ref}) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }`
		real := h.do(request{Token: token, Query: q, Variables: map[string]any{"ref": tg.victim.CaseRef}})
		fake := h.do(request{Token: token, Query: q, Variables: map[string]any{"ref": "ZZZ-2099-999999"}})
		if string(real.Body) != string(fake.Body) || !strings.Contains(string(real.Body), `"totalCount":0`) {
			t.Errorf("%s: filter on an out-of-scope case:\n real %s\n fake %s", tg.who, real.Body, fake.Body)
		}
	}
}

// cursorOf is a cursor as the hub encodes it.
func cursorOf(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// scopeIDs returns, from SQL, the ids of the victims a partner's role may see: the oracle for listings.
func (h *hub) scopeIDs(c caller) []string {
	h.t.Helper()
	switch c.Role {
	case demo.RoleProtectionOfficer:
		return h.strings(`SELECT v.id::text FROM victims v JOIN partners p ON p.id = v.owner_partner_id WHERE p.slug = $1 ORDER BY v.id`, c.Partner)
	case demo.RoleEnforcementOfficer:
		return h.strings(`SELECT DISTINCT l.victim_id::text FROM case_links l JOIN partners p ON p.id = l.partner_id WHERE p.slug = $1 ORDER BY 1`, c.Partner)
	case demo.RoleNGOCaseworker:
		return h.strings(`SELECT DISTINCT r.victim_id::text FROM referrals r JOIN partners p ON p.id = r.to_partner_id
			WHERE p.slug = $1 AND r.status = 'ACCEPTED' ORDER BY 1`, c.Partner)
	}
	return nil
}

// TestListingsMatchScope pages through victims as every caller and compares the rows and totalCount with
// the scope computed in SQL; ids seen must be exactly the caller's scope, on every page.
func TestListingsMatchScope(t *testing.T) {
	h := newHub(t)
	h.newMarkerVictim(hostileSpec())
	q := `query($after: String) { victims(first: 100, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }`
	for _, c := range allCallers {
		t.Run(c.String(), func(t *testing.T) {
			want := h.scopeIDs(c)
			token := h.token(c.Partner, c.Role)
			var got []string
			var after any
			for page := 0; page < 20; page++ {
				res := h.do(request{Token: token, Query: q, Variables: map[string]any{"after": after}})
				if len(res.Errors) > 0 {
					t.Fatalf("errors: %s", res.Body)
				}
				var d struct {
					Victims struct {
						TotalCount int
						Edges      []struct{ Node struct{ ID string } }
						PageInfo   struct {
							HasNextPage bool
							EndCursor   *string
						}
					}
				}
				mustDecode(t, res.Data, &d)
				if d.Victims.TotalCount != len(want) {
					t.Errorf("page %d: totalCount %d, want %d (SQL)", page, d.Victims.TotalCount, len(want))
				}
				for _, e := range d.Victims.Edges {
					got = append(got, e.Node.ID)
				}
				if !d.Victims.PageInfo.HasNextPage {
					break
				}
				after = *d.Victims.PageInfo.EndCursor
			}
			if !sameStrings(got, want) {
				t.Errorf("listed %d victims, scope holds %d", len(got), len(want))
			}
			if noRows(c.Role) && len(got) != 0 {
				t.Errorf("a caller without victim rows listed %d victims", len(got))
			}
		})
	}
}

// TestForgedCursors: a cursor naming a victim out of scope only says where to start; it never brings the
// victim into the page, and a cursor the hub did not issue is refused without data.
func TestForgedCursors(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(hostileSpec())
	q := `query($after: String) { victims(first: 100, after: $after) { totalCount edges { cursor node { id caseRef legalName } } } }`
	for _, c := range []caller{{demo.SlugJIM, demo.RoleEnforcementOfficer}, {demo.SlugNGOSuara, demo.RoleNGOCaseworker},
		{demo.SlugEmployerLadang, demo.RoleEmployerHR}, {demo.SlugOperator, demo.RoleOperator}, {demo.SlugKPWKM, demo.RoleMinistryAnalyst}} {
		token := h.token(c.Partner, c.Role)
		scope := map[string]bool{}
		for _, id := range h.scopeIDs(c) {
			scope[id] = true
		}
		// Replayed and forged cursors that decode: the page holds only rows of the caller's scope.
		for _, cur := range []string{cursorOf("v1:" + v.ID), cursorOf("v1:" + v.ChildID), cursorOf("v1:00000000-0000-0000-0000-000000000000"),
			cursorOf("v1:" + randomUUID())} {
			res := h.do(request{Token: token, Query: q, Variables: map[string]any{"after": cur}})
			assertNoLeak(t, res.Body, append(v.identifiers(), "MARKER-"))
			var d struct {
				Victims struct {
					TotalCount int
					Edges      []struct{ Node struct{ ID string } }
				}
			}
			mustDecode(t, res.Data, &d)
			for _, e := range d.Victims.Edges {
				if !scope[e.Node.ID] {
					t.Errorf("%s: cursor %s brought victim %s from outside the scope", c, cur, e.Node.ID)
				}
			}
			if d.Victims.TotalCount != len(scope) {
				t.Errorf("%s: totalCount %d after a forged cursor, want %d", c, d.Victims.TotalCount, len(scope))
			}
		}
		// Cursors the hub never issues: INVALID, no data.
		for _, cur := range []string{"garbage", "!!!!", cursorOf("v1:not-a-uuid"), cursorOf("v2:" + v.ID), cursorOf(v.ID),
			base64.StdEncoding.EncodeToString([]byte("v1:" + v.ID + "' OR 1=1 --")), cursorOf("v1:" + v.ID + "\x00"),
			cursorOf("v1:" + strings.Repeat("a", 5000))} {
			res := h.do(request{Token: token, Query: q, Variables: map[string]any{"after": cur}})
			if res.Code() != "INVALID" || string(res.Data) != "null" {
				t.Errorf("%s: cursor %q: code %q data %s, want INVALID and no data", c, cur, res.Code(), res.Data)
			}
			assertNoLeak(t, res.Body, append(v.identifiers(), "MARKER-"))
		}
	}
}

// TestFiltersNeverWidenScope: a filter on a case or a shelter outside the caller's scope finds nothing, and
// filtering by shelter is no oracle for where victims are when the caller may not see their location.
func TestFiltersNeverWidenScope(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(hostileSpec())
	q := `query($f: VictimFilter) { victims(filter: $f) { totalCount edges { node { id caseRef } } } }`
	for _, tc := range []struct {
		who     caller
		filter  map[string]any
		total   int
		refused bool // the filter itself is refused: the caller may not learn who is in a shelter
	}{
		{caller{demo.SlugKPWKM, demo.RoleProtectionOfficer}, map[string]any{"caseRef": v.CaseRef}, 1, false},
		{caller{demo.SlugKPWKM, demo.RoleProtectionOfficer}, map[string]any{"shelterId": v.ShelterID}, 1, false},
		{caller{demo.SlugPDRM, demo.RoleEnforcementOfficer}, map[string]any{"caseRef": v.CaseRef}, 1, false},
		{caller{demo.SlugPDRM, demo.RoleEnforcementOfficer}, map[string]any{"shelterId": v.ShelterID}, 0, true},
		{caller{demo.SlugNGOHarapan, demo.RoleNGOCaseworker}, map[string]any{"caseRef": v.CaseRef}, 1, false},
		{caller{demo.SlugNGOHarapan, demo.RoleNGOCaseworker}, map[string]any{"shelterId": v.ShelterID}, 0, true},
		{caller{demo.SlugJIM, demo.RoleEnforcementOfficer}, map[string]any{"caseRef": v.CaseRef}, 0, false},
		{caller{demo.SlugJIM, demo.RoleEnforcementOfficer}, map[string]any{"caseRef": v.ChildCaseRef}, 0, false},
		{caller{demo.SlugNGOSuara, demo.RoleNGOCaseworker}, map[string]any{"caseRef": v.CaseRef}, 0, false},
		{caller{demo.SlugNGOCahaya, demo.RoleNGOCaseworker}, map[string]any{"caseRef": v.CaseRef}, 0, false},
		{caller{demo.SlugEmployerLadang, demo.RoleEmployerHR}, map[string]any{"caseRef": v.CaseRef}, 0, false},
		{caller{demo.SlugOperator, demo.RoleOperator}, map[string]any{"caseRef": v.CaseRef}, 0, false},
		{caller{demo.SlugKPWKM, demo.RoleMinistryAnalyst}, map[string]any{"caseRef": v.CaseRef}, 0, false},
		{caller{demo.SlugKPWKM, demo.RoleMinistryAnalyst}, map[string]any{"shelterId": v.ShelterID}, 0, true},
	} {
		res := h.do(request{Token: h.token(tc.who.Partner, tc.who.Role), Query: q, Variables: map[string]any{"f": tc.filter}})
		name := fmt.Sprintf("%s %v", tc.who, tc.filter)
		if tc.refused {
			if res.Code() == "" {
				t.Errorf("%s: a shelter filter was served to a caller who may not see locations: %s", name, res.Body)
			}
			assertNoLeak(t, res.Body, v.identifiers())
			continue
		}
		var d struct {
			Victims struct{ TotalCount int }
		}
		mustDecode(t, res.Data, &d)
		if d.Victims.TotalCount != tc.total {
			t.Errorf("%s: totalCount %d, want %d: %s", name, d.Victims.TotalCount, tc.total, res.Body)
		}
		if tc.total == 0 {
			assertNoLeak(t, res.Body, v.identifiers())
		}
	}
}

// TestResidentsNeedLocation: listing a victim among a shelter's residents says where the victim is, so a
// caller sees a resident only where it may see that victim's location: pdrm and the NGO, who may see the
// victim but not its location, do not find it among the residents by any path; with consent to location,
// pdrm does.
func TestResidentsNeedLocation(t *testing.T) {
	h := newHub(t)
	hidden := h.newMarkerVictim(hostileSpec())
	located := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM}, NoChild: true,
		Consents: []consentSpec{{Grantee: demo.SlugPDRM, Categories: []string{"LOCATION"}, Purposes: []string{"PROSECUTION"}}}})
	// Both live in the hidden victim's shelter.
	h.exec(`UPDATE placements SET shelter_id = $1 WHERE victim_id = $2`, hidden.ShelterID, located.ID)
	queries := []string{
		`query($shelter: ID!) { shelter(id: $shelter) { occupancy residents { id caseRef } } }`,
		`{ shelters(state: SELANGOR) { residents { id caseRef } } }`,
		`{ shelters { residents { id caseRef } } }`,
		`query($id: ID!) { victim(id: $id) { currentShelter { residents { id caseRef } } placements { shelter { residents { id } } } } }`,
	}
	for _, tc := range []struct {
		who            caller
		hidden, placed bool // whether each victim may be seen as a resident
	}{
		{caller{demo.SlugKPWKM, demo.RoleProtectionOfficer}, true, true},
		{caller{demo.SlugPDRM, demo.RoleEnforcementOfficer}, false, true},
		{caller{demo.SlugNGOHarapan, demo.RoleNGOCaseworker}, false, false},
		{caller{demo.SlugJIM, demo.RoleEnforcementOfficer}, false, false},
	} {
		token := h.token(tc.who.Partner, tc.who.Role)
		sawHidden, sawLocated := false, false
		for _, q := range queries {
			for _, id := range []string{hidden.ID, located.ID} {
				res := h.do(request{Token: token, Query: q, Variables: map[string]any{"shelter": hidden.ShelterID, "id": id}})
				if len(res.Errors) > 0 {
					t.Fatalf("%s: %s", tc.who, res.Body)
				}
				sawHidden = sawHidden || strings.Contains(string(res.Body), hidden.ID)
				sawLocated = sawLocated || strings.Contains(string(res.Body), located.ID)
				if !tc.hidden && strings.Contains(string(res.Body), hidden.ID) {
					t.Errorf("LEAK %s: a victim whose location is withheld is listed as a resident: %s", tc.who, truncate(res.Body))
				}
				if !tc.placed && strings.Contains(string(res.Body), located.ID) {
					t.Errorf("LEAK %s: a victim whose location is withheld is listed as a resident: %s", tc.who, truncate(res.Body))
				}
			}
		}
		if sawHidden != tc.hidden || sawLocated != tc.placed {
			t.Errorf("%s: saw the residents %v/%v, want %v/%v", tc.who, sawHidden, sawLocated, tc.hidden, tc.placed)
		}
	}
	// Residents count as a disclosure of LOCATION in the audit.
	rid := newRequestID()
	h.do(request{Token: h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer), RequestID: rid,
		Query: `query($shelter: ID!) { shelter(id: $shelter) { residents { caseRef } } }`, Variables: map[string]any{"shelter": hidden.ShelterID}})
	recs := h.accessRecords(rid)
	if len(recs) != 1 || recs[0].VictimID != located.ID || !sameStrings(recs[0].Disclosed, []string{"LOCATION"}) {
		t.Errorf("access records for a resident listing: %+v", recs)
	}
}

// TestIncrementalDeliveryRefused: @defer and @stream would resolve after the audit is written and the
// transaction ends, so documents that use them are refused whole, before any data is read.
func TestIncrementalDeliveryRefused(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{})
	token := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	for _, q := range []string{
		`query($id: ID!) { victim(id: $id) { caseRef ... @defer { legalName phone } } }`,
		`query($id: ID!) { victim(id: $id) { caseRef ...F @defer } } fragment F on Victim { legalName }`,
		`query($id: ID!) { victim(id: $id) { caseRef ...F } } fragment F on Victim { ... @defer(label: "x") { legalName } }`,
		`query($id: ID!) { victim(id: $id) { caseRef ... @defer(if: false) { legalName } } }`,
	} {
		rid := newRequestID()
		res := h.do(request{Token: token, Query: q, Variables: map[string]any{"id": v.ID}, RequestID: rid})
		if res.Code() != "INVALID" || res.Status != 400 {
			t.Errorf("status %d code %q, want 400 INVALID: %s", res.Status, res.Code(), res.Body)
		}
		assertNoLeak(t, res.Body, append(v.identifiers(), "MARKER-"))
		if n := len(h.accessRecords(rid)); n != 0 {
			t.Errorf("%d access records for a refused request", n)
		}
	}
}

// TestReferralReasonsKeepHealthFromEnforcement: health and counselling are never for prosecution. A
// referral's free-text reason ("Antenatal care", "Trauma counselling", "Follow-up of an injury…") and the
// kind of service it asks for would say as much, so a victim's referrals and service records are listed
// only where the category of their service is disclosed.
func TestReferralReasonsKeepHealthFromEnforcement(t *testing.T) {
	h := newHub(t)
	res := h.do(request{Token: h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer),
		Query: `{ victims(first: 100) { edges { node { referrals { service reason } services { service { code } } } } } }`})
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	for _, s := range []string{"Antenatal", "Trauma", "injury", `"HEALTH"`, `"COUNSELLING"`} {
		if strings.Contains(string(res.Body), s) {
			t.Errorf("LEAK: an enforcement officer reads %s", s)
		}
	}
	// The protection officer, who may see health with consent, does get health referrals of consenting
	// victims: the filter is the category, not a blanket removal.
	res = h.do(request{Token: h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer),
		Query: `{ victims(first: 100) { edges { node { referrals { service reason } } } } }`})
	if !strings.Contains(string(res.Body), `"HEALTH"`) {
		t.Errorf("the officer sees no HEALTH referral at all: %.300s", res.Body)
	}
}
