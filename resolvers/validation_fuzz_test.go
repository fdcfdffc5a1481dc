package resolvers

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lindung/lindung"
)

// FuzzValidateVictimFields: the victim input validators accept only what they promise (a case reference
// like LDG-2026-000123, a legal name of 1 to 200 characters that is not blank, ISO alpha-3 citizenships,
// a phone of 3 to 40 characters, a date of birth after 1900 and not in the future) and refuse the rest as
// INVALID naming the field; they never panic.
func FuzzValidateVictimFields(f *testing.F) {
	f.Add("LDG-2026-000123", "Siti Aminah", "IDN", "+60 12-345 6789", int64(0))
	f.Add("' OR 1=1 --", "'; DROP TABLE victims; --", "idn", "1", int64(-1<<40))
	f.Add("KPW-2024-000001\n", " ", "MYSX", "\x00\x00\x00", int64(1<<40))
	f.Add("ＬＤＧ-2026-000123", "\xff\xfe", "ІDN", "phone", int64(3))
	f.Fuzz(func(t *testing.T, caseRef, legalName, citizenship, phone string, dobDays int64) {
		dob := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(dobDays%100000))
		err := validateVictimFields(&caseRef, &legalName, []string{citizenship}, &phone, &dob)
		if err != nil {
			e, ok := err.(*lindung.Error)
			if !ok || e.Code != lindung.EINVALID || e.Field == "" {
				t.Fatalf("error %#v, want INVALID naming a field", err)
			}
			return
		}
		if !wellFormedCaseRef(caseRef) {
			t.Fatalf("accepted case reference %q", caseRef)
		}
		if len(legalName) == 0 || len(legalName) > 200 {
			t.Fatalf("accepted legal name of %d bytes", len(legalName))
		}
		if len(citizenship) != 3 || !utf8.ValidString(citizenship) {
			t.Fatalf("accepted citizenship %q", citizenship)
		}
		if len(phone) < 3 || len(phone) > 40 {
			t.Fatalf("accepted phone of %d bytes", len(phone))
		}
		if dob.Year() < 1900 || dob.After(time.Now()) {
			t.Fatalf("accepted date of birth %s", dob)
		}
	})
}

// wellFormedCaseRef is the case reference's shape written out without a regular expression: 2 to 5
// upper-case ASCII letters, a dash, 4 digits, a dash, 6 digits.
func wellFormedCaseRef(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) < 2 || len(parts[0]) > 5 || len(parts[1]) != 4 || len(parts[2]) != 6 {
		return false
	}
	for i, p := range parts {
		for _, c := range []byte(p) {
			if i == 0 && (c < 'A' || c > 'Z') || i > 0 && (c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

// FuzzValidatePartner: a partner's slug and name are accepted only in their documented shapes.
func FuzzValidatePartner(f *testing.F) {
	f.Add("ngo-baru", "NGO Baru")
	f.Add("x'); DROP TABLE partners; --", "")
	f.Add("-a", "\x00")
	f.Fuzz(func(t *testing.T, slug, name string) {
		err := validatePartner(&lindung.Partner{Slug: slug, Name: name})
		if err != nil {
			if lindung.CodeOf(err) != lindung.EINVALID {
				t.Fatalf("error %v, want INVALID", err)
			}
			return
		}
		if len(slug) < 2 || len(slug) > 63 || slug[0] == '-' {
			t.Fatalf("accepted slug %q", slug)
		}
		for _, r := range slug {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				t.Fatalf("accepted slug %q", slug)
			}
		}
		if name == "" || len(name) > 200 {
			t.Fatalf("accepted name of %d bytes", len(name))
		}
	})
}
