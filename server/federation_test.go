package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/resolvers"
	"github.com/lindung/lindung/server"
)

// The federation's policy suite: Query._entities is one more path to victims, and must disclose exactly
// what Query.victim discloses to the same caller (rows, fields, extensions.withheld, audit), and nothing
// to a caller without a token or rows, whatever a representation claims.

// entitiesQuery resolves victim representations with every field of a victim.
const entitiesQuery = `query Entities($r: [_Any!]!) { _entities(representations: $r) { __typename ...All } }` + "\n" + allVictimFields

// directQuery reads one victim with the same fields.
const directQuery = `query Direct($id: ID!) { victim(id: $id) { __typename ...All } }` + "\n" + allVictimFields

// rep is a victim representation as a router sends it, with extra fields a forger might add.
func rep(caseRef string, extra ...string) map[string]any {
	r := map[string]any{"__typename": "Victim", "caseRef": caseRef}
	for i := 0; i+1 < len(extra); i += 2 {
		r[extra[i]] = extra[i+1]
	}
	return r
}

// entities returns the _entities list of a response.
func entities(t *testing.T, r *response) []json.RawMessage {
	t.Helper()
	var d struct {
		Entities []json.RawMessage `json:"_entities"`
	}
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatalf("data is not an _entities list: %s", r.Body)
	}
	return d.Entities
}

// withheldAt rewrites the paths of extensions.withheld from one prefix to another, to compare the paths
// of two responses that reached the same victim by different fields.
func withheldAt(ws []resolvers.Withheld, from, to string) []resolvers.Withheld {
	if ws == nil {
		return nil
	}
	out := make([]resolvers.Withheld, len(ws))
	for i, w := range ws {
		out[i] = resolvers.Withheld{Reason: w.Reason, Category: w.Category}
		for _, p := range w.Paths {
			out[i].Paths = append(out[i].Paths, to+strings.TrimPrefix(p, from))
		}
	}
	return out
}

// TestEntitiesAsQueryVictim: for every demo caller, a victim resolved through _entities is exactly the
// victim of Query.victim: the same JSON, the same withheld paths and reasons, the same audit record.
func TestEntitiesAsQueryVictim(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{
		Links:     []string{demo.SlugPDRM},
		Referrals: []referralSpec{{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: []string{"CASE", "DEMOGRAPHIC", "CONTACT", "HEALTH"}}},
		Consents: []consentSpec{
			{Grantee: demo.SlugNGOHarapan, Categories: []string{"CONTACT"}, Purposes: []string{"SERVICE_DELIVERY"}},
			{Grantee: "GOVERNMENT", Categories: []string{"IDENTITY", "HEALTH"}, Purposes: []string{"PROSECUTION", "CASE_MANAGEMENT"}},
		},
	})
	for _, c := range allCallers {
		t.Run(c.String(), func(t *testing.T) {
			tok := h.token(c.Partner, c.Role)
			directLabel := newRequestID()
			direct := h.do(request{Token: tok, Query: directQuery, Variables: map[string]any{"id": v.ID}, RequestID: directLabel})
			viaLabel := newRequestID()
			via := h.do(request{Token: tok, Query: entitiesQuery, RequestID: viaLabel,
				Variables: map[string]any{"r": []any{rep(v.CaseRef)}}})
			if len(direct.Errors) != 0 || len(via.Errors) != 0 {
				t.Fatalf("errors: direct %s\nentities %s", direct.Body, via.Body)
			}
			var d struct{ Victim json.RawMessage }
			if err := json.Unmarshal(direct.Data, &d); err != nil {
				t.Fatal(err)
			}
			got := entities(t, via)
			if len(got) != 1 || !bytes.Equal(got[0], d.Victim) {
				t.Fatalf("_entities differs from Query.victim:\n_entities %s\nvictim    %s", via.Data, d.Victim)
			}
			if noRows(c.Role) {
				if string(got[0]) != "null" {
					t.Errorf("a role without rows got a victim: %s", via.Body)
				}
				assertNoVictimData(t, via.Body)
			}
			if want := withheldAt(direct.Extensions.Withheld, "victim", "_entities[0]"); !reflect.DeepEqual(via.Extensions.Withheld, want) {
				t.Errorf("extensions.withheld differs:\n_entities %s\nvictim    %s", formatWithheld(via.Extensions.Withheld), formatWithheld(want))
			}
			gotRecs, wantRecs := h.accessRecords(viaLabel), h.accessRecords(directLabel)
			if len(gotRecs) != len(wantRecs) {
				t.Fatalf("_entities wrote %d access records, Query.victim %d", len(gotRecs), len(wantRecs))
			}
			for i := range gotRecs {
				if gotRecs[i].VictimID != wantRecs[i].VictimID || !sameStrings(gotRecs[i].Disclosed, wantRecs[i].Disclosed) ||
					!sameStrings(gotRecs[i].Withheld, wantRecs[i].Withheld) {
					t.Errorf("access record differs:\n_entities %+v\nvictim    %+v", gotRecs[i], wantRecs[i])
				}
			}
		})
	}
}

