package server_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/resolvers"
)

// The security tests build their own victims on top of the demo data: every data category of a marker
// victim holds a value found nowhere else in the database (a marker), so a test can grep a whole response
// body for what it must, and must not, contain, whatever path the data took to get there.

// victimSpec says how a marker victim is reachable and what it consented to.
type victimSpec struct {
	Owner     string         // slug of the owning partner; kpwkm when empty
	Links     []string       // slugs of the partners linked to the case (case_links)
	Referrals []referralSpec // referrals from kpwkm
	Consents  []consentSpec  // one consent form per entry, with one provision
	NoChild   bool           // no family member (the FAMILY marker is the child's case reference)
	// ChildNotShared keeps the child out of the links and referrals, so that only the owner's officers
	// can ever see its case reference: then it appears in a response only through the victim's family.
	ChildNotShared bool
	NoExtras       bool           // no placement, order, service record or work eligibility
	Tweak          func(v string) // extra SQL setup, given the victim's id
}

// referralSpec is a referral of the victim from kpwkm to a partner.
type referralSpec struct {
	To         string
	Status     string
	Categories []string
}

// consentSpec is a consent form with one provision. Grantee is a partner slug, or a partner type in
// capitals. Period is "" (from yesterday, open-ended), "expired", "future" or "withdrawn".
type consentSpec struct {
	Grantee    string
	Categories []string
	Purposes   []string
	Period     string
}

// markerVictim is a victim made by newMarkerVictim.
type markerVictim struct {
	ID, CaseRef           string
	ChildID, ChildCaseRef string
	ShelterID             string
	ConsentIDs            []string
	ReferralIDs           []string
	tag                   string
	employmentDate        string
}

var markerSeq atomic.Int64

// markerCategories are the categories whose marker is a string in the response when disclosed.
var markerCategories = lindung.Categories()

// marker returns the string that appears in a response exactly when category c of v is disclosed ("" when
// v has no value of c, such as FAMILY for a victim without a child).
func (v *markerVictim) marker(c lindung.Category) string {
	switch c {
	case lindung.Family:
		return v.ChildCaseRef
	case lindung.Employment:
		return v.employmentDate
	}
	return "MARKER-" + c.String() + "-" + v.tag
}

