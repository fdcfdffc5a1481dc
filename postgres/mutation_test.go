package postgres_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lindung/lindung"
)

// victimRow is a victim row as text, to see whether anything about it changed.
const victimRow = `SELECT v::text FROM victims v WHERE id = $1`

// TestCreateVictim: the protection officer's agency registers a case, which it then owns and sees; no
// other scope can register one.
func TestCreateVictim(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	officer := scopeCases[1]
	dob := time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)
	v := &lindung.Victim{
		CaseRef: "KP-2026-900001", LegalName: ptr("Fictional Person"), Aliases: []string{"FP"}, DateOfBirth: &dob,
		AgeBand: ptr("AGE_30_38"), Gender: ptr("FEMALE"), Citizenship: []string{"IDN"}, Languages: []string{"id", "ms"},
		InterpreterNeeded: true, Phone: ptr("+60 12-345 6789"), TraffickingStatus: "PRESUMED",
		ExploitationTypes: []string{"FORCED_LABOUR"}, Sector: ptr("DOMESTIC_WORK"),
		MeansOfControl: []string{"DEBT_BONDAGE", "WITHHOLDS_DOCUMENTS"}, MedicalNeeds: ptr("none known"),
	}
	s := session(t, f.db, officer)
	if err := s.CreateVictim(ctx, v); err != nil {
		t.Fatalf("CreateVictim: %v", err)
	}
	if _, err := uuid.Parse(v.ID); err != nil || v.OwnerPartnerID != f.partners[officer.slug].ID || v.CreatedAt.IsZero() ||
		v.IdentifiedOn.IsZero() || v.VictimID != v.ID {
		t.Errorf("created victim: id %q owner %q created %v identified %v", v.ID, v.OwnerPartnerID, v.CreatedAt, v.IdentifiedOn)
	}
	got, err := s.FindVictimByID(ctx, v.ID)
	if err != nil {
		t.Fatalf("read back in the same request: %v", err)
	}
	if got.CaseRef != v.CaseRef || !eq(got.LegalName, v.LegalName) || !got.DateOfBirth.Equal(dob) || !eq(got.Gender, v.Gender) ||
		!got.InterpreterNeeded || len(got.MeansOfControl) != 2 || !eq(got.Sector, v.Sector) || got.Citizenship[0] != "IDN" {
		t.Errorf("read back as %+v", got)
	}
	if err := s.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var owner string
	mustScan(t, f.db, []any{&owner}, `SELECT owner_partner_id::text FROM victims WHERE case_ref = 'KP-2026-900001'`)
	if owner != f.partners[officer.slug].ID {
		t.Errorf("owner %s, want %s", owner, f.partners[officer.slug].ID)
	}
	// A minimal case: only what the schema requires.
	s = session(t, f.db, officer)
	min := &lindung.Victim{CaseRef: "KP-2026-900002", TraffickingStatus: "PRESUMED"}
	if err := s.CreateVictim(ctx, min); err != nil {
		t.Errorf("minimal case: %v", err)
	}

	for _, sc := range []scopeCase{scopeCases[0], scopeCases[2], scopeCases[3]} {
		t.Run("refused for "+sc.name, func(t *testing.T) {
			s := session(t, f.db, sc)
			err := s.CreateVictim(ctx, &lindung.Victim{CaseRef: "NGO-2026-900003", TraffickingStatus: "PRESUMED"})
			if err == nil {
				t.Fatal("created a case outside the partner scope")
			}
			if code := lindung.CodeOf(err); code != lindung.EFORBIDDEN {
				t.Errorf("%v, want FORBIDDEN", err)
			}
		})
	}
}