// TestEntitiesHostile: direct _entities calls that try to get around the policy.
func TestEntitiesHostile(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM}})
	other := h.newMarkerVictim(victimSpec{}) // kpwkm's, linked to no one
	p := h.partnerIDs()
	forbidden := append(v.identifiers(), v.markers(lindung.AllCategories)...)
	pdrm := h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer)
	suara := h.token(demo.SlugNGOSuara, demo.RoleNGOCaseworker)

	t.Run("no token", func(t *testing.T) {
		// A gateway's entity fetch without a valid token: a null per representation and the error once, at
		// _entities (docs/federation.md, Errors through a gateway); any other request: 401 alone.
		// A valid token of no registered user is refused as the request's session starts; the same shape.
		unregistered, err := h.issuer.Issue(auth.Claims{Subject: "nobody@pdrm", Partner: demo.SlugPDRM, Roles: []string{demo.RoleEnforcementOfficer}}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for _, token := range []string{"", "not-a-token", pdrm[:len(pdrm)-4] + "AAAA", unregistered} {
			r := h.do(request{Token: token, Query: entitiesQuery, Variables: map[string]any{"r": []any{rep(v.CaseRef), rep(other.CaseRef)}}})
			if r.Status != http.StatusOK || string(r.Data) != `{"_entities":[null,null]}` || len(r.Errors) != 1 || r.Code() != "UNAUTHENTICATED" ||
				!reflect.DeepEqual(r.Errors[0].Path, []any{"_entities"}) {
				t.Errorf("token %q: want the entities null and one UNAUTHENTICATED at _entities, got %d %s", token, r.Status, r.Body)
			}
			assertNoLeak(t, r.Body, forbidden)
			r = h.do(request{Token: token, Query: `{ victim(id: "` + v.ID + `") { caseRef } }`})
			if r.Status != http.StatusUnauthorized || r.Code() != "UNAUTHENTICATED" || !allNull(r.Data) {
				t.Errorf("token %q: a query not of entities: want 401 UNAUTHENTICATED without data, got %d %s", token, r.Status, r.Body)
			}
			// An _entities field beside another field is not an entity fetch.
			r = h.do(request{Token: token, Query: `query($r: [_Any!]!) { _entities(representations: $r) { __typename } viewer { username } }`,
				Variables: map[string]any{"r": []any{rep(v.CaseRef)}}})
			if r.Status != http.StatusUnauthorized || !allNull(r.Data) {
				t.Errorf("token %q: _entities beside another field: want 401 without data, got %d %s", token, r.Status, r.Body)
			}
		}
	})

	t.Run("out of scope is indistinguishable from unknown", func(t *testing.T) {
		outLabel, unknownLabel := newRequestID(), newRequestID()
		out := h.do(request{Token: suara, Query: entitiesQuery, RequestID: outLabel, Variables: map[string]any{"r": []any{rep(v.CaseRef)}}})
		unknown := h.do(request{Token: suara, Query: entitiesQuery, RequestID: unknownLabel, Variables: map[string]any{"r": []any{rep("MRK-2099-999999")}}})
		if string(out.Data) != `{"_entities":[null]}` || !bytes.Equal(out.Body, unknown.Body) || out.Status != unknown.Status {
			t.Errorf("out of scope and unknown differ:\nout of scope %d %s\nunknown      %d %s", out.Status, out.Body, unknown.Status, unknown.Body)
		}
		assertNoLeak(t, out.Body, forbidden)
		if n := len(h.accessRecords(outLabel)) + len(h.accessRecords(unknownLabel)); n != 0 {
			t.Errorf("%d access records for nothing disclosed", n)
		}
	})

	t.Run("forged fields are ignored", func(t *testing.T) {
		plain := h.do(request{Token: pdrm, Query: entitiesQuery, Variables: map[string]any{"r": []any{rep(v.CaseRef)}}})
		forged := rep(v.CaseRef, "legalName", "FORGED-NAME", "partnerId", p[demo.SlugPDRM], "id", other.ID,
			"ownerPartnerId", p[demo.SlugPDRM], "consented", "1023", "referred", "1023", "medicalNeeds", "FORGED-HEALTH")
		got := h.do(request{Token: pdrm, Query: entitiesQuery, Variables: map[string]any{"r": []any{forged}}})
		if !bytes.Equal(got.Data, plain.Data) || !reflect.DeepEqual(got.Extensions.Withheld, plain.Extensions.Withheld) {
			t.Errorf("a forged representation changed the answer:\nforged %s\nplain  %s", got.Body, plain.Body)
		}
		if bytes.Contains(got.Body, []byte("FORGED")) {
			t.Errorf("a forged value was echoed: %s", got.Body)
		}
		assertNoLeak(t, got.Body, append(other.identifiers(), v.marker(lindung.Health), v.marker(lindung.Counselling)))
		// Out of scope, forged ownership and consent open nothing.
		out := h.do(request{Token: pdrm, Query: entitiesQuery, Variables: map[string]any{"r": []any{
			rep(other.CaseRef, "partnerId", p[demo.SlugPDRM], "ownerPartnerId", p[demo.SlugPDRM], "linked", "true")}}})
		if string(out.Data) != `{"_entities":[null]}` {
			t.Errorf("forged ownership opened a case: %s", out.Body)
		}
		assertNoLeak(t, out.Body, other.identifiers())
	})

	t.Run("roles without rows get nothing", func(t *testing.T) {
		for _, c := range []caller{{demo.SlugEmployerLadang, demo.RoleEmployerHR}, {demo.SlugOperator, demo.RoleOperator},
			{demo.SlugKPWKM, demo.RoleMinistryAnalyst}, {demo.SlugOperator, "router"}} {
			r := h.do(request{Token: h.token(c.Partner, c.Role), Query: entitiesQuery,
				Variables: map[string]any{"r": []any{rep(v.CaseRef), rep(other.CaseRef, "partnerId", p[c.Partner])}}})
			if string(r.Data) != `{"_entities":[null,null]}` {
				t.Errorf("%s: %s", c, r.Body)
			}
			assertNoVictimData(t, r.Body)
		}
	})

	t.Run("aliases over _entities", func(t *testing.T) {
		q := `query($a: [_Any!]!, $b: [_Any!]!) {
			a: _entities(representations: $a) { ... on Victim { caseRef legalName phone } }
			b: _entities(representations: $b) { ... on Victim { caseRef legalName phone } }
			c: _entities(representations: $a) { ... on Victim { caseRef medicalNeeds counsellingNotes } } }`
		vars := map[string]any{"a": []any{rep(v.CaseRef)}, "b": []any{rep(other.CaseRef), rep(v.CaseRef, "partnerId", p[demo.SlugKPWKM])}}
		r := h.do(request{Token: suara, Query: q, Variables: vars})
		if string(r.Data) != `{"a":[null],"b":[null,null],"c":[null]}` {
			t.Errorf("aliases reached out-of-scope victims: %s", r.Body)
		}
		assertNoLeak(t, r.Body, append(forbidden, other.identifiers()...))
		label := newRequestID()
		r = h.do(request{Token: pdrm, Query: q, Variables: vars, RequestID: label})
		want := fmt.Sprintf(`{"a":[{"caseRef":%q,"legalName":null,"phone":null}],"b":[null,{"caseRef":%q,"legalName":null,"phone":null}],"c":[{"caseRef":%[1]q,"medicalNeeds":null,"counsellingNotes":null}]}`, v.CaseRef, v.CaseRef)
		if string(r.Data) != want {
			t.Errorf("aliases as the linked officer:\n got %s\nwant %s", r.Data, want)
		}
		recs := h.accessRecords(label)
		if len(recs) != 1 || recs[0].VictimID != v.ID || len(recs[0].Disclosed) != 0 ||
			!sameStrings(recs[0].Withheld, []string{"IDENTITY", "CONTACT", "HEALTH", "COUNSELLING"}) {
			t.Errorf("access records %+v, want one for %s disclosing nothing and withholding IDENTITY, CONTACT, HEALTH, COUNSELLING", recs, v.ID)
		}
	})

	t.Run("partners and shelters", func(t *testing.T) {
		po := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
		q := `query($r: [_Any!]!, $p: ID!, $s: ID!) { _entities(representations: $r) { __typename
			... on Partner { id slug name type } ... on Shelter { id name occupancy residents { caseRef } } }
			partner(id: $p) { __typename id slug name type } shelter(id: $s) { __typename id name occupancy residents { caseRef } } }`
		vars := map[string]any{"p": p[demo.SlugNGOSuara], "s": v.ShelterID, "r": []any{
			map[string]any{"__typename": "Partner", "id": p[demo.SlugNGOSuara]},
			map[string]any{"__typename": "Shelter", "id": v.ShelterID, "operatorPartnerId": p[demo.SlugNGOSuara]}}}
		r := h.do(request{Token: po, Query: q, Variables: vars})
		var d struct {
			Entities []json.RawMessage `json:"_entities"`
			Partner  json.RawMessage
			Shelter  json.RawMessage
		}
		if err := json.Unmarshal(r.Data, &d); err != nil || len(d.Entities) != 2 {
			t.Fatalf("%s", r.Body)
		}
		if !bytes.Equal(d.Entities[0], d.Partner) || !bytes.Equal(d.Entities[1], d.Shelter) {
			t.Errorf("entities differ from the root fields: %s", r.Body)
		}
		// An employer is told of no shelter, by any path.
		r = h.do(request{Token: h.token(demo.SlugEmployerLadang, demo.RoleEmployerHR),
			Query:     `query($r: [_Any!]!) { _entities(representations: $r) { ... on Shelter { id name } } }`,
			Variables: map[string]any{"r": []any{map[string]any{"__typename": "Shelter", "id": v.ShelterID}}}})
		if r.Code() != "FORBIDDEN" || bytes.Contains(r.Body, []byte("Test shelter")) {
			t.Errorf("an employer reached a shelter: %s", r.Body)
		}
	})
}