// markers returns the markers of the categories in s.
func (v *markerVictim) markers(s lindung.CategorySet) []string {
	var out []string
	for _, c := range s.List() {
		if m := v.marker(c); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// identifiers are the strings that show the victim (or its child) is in a response at all.
func (v *markerVictim) identifiers() []string {
	out := []string{v.ID, v.CaseRef}
	if v.ChildID != "" {
		out = append(out, v.ChildID, v.ChildCaseRef)
	}
	return out
}

// partnerIDs returns the ids of the demo partners by slug.
func (h *hub) partnerIDs() map[string]string {
	h.t.Helper()
	out := map[string]string{}
	rows := h.sql(`SELECT slug, id::text FROM partners`)
	defer rows.Close()
	for rows.Next() {
		var slug, id string
		if err := rows.Scan(&slug, &id); err != nil {
			h.t.Fatal(err)
		}
		out[slug] = id
	}
	return out
}

// newMarkerVictim inserts, as the database owner, a victim with a marker in every category, and what
// spec asks for: links, referrals and consents, replicated for the child so that it is in the same scope.
func (h *hub) newMarkerVictim(spec victimSpec) *markerVictim {
	h.t.Helper()
	p := h.partnerIDs()
	owner := spec.Owner
	if owner == "" {
		owner = demo.SlugKPWKM
	}
	n := markerSeq.Add(1)
	v := &markerVictim{tag: fmt.Sprintf("%06d", n), CaseRef: fmt.Sprintf("MRK-2099-%06d", n)}
	v.employmentDate = fmt.Sprintf("2098-%02d-%02d", n%12+1, (n/12)%28+1)
	officer := h.strings(`SELECT id::text FROM users WHERE username = $1`, demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM))[0]
	m := func(c lindung.Category) string { return v.marker(c) }

	v.ID = h.strings(`INSERT INTO victims (case_ref, owner_partner_id, legal_name, aliases, date_of_birth, age_band,
		gender, citizenship, languages, interpreter_needed, phone, trafficking_status, exploitation_types, sector,
		means_of_control, identified_on, medical_needs, counselling_notes)
		VALUES ($1, $2, $3, ARRAY[$3 || '-ALIAS'], '1990-04-01', 'AGE_30_38', 'FEMALE', '{IDN}', ARRAY[$4], true, $5,
		'CONFIRMED', '{FORCED_LABOUR}', 'PLANTATION', '{DEBT_BONDAGE}', current_date - 30, $6, $7)
		RETURNING id::text`,
		v.CaseRef, p[owner], m(lindung.Identity), m(lindung.Demographic), m(lindung.Contact), m(lindung.Health),
		m(lindung.Counselling))[0]
	ids := []string{v.ID}
	if !spec.NoChild {
		v.ChildCaseRef = fmt.Sprintf("FAM-2099-%06d", n)
		v.ChildID = h.strings(`INSERT INTO victims (case_ref, owner_partner_id, age_band, gender, identified_on)
			VALUES ($1, $2, 'AGE_0_8', 'FEMALE', current_date - 30) RETURNING id::text`, v.ChildCaseRef, p[owner])[0]
		h.exec(`INSERT INTO family_links (victim_id, related_victim_id, relationship) VALUES ($1, $2, 'MOTHER')`, v.ChildID, v.ID)
		ids = append(ids, v.ChildID)
	}
	if !spec.NoExtras {
		v.ShelterID = h.strings(`INSERT INTO shelters (name, operator_partner_id, state, category, order_type, capacity, services)
			VALUES ('Test shelter ' || $1, $2, 'SELANGOR', 'WOMEN', 'IPO', 10, '{HEALTH}') RETURNING id::text`,
			v.tag, p[demo.SlugKPWKM])[0]
		h.exec(`INSERT INTO placements (victim_id, shelter_id, from_date, reason) VALUES ($1, $2, current_date - 20, $3)`,
			v.ID, v.ShelterID, m(lindung.Location))
		h.exec(`INSERT INTO protection_orders (victim_id, type, court, order_number, starts_on, ends_on, conditions)
			VALUES ($1, 'IPO', $2, $2 || '-ORDER', current_date - 20, current_date + 1, ARRAY[$2 || '-CONDITION'])`,
			v.ID, m(lindung.Legal))
		h.exec(`INSERT INTO service_records (victim_id, service_code, provider_partner_id, status, requested_on, scheduled_for)
			VALUES ($1, 'HEALTH', $2, 'SCHEDULED', current_date - 10, current_date + 5)`, v.ID, p[demo.SlugNGOHarapan])
		h.exec(`INSERT INTO work_eligibility (victim_id, protection_order_held, medical_screening_passed,
			risk_assessment_passed, decision, decided_on, valid_until) VALUES ($1, true, true, true, 'ELIGIBLE', current_date - 5, $2)`,
			v.ID, v.employmentDate)
	}
	shared := ids
	if spec.ChildNotShared {
		shared = ids[:1]
	}
	for _, l := range spec.Links {
		for _, id := range shared {
			h.exec(`INSERT INTO case_links (victim_id, partner_id, role) VALUES ($1, $2, 'INVESTIGATING')`, id, p[l])
		}
	}
	// Every victim has a rejected referral to ngo-cahaya and a consent of no consequence, so that its
	// referrals and consents are never empty and the CASE marker always has somewhere to be. Referrals are
	// for repatriation, a service of category CASE: a referral is listed only with its service's category.
	spec.Referrals = append([]referralSpec{{To: demo.SlugNGOCahaya, Status: "REJECTED", Categories: []string{"CASE"}}}, spec.Referrals...)
	spec.Consents = append([]consentSpec{{Grantee: demo.SlugOperator, Categories: []string{"EMPLOYMENT"}, Purposes: []string{"STATISTICS"}}}, spec.Consents...)
	for _, r := range spec.Referrals {
		var rejection *string
		if r.Status == "REJECTED" {
			s := m(lindung.Case) + "-REJECTION"
			rejection = &s
		}
		v.ReferralIDs = append(v.ReferralIDs, h.strings(`INSERT INTO referrals (victim_id, from_partner_id, to_partner_id,
			service_code, categories, status, reason, rejection_reason, due_on)
			VALUES ($1, $2, $3, 'REPATRIATION', $4::data_category[], $5::referral_status, $6, $7, current_date + 10) RETURNING id::text`,
			v.ID, p[demo.SlugKPWKM], p[r.To], r.Categories, r.Status, m(lindung.Case)+"-REFERRAL", rejection)[0])
		if v.ChildID != "" && r.Status == "ACCEPTED" && !spec.ChildNotShared {
			h.exec(`INSERT INTO referrals (victim_id, from_partner_id, to_partner_id, service_code, categories, status, due_on)
				VALUES ($1, $2, $3, 'REPATRIATION', $4::data_category[], 'ACCEPTED', current_date + 10)`,
				v.ChildID, p[demo.SlugKPWKM], p[r.To], r.Categories)
		}
	}
	for i, c := range spec.Consents {
		id := h.strings(`INSERT INTO consents (victim_id, grantor_victim_id, grantor_relation, recorded_by_user_id,
			recorded_at, language, method, document_ref)
			VALUES ($1, $1, 'SELF', $2, now() - interval '2 days', $3, 'WRITTEN', $4) RETURNING id::text`,
			v.ID, officer, m(lindung.Case)+"-LANGUAGE", fmt.Sprintf("%s-DOC-%d", m(lindung.Case), i))[0]
		v.ConsentIDs = append(v.ConsentIDs, id)
		var partner, typ *string
		if lindung.PartnerType(c.Grantee).Valid() {
			typ = &c.Grantee
		} else {
			s := p[c.Grantee]
			if s == "" {
				h.t.Fatalf("unknown grantee %q", c.Grantee)
			}
			partner = &s
		}
		start, end := "-1 day", ""
		switch c.Period {
		case "expired":
			start, end = "-2 days", "-1 second"
		case "future":
			start, end = "+1 day", "+2 days"
		case "withdrawn":
			h.exec(`UPDATE consents SET withdrawn_at = now() - interval '1 hour' WHERE id = $1`, id)
		case "":
		default:
			h.t.Fatalf("unknown consent period %q", c.Period)
		}
		h.exec(`INSERT INTO consent_provisions (consent_id, position, grantee_partner_id, grantee_type, categories,
			purposes, period_start, period_end)
			VALUES ($1, 1, $2, $3::partner_type, $4::data_category[], $5::purpose[], now() + $6::interval,
			now() + nullif($7, '')::interval)`, id, partner, typ, c.Categories, c.Purposes, start, end)
	}
	if spec.Tweak != nil {
		spec.Tweak(v.ID)
	}
	return v
}

// allVictimFields selects every field of a victim, and every nested field of the types it reaches.
const allVictimFields = `fragment All on Victim {
	id caseRef legalName aliases dateOfBirth ageBand gender citizenship languages interpreterNeeded phone
	traffickingStatus exploitationTypes sector meansOfControl identifiedOn
	currentShelter { id name occupancy residents { id caseRef } }
	placements { id shelter { id name } fromDate toDate reason }
	protectionOrders { id type court orderNumber startsOn endsOn endedOn conditions }
	services { id service { code name } provider { slug } status requestedOn scheduledFor deliveredOn }
	referrals { id victim { id caseRef } from { slug } to { slug } service categories status dueOn createdAt
		reason rejectionReason }
	consents { id grantorRelation recordedAt language interpreter { slug } method documentRef status withdrawnAt
		provisions { granteePartner { slug } granteeType categories purposes periodStart periodEnd } }
	family { relationship victim { id caseRef } }
	medicalNeeds counsellingNotes
	workEligibility { protectionOrderHeld medicalScreeningPassed riskAssessmentPassed decision decidedOn validUntil }
}`

// victimFieldCategories are the guarded fields of Victim and their categories, as the schema classifies
// them; every one holds a value in a marker victim.
var victimFieldCategories = []struct {
	Field    string
	Category lindung.Category
}{
	{"legalName", lindung.Identity}, {"aliases", lindung.Identity}, {"dateOfBirth", lindung.Identity},
	{"ageBand", lindung.Demographic}, {"gender", lindung.Demographic}, {"citizenship", lindung.Demographic},
	{"languages", lindung.Demographic}, {"interpreterNeeded", lindung.Demographic},
	{"phone", lindung.Contact},
	{"traffickingStatus", lindung.Case}, {"exploitationTypes", lindung.Case}, {"sector", lindung.Case},
	{"meansOfControl", lindung.Case}, {"identifiedOn", lindung.Case}, {"services", lindung.Case},
	{"referrals", lindung.Case}, {"consents", lindung.Case},
	{"currentShelter", lindung.Location}, {"placements", lindung.Location},
	{"protectionOrders", lindung.Legal},
	{"family", lindung.Family},
	{"medicalNeeds", lindung.Health},
	{"counsellingNotes", lindung.Counselling},
	{"workEligibility", lindung.Employment},
}

// expectedWithheld returns extensions.withheld for a response that served every field of one victim at
// prefix (e.g. "victim") and withheld the categories in noConsent and notPermitted.
func expectedWithheld(prefix string, noConsent, notPermitted lindung.CategorySet) []resolvers.Withheld {
	var out []resolvers.Withheld
	add := func(reason string, s lindung.CategorySet) {
		for _, c := range s.List() {
			w := resolvers.Withheld{Reason: reason, Category: c.String()}
			for _, f := range victimFieldCategories {
				if f.Category == c {
					w.Paths = append(w.Paths, prefix+"."+f.Field)
				}
			}
			sort.Strings(w.Paths)
			out = append(out, w)
		}
	}
	add("NOT_PERMITTED", notPermitted)
	add("NO_CONSENT", noConsent)
	sortWithheld(out)
	return out
}

func sortWithheld(ws []resolvers.Withheld) {
	sort.Slice(ws, func(i, j int) bool {
		if ws[i].Reason != ws[j].Reason {
			return ws[i].Reason < ws[j].Reason
		}
		return ws[i].Category < ws[j].Category
	})
}

func formatWithheld(ws []resolvers.Withheld) string {
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "\n  %s %s %v", w.Reason, w.Category, w.Paths)
	}
	return b.String()
}

