package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lindung/lindung/demo"
)

// TestAuditRecordsWhatWasServed: a request that shows no victim writes no access record; one that shows a
// victim only by reference (a cursor, a case reference) writes a record disclosing no category; a field
// that is null because nothing is recorded discloses nothing of its category.
func TestAuditRecordsWhatWasServed(t *testing.T) {
	h := newHub(t)
	officer := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM}})
	sparse := h.strings(`INSERT INTO victims (case_ref, owner_partner_id) SELECT 'SPR-2099-000001', id FROM partners
		WHERE slug = 'kpwkm' RETURNING id::text`)[0]
	firstPage := h.strings(`SELECT id::text FROM victims v JOIN (SELECT id AS p FROM partners WHERE slug = 'kpwkm') k
		ON v.owner_partner_id = k.p ORDER BY v.id LIMIT 3`)

	for _, tc := range []struct {
		name  string
		token string
		query string
		vars  map[string]any
		want  map[string][2][]string // victim id -> disclosed, withheld
	}{
		{"missing victim", officer, `query($id: ID!) { victim(id: $id) { ...All } } ` + allVictimFields,
			map[string]any{"id": randomUUID()}, nil},
		{"filter finds nothing", officer, `{ victims(filter: {caseRef: "ZZZ-2099-999999"}) { totalCount edges { node { caseRef } } } }`, nil, nil},
		{"count only", officer, `{ victims { totalCount pageInfo { hasNextPage } } }`, nil, nil},
		{"no victim types", officer, `{ viewer { username roles purpose partner { slug } } shelters { name occupancy capacity }
			services { name } partners { slug } }`, nil, nil},
		{"employer asks everything", h.token(demo.SlugEmployerLadang, demo.RoleEmployerHR), `query($id: ID!) { victim(id: $id) { ...All }
			victims { edges { cursor node { caseRef } } } referrals { id victim { caseRef } } } ` + allVictimFields,
			map[string]any{"id": v.ID}, nil},
		{"cursors only", officer, `{ victims(first: 3) { edges { cursor } } }`, nil,
			map[string][2][]string{firstPage[0]: {}, firstPage[1]: {}, firstPage[2]: {}}},
		{"end cursor only", officer, `{ victims(first: 3) { pageInfo { endCursor } } }`, nil,
			map[string][2][]string{firstPage[2]: {}}},
		{"case reference only", h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer), `query($id: ID!) { victim(id: $id) { caseRef } }`,
			map[string]any{"id": v.ID}, map[string][2][]string{v.ID: {}}},
		{"withheld only", h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer), `query($id: ID!) { victim(id: $id) { medicalNeeds legalName } }`,
			map[string]any{"id": v.ID}, map[string][2][]string{v.ID: {nil, {"IDENTITY", "HEALTH"}}}},
		{"null fields disclose nothing", officer, `query($id: ID!) { victim(id: $id) { legalName phone placements { id }
			family { relationship } workEligibility { decision } protectionOrders { id } } }`,
			map[string]any{"id": sparse}, map[string][2][]string{sparse: {}}},
		{"everything of a sparse victim", officer, `query($id: ID!) { victim(id: $id) { ...All } } ` + allVictimFields,
			map[string]any{"id": sparse}, map[string][2][]string{sparse: {{"IDENTITY", "DEMOGRAPHIC", "CASE"}, {"HEALTH", "COUNSELLING"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rid := newRequestID()
			res := h.do(request{Token: tc.token, Query: tc.query, Variables: tc.vars, RequestID: rid})
			if len(res.Errors) > 0 {
				t.Fatalf("errors: %s", res.Body)
			}
			recs := h.accessRecords(rid)
			if len(recs) != len(tc.want) {
				t.Fatalf("%d access records, want %d: %+v\n%s", len(recs), len(tc.want), recs, truncate(res.Body))
			}
			for _, r := range recs {
				w, ok := tc.want[r.VictimID]
				if !ok {
					t.Errorf("record for unexpected victim %s", r.VictimID)
				} else if !sameStrings(r.Disclosed, w[0]) || !sameStrings(r.Withheld, w[1]) {
					t.Errorf("victim %s: disclosed %v withheld %v, want %v and %v", r.VictimID, r.Disclosed, r.Withheld, w[0], w[1])
				}
			}
		})
	}
}