// TestServiceSDL: the subgraph SDL is the whole schema, so it follows introspection's rule: the supergraph
// router's account and the operator may read it, partners may not.
func TestServiceSDL(t *testing.T) {
	h := newHub(t)
	q := `{ _service { sdl } }`
	for _, tt := range []struct {
		caller caller
		status int
	}{
		{caller{demo.SlugOperator, "router"}, http.StatusOK},
		{caller{demo.SlugOperator, demo.RoleOperator}, http.StatusOK},
		{caller{demo.SlugKPWKM, demo.RoleProtectionOfficer}, http.StatusForbidden},
		{caller{demo.SlugNGOHarapan, demo.RoleNGOCaseworker}, http.StatusForbidden},
		{caller{demo.SlugEmployerLadang, demo.RoleEmployerHR}, http.StatusForbidden},
	} {
		t.Run(tt.caller.String(), func(t *testing.T) {
			r := h.do(request{Token: h.token(tt.caller.Partner, tt.caller.Role), Query: q})
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, truncate(r.Body))
			}
			if tt.status != http.StatusOK {
				if r.Code() != "FORBIDDEN" || bytes.Contains(r.Body, []byte("type Victim")) {
					t.Errorf("want FORBIDDEN and no schema: %s", truncate(r.Body))
				}
				return
			}
			var d struct {
				Service struct{ SDL string } `json:"_service"`
			}
			if err := json.Unmarshal(r.Data, &d); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`@link(url: "https://specs.apollo.dev/federation/v2.3"`,
				`type Victim @victimOwned @key(fields: "caseRef")`, `type Partner @key(fields: "id")`, `type Shelter @key(fields: "id")`} {
				if !strings.Contains(d.Service.SDL, want) {
					t.Errorf("the SDL lacks %s", want)
				}
			}
		})
	}
	r := h.do(request{Query: q})
	if r.Status != http.StatusUnauthorized {
		t.Errorf("without a token: %d %s", r.Status, r.Body)
	}
	// The router's account is for the schema only: it has no rows, and no case role can be added to it.
	r = h.do(request{Token: h.token(demo.SlugOperator, "router"), Query: `{ victims { totalCount edges { node { caseRef } } } }`})
	if string(r.Data) != `{"victims":{"totalCount":0,"edges":[]}}` {
		t.Errorf("the router's account saw victims: %s", r.Body)
	}
}