// checkMarkers reports, as messages, the markers of v the body holds but must not (categories outside
// disclosed) and those it lacks but must hold (categories in disclosed).
func checkMarkers(body []byte, v *markerVictim, disclosed lindung.CategorySet) []string {
	var problems []string
	for _, c := range markerCategories {
		m := v.marker(c)
		if m == "" {
			continue
		}
		has := bytes.Contains(body, []byte(m))
		switch {
		case disclosed.Has(c) && !has:
			problems = append(problems, fmt.Sprintf("%s marker %q missing: the category should be disclosed", c, m))
		case !disclosed.Has(c) && has:
			problems = append(problems, fmt.Sprintf("LEAK: %s marker %q in the response: the category must be withheld", c, m))
		}
	}
	return problems
}

// assertNoLeak fails when body holds any of the forbidden strings.
func assertNoLeak(t testing.TB, body []byte, forbidden []string) {
	t.Helper()
	for _, f := range forbidden {
		if f != "" && bytes.Contains(body, []byte(f)) {
			t.Errorf("LEAK: response holds %q:\n%s", f, truncate(body))
		}
	}
}

// caseRefPattern matches a case reference anywhere in a response.
var caseRefPattern = regexp.MustCompile(`[A-Z]{2,5}-[0-9]{4}-[0-9]{6}`)