// TestAuditIsAppendOnly: no one, the database owner included, changes or removes an access record, and
// the hub's role cannot write one in another partner's name.
func TestAuditIsAppendOnly(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{})
	rid := newRequestID()
	h.do(request{Token: h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer), Query: `query($id: ID!) { victim(id: $id) { legalName } }`,
		Variables: map[string]any{"id": v.ID}, RequestID: rid})
	if len(h.accessRecords(rid)) != 1 {
		t.Fatal("no access record to tamper with")
	}
	for _, stmt := range []string{
		`UPDATE access_records SET disclosed = '{}' WHERE request_id = $1`,
		`UPDATE access_records SET request_id = 'forged' WHERE request_id = $1`,
		`DELETE FROM access_records WHERE request_id = $1`,
		`DELETE FROM access_records WHERE request_id = $1 OR true`,
	} {
		if err := h.execErr(stmt, h.requestID(rid)); err == nil {
			t.Errorf("the owner ran %q on the audit", stmt)
		}
	}
	if err := h.execErr(`TRUNCATE access_records CASCADE`); err == nil {
		t.Error("the owner truncated the audit")
	}
	if n := len(h.accessRecords(rid)); n != 1 {
		t.Errorf("%d access records after tampering, want 1", n)
	}

	// As the hub's runtime login, within a request's settings.
	asApp := func(partnerSlug, stmt string, args ...any) error {
		ctx := context.Background()
		tx, err := h.DB.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SELECT set_config('lindung.partner_id', id::text, true), set_config('lindung.scope', 'partner', true),
			set_config('lindung.purpose', 'CASE_MANAGEMENT', true) FROM partners WHERE slug = $1`, partnerSlug); err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, stmt, args...)
		return err
	}
	for _, stmt := range []string{
		`UPDATE access_records SET disclosed = '{}' WHERE request_id = $1`,
		`DELETE FROM access_records WHERE request_id = $1`,
	} {
		if err := asApp(demo.SlugKPWKM, stmt, h.requestID(rid)); err == nil {
			t.Errorf("lindung_app ran %q on the audit", stmt)
		}
	}
	if err := asApp(demo.SlugPDRM, `INSERT INTO access_records (request_id, username, partner_id, roles, purpose, victim_id, disclosed, withheld, policy_version)
		SELECT 'forged', 'x', id, '{}', 'CASE_MANAGEMENT', $1, '{}', '{}', 'v' FROM partners WHERE slug = 'kpwkm'`, v.ID); err == nil {
		t.Error("lindung_app wrote an access record in another partner's name")
	}
}

// TestAuditFailureWithholdsEverything: when the access records cannot be written, the response carries no
// victim data (UNAVAILABLE, HTTP 503), and nothing else the request wrote is committed.
func TestAuditFailureWithholdsEverything(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM}})
	h.exec(`CREATE FUNCTION test_audit_down() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'audit storage is down'; END $$`)
	h.exec(`CREATE TRIGGER test_audit_down BEFORE INSERT ON access_records FOR EACH ROW EXECUTE FUNCTION test_audit_down()`)
	officer := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	before := h.strings(`SELECT phone FROM victims WHERE id = $1`, v.ID)[0]
	victims := h.count(`SELECT count(*) FROM victims`)

	for _, tc := range []struct {
		name  string
		token string
		query string
		vars  map[string]any
	}{
		{"query as officer", officer, `query($id: ID!) { victim(id: $id) { ...All } } ` + allVictimFields, map[string]any{"id": v.ID}},
		{"listing as officer", officer, `{ victims(first: 50) { totalCount edges { cursor node { caseRef legalName } } } }`, nil},
		{"query as enforcement", h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer), `query($id: ID!) { victim(id: $id) { caseRef protectionOrders { court } } }`,
			map[string]any{"id": v.ID}},
		{"update", officer, `mutation($id: ID!) { updateVictim(id: $id, input: {phone: "MARKER-CONTACT-LOST"}) { id caseRef phone } }`,
			map[string]any{"id": v.ID}},
		{"create", officer, `mutation($in: CreateVictimInput!) { createVictim(input: $in) { id caseRef legalName } }`,
			map[string]any{"in": newVictimInput("LOST", 999)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.do(request{Token: tc.token, Query: tc.query, Variables: tc.vars})
			if res.Status != 503 || res.Code() != "UNAVAILABLE" {
				t.Errorf("status %d code %q, want 503 UNAVAILABLE: %s", res.Status, res.Code(), truncate(res.Body))
			}
			if string(res.Data) != "null" && len(res.Data) != 0 {
				t.Errorf("data left without its audit: %s", truncate(res.Data))
			}
			assertNoVictimData(t, res.Body)
			assertNoLeak(t, res.Body, append(v.identifiers(), "audit storage is down", "access_records"))
			if strings.Contains(string(res.Body), `"withheld"`) {
				t.Errorf("the refused response still lists withheld paths: %s", res.Body)
			}
		})
	}
	if after := h.strings(`SELECT phone FROM victims WHERE id = $1`, v.ID)[0]; after != before {
		t.Errorf("the update committed without its audit: phone %q", after)
	}
	if n := h.count(`SELECT count(*) FROM victims`); n != victims {
		t.Errorf("the create committed without its audit: %d victims, want %d", n, victims)
	}
	// A request that discloses no victim needs no audit and is served.
	if res := h.do(request{Token: officer, Query: `{ viewer { username } }`}); res.Status != 200 || len(res.Errors) > 0 {
		t.Errorf("a request without victim data failed with the audit down: %s", res.Body)
	}
	// Once the audit is back, so is the data.
	h.exec(`DROP TRIGGER test_audit_down ON access_records`)
	res := h.do(request{Token: officer, Query: `query($id: ID!) { victim(id: $id) { caseRef } }`, Variables: map[string]any{"id": v.ID}})
	if res.Status != 200 || !strings.Contains(string(res.Body), v.CaseRef) {
		t.Errorf("after the audit recovered: %s", res.Body)
	}
}

// TestDisclosureReport: the officer reads which partners saw the victim, with the categories they were
// shown; for any other role, the report does not exist, exactly as for a victim that does not exist.
func TestDisclosureReport(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM},
		Referrals: []referralSpec{{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: []string{"CASE"}}}})
	allQuery := `query($id: ID!) { victim(id: $id) { ...All } } ` + allVictimFields
	h.do(request{Token: h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer), Query: allQuery, Variables: map[string]any{"id": v.ID}})
	// Seeing the victim by reference only discloses no category and is not reported as a disclosure.
	h.do(request{Token: h.token(demo.SlugNGOHarapan, demo.RoleNGOCaseworker), Query: `query($id: ID!) { victim(id: $id) { caseRef medicalNeeds } }`,
		Variables: map[string]any{"id": v.ID}})

	q := `query($id: ID!) { disclosures(victimId: $id) { partnerName partnerType purpose categories sentence } }`
	res := h.do(request{Token: h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer), Query: q, Variables: map[string]any{"id": v.ID}})
	var d struct {
		Disclosures []struct {
			PartnerName, PartnerType, Purpose, Sentence string
			Categories                                  []string
		}
	}
	mustDecode(t, res.Data, &d)
	found := false
	for _, x := range d.Disclosures {
		if x.PartnerName == "Polis Diraja Malaysia" {
			found = true
			if x.Purpose != "PROSECUTION" || !sameStrings(x.Categories, []string{"DEMOGRAPHIC", "CASE", "LEGAL"}) {
				t.Errorf("pdrm's disclosure: %+v", x)
			}
		}
		if strings.Contains(x.PartnerName, "Harapan") {
			t.Errorf("a reference-only view is reported as a disclosure: %+v", x)
		}
	}
	if !found {
		t.Errorf("the report lacks pdrm: %s", res.Body)
	}

	for _, c := range allCallers {
		if c.Role == demo.RoleProtectionOfficer {
			continue
		}
		token := h.token(c.Partner, c.Role)
		real := h.do(request{Token: token, Query: q, Variables: map[string]any{"id": v.ID}})
		fake := h.do(request{Token: token, Query: q, Variables: map[string]any{"id": randomUUID()}})
		if real.Code() != "NOT_FOUND" || string(real.Data) != "null" || string(real.Body) != string(fake.Body) {
			t.Errorf("%s: disclosures of a victim: %s (random id: %s)", c, real.Body, fake.Body)
		}
		assertNoLeak(t, real.Body, []string{"Polis", "PROSECUTION"})
	}
}