// TestEntitiesMalformedRepresentations: a representation of a type this subgraph does not have, or one
// without its key, is the router's mistake (INVALID), discloses nothing, and is not an internal error.
func TestEntitiesMalformedRepresentations(t *testing.T) {
	h := newHub(t)
	token := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	for _, tc := range []struct {
		name string
		reps []map[string]any
	}{
		{"unknown type", []map[string]any{{"__typename": "Permit", "caseRef": "LDG-2026-000001"}}},
		{"no key", []map[string]any{{"__typename": "Partner"}}},
		{"null key", []map[string]any{{"__typename": "Shelter", "id": nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(request{Token: token, Variables: map[string]any{"r": tc.reps},
				Query: `query($r: [_Any!]!) { _entities(representations: $r) { __typename } }`})
			if r.Code() != "INVALID" || r.Status >= 500 {
				t.Errorf("HTTP %d, code %s: %s", r.Status, r.Code(), r.Body)
			}
			if len(r.Errors) == 0 {
				t.Errorf("no error for a malformed representation: %s", r.Body)
			}
		})
	}
}

// bulkVictims inserts n victims owned by kpwkm, every second one linked to linkedTo, and returns their case
// references in order (the linked ones at odd indexes) and the ids of the linked ones. Each holds a
// marker name, phone and medical need, BULK-<CATEGORY>-<i>.
func (h *hub) bulkVictims(n int, linkedTo string) (refs []string, linkedIDs []string) {
	h.t.Helper()
	p := h.partnerIDs()
	tag := fmt.Sprintf("%04d", markerSeq.Add(1)%10000)
	refs = h.strings(`INSERT INTO victims (case_ref, owner_partner_id, legal_name, phone, medical_needs, age_band, gender, identified_on)
		SELECT 'BLK-' || $3 || '-' || lpad(g::text, 6, '0'), $2, 'BULK-IDENTITY-' || g, 'BULK-CONTACT-' || g,
			'BULK-HEALTH-' || g, 'AGE_30_38', 'FEMALE', current_date - 30
		FROM generate_series(0, $1::int - 1) g ORDER BY g RETURNING case_ref`, n, p[demo.SlugKPWKM], tag)
	linkedIDs = h.strings(`WITH l AS (INSERT INTO case_links (victim_id, partner_id, role)
		SELECT id, $1, 'INVESTIGATING' FROM victims WHERE case_ref LIKE 'BLK-' || $2 || '-%' AND right(case_ref, 6)::int % 2 = 1
		RETURNING victim_id) SELECT victim_id::text FROM l`, p[linkedTo], tag)
	return refs, linkedIDs
}

// TestEntitiesLargeBatch: a router's batch of 2,000 representations is served whole, with the policy held
// for each, in a number of SQL statements that grows with the batch's chunks, not its size, and with one
// access record per victim disclosed.
func TestEntitiesLargeBatch(t *testing.T) {
	h := newHub(t)
	refs, linked := h.bulkVictims(2000, demo.SlugPDRM)
	pdrm := h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer)
	q := `query Bulk($r: [_Any!]!) { _entities(representations: $r) { ... on Victim { caseRef gender legalName medicalNeeds } } }`
	reps := func(refs []string) []any {
		out := make([]any, len(refs))
		for i, r := range refs {
			out[i] = rep(r)
		}
		return out
	}
	h.do(request{Token: pdrm, Query: `{ viewer { username } }`}) // warm the policy cache and pool
	statements := map[int]int64{}
	for _, n := range []int{500, 2000} {
		label := newRequestID()
		before := h.trace.Statements()
		r := h.do(request{Token: pdrm, Query: q, RequestID: label, Variables: map[string]any{"r": reps(refs[:n])}})
		statements[n] = h.trace.Statements() - before
		if len(r.Errors) != 0 || r.Status != http.StatusOK {
			t.Fatalf("n=%d: HTTP %d, errors %v", n, r.Status, r.Errors)
		}
		got := entities(t, r)
		if len(got) != n {
			t.Fatalf("n=%d: %d entities", n, len(got))
		}
		for i, e := range got {
			var v struct {
				CaseRef      string
				Gender       *string
				LegalName    *string
				MedicalNeeds *string
			}
			if string(e) == "null" {
				if i%2 == 1 {
					t.Fatalf("n=%d: linked case %s is null", n, refs[i])
				}
				continue
			}
			mustDecode(t, e, &v)
			if i%2 == 0 || v.CaseRef != refs[i] || v.Gender == nil || v.LegalName != nil || v.MedicalNeeds != nil {
				t.Fatalf("n=%d: entity %d (%s) breaks the policy: %s", n, i, refs[i], e)
			}
		}
		assertNoLeak(t, r.Body, []string{"BULK-IDENTITY-", "BULK-CONTACT-", "BULK-HEALTH-"})
		recs := h.accessRecords(label)
		ids := map[string]bool{}
		for _, rec := range recs {
			ids[rec.VictimID] = true
		}
		if len(recs) != n/2 || len(ids) != n/2 {
			t.Errorf("n=%d: %d access records for %d victims, want one for each of the %d disclosed", n, len(recs), len(ids), n/2)
		}
	}
	t.Logf("SQL statements: %v (linked cases: %d)", statements, len(linked))
	if statements[2000]-statements[500] > 2000/500-1 {
		t.Errorf("SQL statements grow with the batch: %v", statements)
	}
}