// assertNoVictimData fails when body holds any case reference, or any field that only victim records
// have: for callers that must get no victim rows by any path.
func assertNoVictimData(t testing.TB, body []byte) {
	t.Helper()
	if m := caseRefPattern.Find(body); m != nil {
		t.Errorf("LEAK: a case reference (%s) reached a caller without victim rows:\n%s", m, truncate(body))
	}
	if bytes.Contains(body, []byte("MARKER-")) {
		t.Errorf("LEAK: a marker reached a caller without victim rows:\n%s", truncate(body))
	}
}

func truncate(b []byte) string {
	if len(b) > 800 {
		return string(b[:800]) + "…"
	}
	return string(b)
}

// accessRow is one row of access_records as the tests read it.
type accessRow struct {
	VictimID      string
	Disclosed     []string
	Withheld      []string
	Purpose       string
	PartnerID     string
	PolicyVersion string
	Username      string
	Roles         []string
	UserID        *string
}

// accessRecords returns the access records written by the request with the given id.
func (h *hub) accessRecords(requestID string) []accessRow {
	h.t.Helper()
	rows := h.sql(`SELECT victim_id::text, disclosed::text[], withheld::text[], purpose::text, partner_id::text,
		policy_version, username, roles, user_id::text FROM access_records WHERE request_id = $1 ORDER BY victim_id`, h.requestID(requestID))
	defer rows.Close()
	var out []accessRow
	for rows.Next() {
		var r accessRow
		if err := rows.Scan(&r.VictimID, &r.Disclosed, &r.Withheld, &r.Purpose, &r.PartnerID, &r.PolicyVersion,
			&r.Username, &r.Roles, &r.UserID); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// newRequestID returns a fresh X-Request-Id.
func newRequestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "test-" + hex.EncodeToString(b)
}

// randomUUID returns a version 4 UUID that names no record.
func randomUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// parseCategories reads "A,B" (or "-" for none) as a set.
func parseCategories(t testing.TB, s string) lindung.CategorySet {
	t.Helper()
	if s == "-" || s == "" {
		return 0
	}
	if s == "ALL" {
		return lindung.AllCategories
	}
	set, err := lindung.ParseCategorySet(strings.Split(s, ","))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// sameStrings reports whether a and b hold the same strings, in any order.
func sameStrings(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// caller is who a test request runs as.
type caller struct {
	Partner, Role string
}

func (c caller) String() string { return c.Role + "@" + c.Partner }

// allCallers are the demo users of every role at every partner that holds it.
var allCallers = []caller{
	{demo.SlugKPWKM, demo.RoleProtectionOfficer},
	{demo.SlugKPWKM, demo.RoleMinistryAnalyst},
	{demo.SlugPDRM, demo.RoleEnforcementOfficer},
	{demo.SlugJIM, demo.RoleEnforcementOfficer},
	{demo.SlugNGOHarapan, demo.RoleNGOCaseworker},
	{demo.SlugNGOSuara, demo.RoleNGOCaseworker},
	{demo.SlugNGOCahaya, demo.RoleNGOCaseworker},
	{demo.SlugEmployerLadang, demo.RoleEmployerHR},
	{demo.SlugEmployerKilang, demo.RoleEmployerHR},
	{demo.SlugOperator, demo.RoleOperator},
}

// noRows reports whether the role sees no victim rows at all.
func noRows(role string) bool {
	switch role {
	case demo.RoleMinistryAnalyst, demo.RoleEmployerHR, demo.RoleOperator:
		return true
	}
	return false
}
