package server_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/server"
)

// A query reads only the victim columns its fields serve (server/victimfields.go). These tests try to make
// a victim read for a few fields serve, by another path of the same request, a field it was read without:
// every answer and every access record must be exactly those of a hub that reads every column.

// twin returns a hub serving h's database with configure applied, for comparing two configurations on
// the same data.
func (h *hub) twin(configure func(*server.Config)) *hub {
	h.t.Helper()
	cfg := server.Config{DB: h.DB, Policy: h.Policy, Verifier: auth.NewHS256Verifier(testSecret),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	configure(&cfg)
	srv, err := server.New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	h.t.Cleanup(ts.Close)
	return &hub{t: h.t, URL: ts.URL, DB: h.DB, Policy: h.Policy, issuer: h.issuer, Handler: srv}
}

// narrowingQueries select a few fields of a victim on one path and others of the same victim on another.
var narrowingQueries = []struct{ name, query string }{
	{"list and victim(id:)", `query ($id: ID!, $ref: String) {
		victims(filter: {caseRef: $ref}) { edges { node { caseRef ageBand } } }
		victim(id: $id) { caseRef legalName phone medicalNeeds } }`},
	{"victim(id:) first, then the list", `query ($id: ID!, $ref: String) {
		victim(id: $id) { id }
		victims(filter: {caseRef: $ref}) { edges { node { caseRef legalName traffickingStatus } } } }`},
	{"aliases", `query ($id: ID!, $ref: String) {
		a: victims(filter: {caseRef: $ref}) { edges { node { x: caseRef } } }
		b: victim(id: $id) { n: legalName c: citizenship }
		c: victim(id: $id) { s: sector } }`},
	{"fragments on Victim through referrals and family", `query ($id: ID!) {
		victim(id: $id) { caseRef referrals { status victim { ...V } } family { victim { ...W } } } }
		fragment V on Victim { gender languages interpreterNeeded }
		fragment W on Victim { caseRef dateOfBirth ageBand }`},
	{"root referrals to victims", `query ($ref: String) {
		referrals { status victim { caseRef medicalNeeds exploitationTypes } }
		victims(filter: {caseRef: $ref}) { edges { node { caseRef } } } }`},
	{"shelter residents", `query ($sh: ID!, $id: ID!) {
		shelter(id: $sh) { residents { caseRef gender identifiedOn } }
		victim(id: $id) { caseRef currentShelter { residents { caseRef traffickingStatus } } } }`},
	{"entities and victim(id:)", `query ($r: [_Any!]!, $id: ID!) {
		victim(id: $id) { caseRef }
		_entities(representations: $r) { __typename ... on Victim { caseRef legalName meansOfControl } ...E } }
		fragment E on _Entity { ... on Victim { aliases } }`},
	{"skipped fields", `query ($id: ID!, $no: Boolean = true) {
		victim(id: $id) { caseRef phone @skip(if: $no) ... @include(if: $no) { medicalNeeds } } }`},
	{"withheld", `query ($id: ID!, $ref: String) {
		victims(filter: {caseRef: $ref}) { edges { node { caseRef withheld { field reason category } } } }
		victim(id: $id) { legalName } }`},
	{"only caseRef", `{ victims(first: 100) { totalCount edges { node { caseRef } } } }`},
	{"peer query b", `{ victims(first: 100) { edges { node { caseRef legalName ageBand gender traffickingStatus identifiedOn } } } }`},
}

// TestNarrowedReadsServeAsEveryColumn: for every demo caller, every query of narrowingQueries answers the
// same JSON, the same extensions.withheld and the same access records whether the hub reads only the
// columns the query selects or every column.
func TestNarrowedReadsServeAsEveryColumn(t *testing.T) {
	h := newHub(t)
	wide := h.twin(func(c *server.Config) { c.ReadAllVictimColumns = true })
	v := h.newMarkerVictim(victimSpec{
		Links: []string{demo.SlugPDRM},
		Referrals: []referralSpec{{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: []string{"CASE", "DEMOGRAPHIC", "CONTACT", "HEALTH"}},
			{To: demo.SlugNGOSuara, Status: "ACCEPTED", Categories: []string{"CASE", "COUNSELLING"}}},
		Consents: []consentSpec{
			{Grantee: demo.SlugNGOHarapan, Categories: []string{"CONTACT", "IDENTITY"}, Purposes: []string{"SERVICE_DELIVERY"}},
			{Grantee: "GOVERNMENT", Categories: []string{"IDENTITY", "HEALTH"}, Purposes: []string{"PROSECUTION", "CASE_MANAGEMENT"}},
		},
	})
	vars := map[string]any{"id": v.ID, "ref": v.CaseRef, "sh": v.ShelterID,
		"r": []any{map[string]any{"__typename": "Victim", "caseRef": v.CaseRef}}}
	compared := 0
	for _, c := range allCallers {
		tok := h.token(c.Partner, c.Role)
		for _, q := range narrowingQueries {
			t.Run(c.String()+"/"+q.name, func(t *testing.T) {
				narrowLabel, wideLabel := newRequestID(), newRequestID()
				got := h.do(request{Token: tok, Query: q.query, Variables: vars, RequestID: narrowLabel})
				want := wide.do(request{Token: tok, Query: q.query, Variables: vars, RequestID: wideLabel})
				if got.Status != want.Status || !bytes.Equal(got.Data, want.Data) || !reflect.DeepEqual(got.Errors, want.Errors) {
					t.Fatalf("answers differ:\nnarrowed %s\nwide     %s", got.Body, want.Body)
				}
				if !reflect.DeepEqual(got.Extensions.Withheld, want.Extensions.Withheld) {
					t.Errorf("extensions.withheld differs:\nnarrowed %s\nwide     %s", formatWithheld(got.Extensions.Withheld), formatWithheld(want.Extensions.Withheld))
				}
				gotRecs, wantRecs := h.accessRecords(narrowLabel), wide.accessRecords(wideLabel)
				if len(gotRecs) != len(wantRecs) {
					t.Fatalf("%d access records narrowed, %d wide", len(gotRecs), len(wantRecs))
				}
				for i := range gotRecs {
					g, w := gotRecs[i], wantRecs[i]
					if g.VictimID != w.VictimID || !sameStrings(g.Disclosed, w.Disclosed) || !sameStrings(g.Withheld, w.Withheld) {
						t.Errorf("access record differs:\nnarrowed %+v\nwide     %+v", g, w)
					}
				}
				for _, r := range gotRecs {
					if len(r.Disclosed) > 0 {
						compared++
					}
				}
			})
		}
	}
	if compared == 0 {
		t.Error("no answer disclosed anything: the comparison proves nothing")
	}
}

// TestOnlyCaseRefReadsNoGuardedColumn: a listing that selects only caseRef sends no statement that names a
// guarded column, and the same listing on a hub that reads every column does (so the test can fail).
func TestOnlyCaseRefReadsNoGuardedColumn(t *testing.T) {
	h := newHub(t)
	wide := h.twin(func(c *server.Config) { c.ReadAllVictimColumns = true })
	tok := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	query := `{ victims(first: 100) { edges { node { caseRef } } } }`
	guarded := []string{"legal_name", "aliases", "date_of_birth", "age_band", "gender", "citizenship", "languages",
		"interpreter_needed", "phone", "trafficking_status", "exploitation_types", "sector", "means_of_control",
		"identified_on", "medical_needs", "counselling_notes"}
	for _, c := range []struct {
		name string
		hub  *hub
		want bool
	}{{"narrowed", h, false}, {"every column", wide, true}} {
		h.trace.Record()
		r := c.hub.do(request{Token: tok, Query: query})
		statements := h.trace.Stop()
		if len(r.Errors) != 0 || !bytes.Contains(r.Data, []byte("caseRef")) {
			t.Fatalf("%s: %s", c.name, r.Body)
		}
		var victims []string
		for _, s := range statements {
			if strings.Contains(s, "v.case_ref") {
				victims = append(victims, s)
			}
		}
		if len(victims) != 1 {
			t.Fatalf("%s: %d statements read victims, want 1: %q", c.name, len(victims), statements)
		}
		for _, col := range guarded {
			if got := strings.Contains(victims[0], col); got != c.want {
				t.Errorf("%s: the statement names %s: %v, want %v\n%s", c.name, col, got, c.want, victims[0])
			}
		}
	}
}