// TestEntitiesPastTheMaximum: past the configured maximum, each further representation is null with one
// error for all of them, and the ones before it are served as usual.
func TestEntitiesPastTheMaximum(t *testing.T) {
	h := newHubWith(t, func(c *server.Config) { c.MaxRepresentations = 3 })
	refs, _ := h.bulkVictims(6, demo.SlugPDRM)
	reps := make([]any, len(refs))
	for i, r := range refs {
		reps[i] = rep(r)
	}
	r := h.do(request{Token: h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer), Variables: map[string]any{"r": reps},
		Query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Victim { caseRef } } }`})
	want := fmt.Sprintf(`{"_entities":[null,{"caseRef":%q},null,null,null,null]}`, refs[1])
	if string(r.Data) != want {
		t.Errorf("data %s, want %s", r.Data, want)
	}
	if len(r.Errors) != 1 || r.Code() != "LIMIT_EXCEEDED" || fmt.Sprint(r.Errors[0].Path) != "[_entities]" {
		t.Errorf("want one LIMIT_EXCEEDED error at _entities: %s", r.Body)
	}
}

// TestWithheldInData: Victim.withheld lists, inside data, exactly the withheld fields and reasons that
// extensions.withheld gives for the same request, for every demo caller, so that a supergraph client,
// whose gateway drops extensions, can still tell "withheld" from "no value".
func TestWithheldInData(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{
		Links:    []string{demo.SlugPDRM},
		Consents: []consentSpec{{Grantee: "GOVERNMENT", Categories: []string{"IDENTITY"}, Purposes: []string{"PROSECUTION"}}},
	})
	q := `query($id: ID!) { victim(id: $id) { ...All withheld { field reason category } } }` + "\n" + allVictimFields
	listed := 0
	defer func() {
		if listed < 2 {
			t.Errorf("withheld fields listed for %d callers; the test needs some to mean anything", listed)
		}
	}()
	for _, c := range allCallers {
		t.Run(c.String(), func(t *testing.T) {
			r := h.do(request{Token: h.token(c.Partner, c.Role), Query: q, Variables: map[string]any{"id": v.ID}})
			if len(r.Errors) != 0 {
				t.Fatalf("%s", r.Body)
			}
			var d struct {
				Victim *struct {
					Withheld []struct{ Field, Reason, Category string }
				}
			}
			mustDecode(t, r.Data, &d)
			if d.Victim == nil {
				return // out of this caller's scope
			}
			if len(d.Victim.Withheld) > 0 {
				listed++
			}
			inData := map[string]string{}
			for _, w := range d.Victim.Withheld {
				inData[w.Field] = w.Reason + " " + w.Category
			}
			inExt := map[string]string{}
			for _, w := range r.Extensions.Withheld {
				for _, p := range w.Paths {
					if f, ok := strings.CutPrefix(p, "victim."); ok && !strings.ContainsAny(f, ".[") {
						inExt[f] = w.Reason + " " + w.Category
					}
				}
			}
			for f, why := range inExt {
				if inData[f] != why {
					t.Errorf("%s: extensions say %q, data %q", f, why, inData[f])
				}
			}
			var all map[string]json.RawMessage
			var whole struct{ Victim map[string]json.RawMessage }
			mustDecode(t, r.Data, &whole)
			all = whole.Victim
			for f := range inData {
				if val, asked := all[f]; asked && string(val) != "null" {
					t.Errorf("%s is listed as withheld but has a value", f)
				}
				if _, asked := all[f]; asked && inExt[f] == "" {
					t.Errorf("%s is listed as withheld in data but not in extensions", f)
				}
			}
		})
	}
}