// TestUpdateVictim: an update changes the fields given and nothing else, within the scope; outside it,
// it is NOT_FOUND and changes nothing.
func TestUpdateVictim(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	officer, ngo := scopeCases[1], scopeCases[0]
	var target *lindung.Victim // a case the officer's agency owns and the NGO is not referred
	for _, v := range f.ds.Victims {
		if !f.visible(ngo)[v.ID] {
			target = v
			break
		}
	}
	var referred string
	for id := range f.visible(ngo) {
		referred = id
		break
	}
	for _, tc := range []struct {
		name  string
		sc    scopeCase
		id    string
		upd   lindung.VictimUpdate
		check func(t *testing.T, before, after *lindung.Victim)
		found bool
	}{
		{"in scope: some fields", officer, target.ID, lindung.VictimUpdate{
			Phone: ptr("+60 11-111 1111"), Aliases: []string{"A", "B"}, MedicalNeeds: ptr("asthma"),
			TraffickingStatus: ptr("CONFIRMED"), MeansOfControl: []string{"THREATS"},
		}, func(t *testing.T, before, after *lindung.Victim) {
			if *after.Phone != "+60 11-111 1111" || len(after.Aliases) != 2 || *after.MedicalNeeds != "asthma" ||
				after.TraffickingStatus != "CONFIRMED" || len(after.MeansOfControl) != 1 || after.MeansOfControl[0] != "THREATS" {
				t.Errorf("not changed: %+v", after)
			}
			if !eq(after.LegalName, before.LegalName) || !eq(after.Gender, before.Gender) || !eq(after.Sector, before.Sector) ||
				len(after.Citizenship) != len(before.Citizenship) || after.InterpreterNeeded != before.InterpreterNeeded ||
				!eq(after.CounsellingNotes, before.CounsellingNotes) || after.CaseRef != before.CaseRef {
				t.Errorf("fields not given changed: %+v -> %+v", before, after)
			}
			if !after.UpdatedAt.After(before.UpdatedAt) {
				t.Errorf("updated_at %v not after %v", after.UpdatedAt, before.UpdatedAt)
			}
		}, true},
		{"in scope: clear to empty lists", officer, target.ID, lindung.VictimUpdate{Aliases: []string{}, Languages: []string{}},
			func(t *testing.T, before, after *lindung.Victim) {
				if len(after.Aliases) != 0 || len(after.Languages) != 0 {
					t.Errorf("lists not emptied: %v %v", after.Aliases, after.Languages)
				}
			}, true},
		{"in scope: nothing given", officer, target.ID, lindung.VictimUpdate{}, func(t *testing.T, before, after *lindung.Victim) {
			if !eq(after.Phone, before.Phone) || len(after.Aliases) != len(before.Aliases) || after.TraffickingStatus != before.TraffickingStatus {
				t.Errorf("an empty update changed fields: %+v -> %+v", before, after)
			}
		}, true},
		// Only the owning agency changes a case: an NGO reads a referred case, and the database refuses its
		// writes (per-command row-level security), which the store reports as not found.
		{"referred case by the NGO", ngo, referred, lindung.VictimUpdate{Phone: ptr("+60 11-222 2222")}, nil, false},
		{"out of scope", officer, f.foreign, lindung.VictimUpdate{Phone: ptr("+60 11-333 3333")}, nil, false},
		{"out of scope for the NGO", ngo, target.ID, lindung.VictimUpdate{Phone: ptr("+60 11-333 3333")}, nil, false},
		{"scope none", scopeCases[3], target.ID, lindung.VictimUpdate{Phone: ptr("+60 11-333 3333")}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rowBefore string
			mustScan(t, f.db, []any{&rowBefore}, victimRow, tc.id)
			s := session(t, f.db, tc.sc)
			before, _ := s.FindVictimByID(ctx, tc.id)
			after, err := s.UpdateVictim(ctx, tc.id, tc.upd)
			if !tc.found {
				if err != lindung.ErrNotFound || after != nil {
					t.Fatalf("%v, %v; want ErrNotFound", after, err)
				}
				if err := s.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				var rowAfter string
				mustScan(t, f.db, []any{&rowAfter}, victimRow, tc.id)
				if rowAfter != rowBefore {
					t.Errorf("an update outside the scope changed the row:\n%s\n%s", rowBefore, rowAfter)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if after.ID != tc.id {
				t.Fatalf("returned %s", after.ID)
			}
			if tc.check != nil {
				tc.check(t, before, after)
			}
			if err := s.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}
