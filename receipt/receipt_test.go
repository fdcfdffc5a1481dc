package receipt

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lindung/lindung"
)

// TestCatalogsHaveTheSameTexts: every language's catalog has every key the others have, and every
// category, purpose, partner type and status the receipt can name.
func TestCatalogsHaveTheSameTexts(t *testing.T) {
	want := []string{}
	for _, c := range lindung.Categories() {
		want = append(want, "category."+c.String())
	}
	for _, p := range lindung.Purposes() {
		want = append(want, "purpose."+string(p))
	}
	for _, typ := range []string{"GOVERNMENT", "NGO", "PRIVATE"} {
		want = append(want, "grantee.type."+typ)
	}
	for _, s := range []string{"ACTIVE", "PENDING", "SCHEDULED", "WITHDRAWN", "EXPIRED"} {
		want = append(want, "status."+s)
	}
	var first []string
	for lang := range Languages {
		c, err := CatalogFor(lang)
		if err != nil {
			t.Fatal(err)
		}
		keys := slices.Sorted(maps.Keys(c))
		if first == nil {
			first = keys
		} else if !slices.Equal(keys, first) {
			t.Errorf("%s has keys %v, another catalog %v", lang, keys, first)
		}
		for _, k := range want {
			if strings.TrimSpace(c[k]) == "" {
				t.Errorf("%s lacks %s", lang, k)
			}
		}
	}
}

// TestRenderNamesWhoWhatWhyUntilAndHow: a receipt lists each grant with its grantee, categories,
// purposes and period, the consent's state, and how to withdraw, in the language asked for.
func TestRenderNamesWhoWhatWhyUntilAndHow(t *testing.T) {
	partner, ngo := "p1", lindung.PartnerNGO
	end := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	c := Consent{Consent: &lindung.Consent{ID: "c-1", Language: "bn", RecordedAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
		GrantorRelation: "MOTHER", Status: "PENDING", Provisions: []lindung.ConsentProvision{
			{GranteePartnerID: &partner, Categories: lindung.SetOf(lindung.Health, lindung.Counselling),
				Purposes: []lindung.Purpose{lindung.PurposeServiceDelivery}, PeriodStart: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), PeriodEnd: &end},
			{GranteeType: &ngo, Categories: lindung.SetOf(lindung.Contact), Purposes: []lindung.Purpose{lindung.PurposeFamilyContact},
				PeriodStart: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		}}, GranteeNames: map[string]string{partner: "Pertubuhan Harapan"}}
	for lang, want := range map[string][]string{
		"EN": {"c-1", "2026-12-01", "as the mother", "Pertubuhan Harapan may see your health and medical needs and your counselling notes, to provide a service to you, from 2026-12-01 until 2027-06-01",
			"every non-governmental organisation may see how to reach you", "until you withdraw it", "a second officer must confirm it", "withdraw this consent at any time"},
		"MS": {"c-1", "sebagai ibu", "Pertubuhan Harapan boleh melihat kesihatan dan keperluan perubatan anda dan catatan kaunseling anda",
			"sehingga 2027-06-01", "sehingga anda menariknya balik", "pegawai kedua", "menarik balik persetujuan ini"},
	} {
		got, err := Render(lang, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s receipt lacks %q:\n%s", lang, w, got)
			}
		}
	}
	if _, err := Render("FR", c); err == nil {
		t.Error("a language without a catalog rendered")
	}
	c.Status = "UNHEARD_OF"
	if _, err := Render("EN", c); err == nil {
		t.Error("a text missing from the catalog did not fail the receipt")
	}
}
