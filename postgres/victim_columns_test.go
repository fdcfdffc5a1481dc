package postgres_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// guardedColumnNames are the names of the victims columns that carry a data category.
var guardedColumnNames = []string{"legal_name", "aliases", "date_of_birth", "age_band", "gender", "citizenship",
	"languages", "interpreter_needed", "phone", "trafficking_status", "exploitation_types", "sector",
	"means_of_control", "identified_on", "medical_needs", "counselling_notes"}

// victimReads returns the statements recorded by tr since the last call that read the victims table as v,
// and records afresh.
func victimReads(tr *pgtest.Tracer) []string {
	var out []string
	for _, s := range tr.Stop() {
		if strings.Contains(s, "v.case_ref") {
			out = append(out, s)
		}
	}
	tr.Record()
	return out
}

// TestVictimColumnsNarrowed: a session whose operation selects only caseRef reads no guarded column of
// any victim, by any of the three reads (page, ids, case references), and its victims carry the same
// ids, references and bits as with every column read; a field the store does not know reads every column.
func TestVictimColumnsNarrowed(t *testing.T) {
	log := &pgtest.Tracer{}
	db, err := postgres.Open(ctx, pgtest.NewDemo(t), postgres.Options{MaxConns: 2, Tracer: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	// read reads a page of victims, then the same victims by id and by case reference, in one session
	// whose operation selects fields, and returns them with the statements that read them.
	read := func(fields map[string]bool) ([]*lindung.Victim, []string) {
		s := db.NewSession(postgres.SessionRequest{PartnerSlug: demo.SlugKPWKM, Username: "test@kpwkm",
			Scope: lindung.Scope{Rows: lindung.ScopePartner, Purpose: lindung.PurposeCaseManagement,
				Legal: lindung.AllCategories}, VictimFields: fields})
		if _, err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer s.Rollback(ctx)
		victimReads(log)
		page, err := s.FindVictims(ctx, lindung.VictimFilter{}, lindung.Page{First: 50})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(page.Victims))
		refs := make([]string, len(page.Victims))
		for i, v := range page.Victims {
			ids[i], refs[i] = v.ID, v.CaseRef
		}
		byID, err := s.FindVictimsByIDs(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		byRef, err := s.FindVictimsByCaseRefs(ctx, refs)
		if err != nil {
			t.Fatal(err)
		}
		all := append(append(page.Victims, byID...), byRef...)
		return all, victimReads(log)
	}

	wide, wideSQL := read(nil)
	narrow, narrowSQL := read(map[string]bool{"caseRef": true, "id": true, "referrals": true})
	if len(wideSQL) != 3 || len(narrowSQL) != 3 {
		t.Fatalf("statements reading victims: %d with every column, %d narrowed; want 3 each", len(wideSQL), len(narrowSQL))
	}
	for _, col := range guardedColumnNames {
		for i := range narrowSQL {
			if strings.Contains(narrowSQL[i], col) {
				t.Errorf("a session selecting only caseRef reads %s:\n%s", col, narrowSQL[i])
			}
			if !strings.Contains(wideSQL[i], col) {
				t.Errorf("a session reading every column does not read %s (the test cannot fail):\n%s", col, wideSQL[i])
			}
		}
	}
	if len(narrow) != len(wide) || len(wide) != 150 {
		t.Fatalf("%d victims narrowed, %d with every column; want 150 each", len(narrow), len(wide))
	}
	disclosed := 0
	for i, n := range narrow {
		w := wide[i]
		if n.ID != w.ID || n.CaseRef != w.CaseRef || n.OwnerPartnerID != w.OwnerPartnerID || n.Owned != w.Owned ||
			!n.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("victim %d differs beyond its guarded fields:\nnarrowed %+v\nwide     %+v", i, n, w)
		}
		if !reflect.DeepEqual(*n, lindung.Victim{Owned: n.Owned, ID: n.ID, CaseRef: n.CaseRef,
			OwnerPartnerID: n.OwnerPartnerID, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt}) {
			t.Errorf("a session selecting only caseRef scanned a guarded field: %+v", n)
		}
		if w.LegalName != nil || w.TraffickingStatus != "" {
			disclosed++
		}
	}
	if disclosed == 0 {
		t.Error("no guarded value read with every column: the comparison proves nothing")
	}

	// A field whose needs the store does not know, next to caseRef, reads every column; so does a set
	// naming every guarded field, as the same statement as no set at all.
	_, unknownSQL := read(map[string]bool{"caseRef": true, "withheld": true})
	every := map[string]bool{}
	for _, f := range []string{"legalName", "aliases", "dateOfBirth", "ageBand", "gender", "citizenship", "languages",
		"interpreterNeeded", "phone", "traffickingStatus", "exploitationTypes", "sector", "meansOfControl",
		"identifiedOn", "medicalNeeds", "counsellingNotes"} {
		every[f] = true
	}
	_, everySQL := read(every)
	if !reflect.DeepEqual(unknownSQL, wideSQL) || !reflect.DeepEqual(everySQL, wideSQL) {
		t.Errorf("an unknown field or every field does not read as no set:\nunknown %q\nevery   %q\nnone    %q", unknownSQL, everySQL, wideSQL)
	}

	// One field reads its own column, the others stay NULL.
	one, oneSQL := read(map[string]bool{"caseRef": true, "ageBand": true})
	for _, col := range guardedColumnNames {
		if got := strings.Contains(oneSQL[0], col); got != (col == "age_band") {
			t.Errorf("selecting ageBand: reads %s = %v", col, got)
		}
	}
	for i, v := range one {
		if !reflect.DeepEqual(v.AgeBand, wide[i].AgeBand) || v.LegalName != nil || v.Languages != nil {
			t.Errorf("selecting ageBand: victim %d read %+v", i, v)
		}
	}
}
