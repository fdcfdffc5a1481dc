package postgres_test

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
)

// TestFindVictimsPagesWalkTheScope: paging through FindVictims visits every visible case exactly once, in
// id order, with the visible total on every page, and a page past the end keeps the total right.
func TestFindVictimsPagesWalkTheScope(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	for _, sc := range scopeCases {
		t.Run(sc.name, func(t *testing.T) {
			visible := f.visible(sc)
			s := session(t, f.db, sc)
			for _, size := range []int{1, 37, 1000} {
				if size == 1 && len(visible) > 150 {
					continue // one row a page walks the small scopes only, to keep the test quick
				}
				seen := map[string]bool{}
				var walked []string
				after, pages := "", 0
				for {
					page, err := s.FindVictims(ctx, lindung.VictimFilter{}, lindung.Page{First: size, After: after, Count: true})
					if err != nil {
						t.Fatalf("page %d of %d: %v", pages, size, err)
					}
					pages++
					if page.TotalCount != len(visible) {
						t.Fatalf("page %d of %d: totalCount %d, want %d", pages, size, page.TotalCount, len(visible))
					}
					if len(page.Victims) > size {
						t.Fatalf("page of %d holds %d", size, len(page.Victims))
					}
					for _, v := range page.Victims {
						if seen[v.ID] {
							t.Fatalf("case %s returned twice", v.ID)
						}
						if !visible[v.ID] {
							t.Fatalf("case %s is outside the scope", v.ID)
						}
						seen[v.ID] = true
						walked = append(walked, v.ID)
					}
					if !page.HasNext {
						break
					}
					if len(page.Victims) == 0 {
						t.Fatal("hasNext on an empty page")
					}
					after = page.Victims[len(page.Victims)-1].ID
					if pages > len(visible)+2 {
						t.Fatal("paging does not end")
					}
				}
				if len(seen) != len(visible) {
					t.Errorf("pages of %d walked %d cases, want %d", size, len(seen), len(visible))
				}
				if !sort.StringsAreSorted(walked) {
					t.Errorf("pages of %d are not in id order", size)
				}
				if len(walked) > 0 {
					// Past the end: no rows, but the total is still the scope's.
					page, err := s.FindVictims(ctx, lindung.VictimFilter{}, lindung.Page{First: size, After: walked[len(walked)-1], Count: true})
					if err != nil || len(page.Victims) != 0 || page.HasNext || page.TotalCount != len(visible) {
						t.Errorf("page past the end: %+v, %v; want empty with totalCount %d", page, err, len(visible))
					}
				}
			}
			// A cursor the store never issued is INVALID, and does not break the request's transaction.
			for _, bad := range []string{"nope", "urn:uuid:" + uuid.NewString()} {
				if _, err := s.FindVictims(ctx, lindung.VictimFilter{}, lindung.Page{First: 5, After: bad}); lindung.CodeOf(err) != lindung.EINVALID {
					t.Errorf("after %q: %v, want INVALID", bad, err)
				}
			}
			// first: 0 asks for the count alone.
			page, err := s.FindVictims(ctx, lindung.VictimFilter{}, lindung.Page{First: 0, Count: true})
			if err != nil || len(page.Victims) != 0 || page.TotalCount != len(visible) || page.HasNext != (len(visible) > 0) {
				t.Errorf("first 0: %+v, %v; want no rows, totalCount %d", page, err, len(visible))
			}
		})
	}
}

// TestFindVictimsFilters: a filter narrows the visible cases and never reaches a case outside the scope.
func TestFindVictimsFilters(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	sc := scopeCases[0]
	visible := f.visible(sc)
	var in, out *lindung.Victim
	for _, v := range f.ds.Victims {
		if visible[v.ID] && in == nil {
			in = v
		}
		if !visible[v.ID] && out == nil {
			out = v
		}
	}
	// The shelter with the most visible residents, and what the owner says they are.
	current := map[string][]string{}
	for _, p := range f.ds.Placements {
		if p.ToDate == nil && visible[p.VictimID] {
			current[p.ShelterID] = append(current[p.ShelterID], p.VictimID)
		}
	}
	shelter := ""
	for id, vs := range current {
		if shelter == "" || len(vs) > len(current[shelter]) {
			shelter = id
		}
	}
	if shelter == "" {
		t.Fatal("no visible case is in a shelter")
	}
	ref := func(s string) *string { return &s }
	s := session(t, f.db, sc)
	for _, tc := range []struct {
		name   string
		filter lindung.VictimFilter
		want   []string
	}{
		{"case ref in scope", lindung.VictimFilter{CaseRef: &in.CaseRef}, []string{in.ID}},
		{"case ref out of scope", lindung.VictimFilter{CaseRef: &out.CaseRef}, nil},
		{"case ref unknown", lindung.VictimFilter{CaseRef: ref("KP-2000-000000")}, nil},
		{"shelter", lindung.VictimFilter{ShelterID: &shelter}, current[shelter]},
		{"shelter unknown", lindung.VictimFilter{ShelterID: ref(uuid.NewString())}, nil},
		{"shelter not an id", lindung.VictimFilter{ShelterID: ref("urn:uuid:" + shelter)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.FindVictims(ctx, tc.filter, lindung.Page{First: 1000, Count: true})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range page.Victims {
				got = append(got, v.ID)
			}
			if missing, extra := diff(got, tc.want); len(missing)+len(extra) > 0 || page.TotalCount != len(tc.want) {
				t.Errorf("got %d (total %d), want %d; missing %v, extra %v", len(got), page.TotalCount, len(tc.want), missing, extra)
			}
		})
	}
}

// TestNotFoundLooksTheSame: a case outside the scope, a random id and a string that is no id at all give
// the very same answer, from every method that takes one id.
func TestNotFoundLooksTheSame(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	random := uuid.NewString()
	for _, sc := range scopeCases[:3] {
		t.Run(sc.name, func(t *testing.T) {
			visible := f.visible(sc)
			outside := f.foreign
			if sc.rows == lindung.ScopeLinked {
				outside = "" // jim's case is linked to jim, not pdrm; take a demo case pdrm is not on
			}
			for _, v := range f.ds.Victims {
				if outside == "" && !visible[v.ID] {
					outside = v.ID
				}
			}
			if visible[outside] {
				t.Fatal("the outside case is visible")
			}
			s := session(t, f.db, sc)
			for _, id := range []string{outside, random, "not-a-uuid", "", strings.ToUpper(outside),
				"urn:uuid:" + outside, "{" + outside + "}", strings.ReplaceAll(outside, "-", "")} {
				v, err := s.FindVictimByID(ctx, id)
				if err != lindung.ErrNotFound || v != nil {
					t.Errorf("FindVictimByID(%q) = %v, %v; want ErrNotFound", id, v, err)
				}
				upd, err := s.UpdateVictim(ctx, id, lindung.VictimUpdate{Phone: ptr("0123456789")})
				if err != lindung.ErrNotFound || upd != nil {
					t.Errorf("UpdateVictim(%q) = %v, %v; want ErrNotFound", id, upd, err)
				}
				d, err := s.FindDisclosures(ctx, id)
				if err != lindung.ErrNotFound || d != nil {
					t.Errorf("FindDisclosures(%q) = %v, %v; want ErrNotFound", id, d, err)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestByIDsAreAligned: results of the batch finders are aligned to the ids asked for, duplicates and
// missing ids included, and hold exactly the visible records.
func TestByIDsAreAligned(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	ownerCount := func(sql string) map[string]int {
		out := map[string]int{}
		for _, id := range ownerStrings(t, f.db, sql) {
			out[id]++
		}
		return out
	}
	want := map[string]map[string]int{
		"placements":      ownerCount(`SELECT victim_id::text FROM placements`),
		"orders":          ownerCount(`SELECT victim_id::text FROM protection_orders`),
		"service records": ownerCount(`SELECT victim_id::text FROM service_records`),
		"referrals":       ownerCount(`SELECT victim_id::text FROM referrals`),
		"consents":        ownerCount(`SELECT victim_id::text FROM consents`),
		"family":          ownerCount(`SELECT victim_id::text FROM family_links UNION ALL SELECT related_victim_id::text FROM family_links`),
		"work":            ownerCount(`SELECT victim_id::text FROM work_eligibility`),
	}
	for _, sc := range scopeCases {
		want := want
		if sc.rows == lindung.ScopeReferred {
			// An NGO sees, of a visible case, only its own referrals and the services it provides.
			pid := f.partners[sc.slug].ID
			want = maps.Clone(want)
			want["service records"] = ownerCount(`SELECT victim_id::text FROM service_records WHERE provider_partner_id = '` + pid + `'`)
			want["referrals"] = ownerCount(`SELECT victim_id::text FROM referrals WHERE '` + pid + `' IN (from_partner_id, to_partner_id)`)
		}
		t.Run(sc.name, func(t *testing.T) {
			visible := f.visible(sc)
			var first string
			for _, id := range f.allVictimIDs() {
				if visible[id] {
					first = id
					break
				}
			}
			ids := append(f.allVictimIDs(), "not-a-uuid", uuid.NewString(), "")
			if first != "" {
				ids = append(ids, first, strings.ToUpper(first))
			}
			expect := func(i int) bool { return visible[ids[i]] }
			s := session(t, f.db, sc)

			vs, err := s.FindVictimsByIDs(ctx, ids)
			if err != nil || len(vs) != len(ids) {
				t.Fatalf("FindVictimsByIDs: %d results, %v; want %d", len(vs), err, len(ids))
			}
			bits := map[string]lindung.Owned{}
			for i, v := range vs {
				if (v != nil) != expect(i) || (v != nil && (v.ID != ids[i] || v.VictimID != ids[i])) {
					t.Fatalf("FindVictimsByIDs[%d] (%q) = %v, want visible %v", i, ids[i], v, expect(i))
				}
				if v != nil {
					bits[v.ID] = v.Owned
				}
			}

			check := func(name string, n int, lens func(i int) (int, []*lindung.Owned), err error) {
				t.Helper()
				if err != nil || n != len(ids) {
					t.Fatalf("%s: %d results, %v; want %d", name, n, err, len(ids))
				}
				total := 0
				kinds := map[lindung.Owned]bool{} // the distinct bits the records were found with
				for i := range ids {
					got, owners := lens(i)
					w := 0
					if expect(i) {
						w = want[name][ids[i]]
					}
					if got != w {
						t.Errorf("%s[%d]: %d records, want %d", name, i, got, w)
					}
					for _, o := range owners {
						kinds[lindung.Owned{Consented: o.Consented, Referred: o.Referred}] = true
						if o.VictimID != ids[i] || o.Consented != bits[ids[i]].Consented || o.Referred != bits[ids[i]].Referred {
							t.Errorf("%s[%d]: owned by %s with %v/%v, want %s with %v/%v", name, i, o.VictimID,
								o.Consented, o.Referred, ids[i], bits[ids[i]].Consented, bits[ids[i]].Referred)
						}
					}
					total += got
				}
				if sc.rows != lindung.ScopeNone && total == 0 {
					t.Errorf("%s: no records at all: the test would prove nothing", name)
				}
				// A record given another victim's bits shows only where the victims' bits differ.
				if sc.rows != lindung.ScopeNone && len(kinds) < 2 {
					t.Errorf("%s: every record's victim has the same bits %v: a record with another victim's would pass", name, kinds)
				}
			}
			ownersOf := func(n int, at func(int) *lindung.Owned) []*lindung.Owned {
				out := make([]*lindung.Owned, n)
				for j := range out {
					out[j] = at(j)
				}
				return out
			}
			pl, err := s.FindPlacementsByVictimIDs(ctx, ids)
			check("placements", len(pl), func(i int) (int, []*lindung.Owned) {
				return len(pl[i]), ownersOf(len(pl[i]), func(j int) *lindung.Owned { return &pl[i][j].Owned })
			}, err)
			po, err := s.FindOrdersByVictimIDs(ctx, ids)
			check("orders", len(po), func(i int) (int, []*lindung.Owned) {
				return len(po[i]), ownersOf(len(po[i]), func(j int) *lindung.Owned { return &po[i][j].Owned })
			}, err)
			sr, err := s.FindServiceRecordsByVictimIDs(ctx, ids)
			check("service records", len(sr), func(i int) (int, []*lindung.Owned) {
				return len(sr[i]), ownersOf(len(sr[i]), func(j int) *lindung.Owned { return &sr[i][j].Owned })
			}, err)
			rf, err := s.FindReferralsByVictimIDs(ctx, ids)
			check("referrals", len(rf), func(i int) (int, []*lindung.Owned) {
				return len(rf[i]), ownersOf(len(rf[i]), func(j int) *lindung.Owned { return &rf[i][j].Owned })
			}, err)
			cs, err := s.FindConsentsByVictimIDs(ctx, ids)
			check("consents", len(cs), func(i int) (int, []*lindung.Owned) {
				return len(cs[i]), ownersOf(len(cs[i]), func(j int) *lindung.Owned { return &cs[i][j].Owned })
			}, err)
			fl, err := s.FindFamilyByVictimIDs(ctx, ids)
			check("family", len(fl), func(i int) (int, []*lindung.Owned) {
				return len(fl[i]), ownersOf(len(fl[i]), func(j int) *lindung.Owned { return &fl[i][j].Owned })
			}, err)
			we, err := s.FindWorkEligibilityByVictimIDs(ctx, ids)
			check("work", len(we), func(i int) (int, []*lindung.Owned) {
				if we[i] == nil {
					return 0, nil
				}
				return 1, []*lindung.Owned{&we[i].Owned}
			}, err)

			// Every batch finder gives empty, aligned results for no valid id at all.
			none := []string{"x", ""}
			if r, err := s.FindPlacementsByVictimIDs(ctx, none); err != nil || len(r) != 2 || r[0] != nil || r[1] != nil {
				t.Errorf("placements of no valid id: %v, %v", r, err)
			}
			if r, err := s.FindVictimsByIDs(ctx, none); err != nil || len(r) != 2 || r[0] != nil || r[1] != nil {
				t.Errorf("victims of no valid id: %v, %v", r, err)
			}
		})
	}
}

// TestSheltersAndResidents: residents are the visible current residents; occupancy counts everyone.
func TestSheltersAndResidents(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	occupancy := map[string]int{}
	residents := map[string][]string{}
	for _, row := range ownerStrings(t, f.db, `SELECT shelter_id || ' ' || victim_id FROM placements WHERE to_date IS NULL`) {
		sh, v, _ := strings.Cut(row, " ")
		occupancy[sh]++
		residents[sh] = append(residents[sh], v)
	}
	shelterIDs := ownerStrings(t, f.db, `SELECT id::text FROM shelters ORDER BY id`)
	for _, sc := range scopeCases {
		t.Run(sc.name, func(t *testing.T) {
			visible := f.visible(sc)
			s := session(t, f.db, sc)
			ids := append(append([]string{}, shelterIDs...), uuid.NewString(), "bad", shelterIDs[0])
			got, err := s.FindResidentIDsByShelterIDs(ctx, ids)
			if err != nil || len(got) != len(ids) {
				t.Fatalf("%d results, %v", len(got), err)
			}
			for i, id := range ids {
				var want []string
				for _, v := range residents[id] {
					if visible[v] {
						want = append(want, v)
					}
				}
				if missing, extra := diff(got[i], want); len(missing)+len(extra) > 0 {
					t.Errorf("residents of %s: missing %v, extra %v", id, missing, extra)
				}
			}
			// No private-sector partner reads a shelter (migration 023).
			wantShelters := len(shelterIDs)
			if sc.slug == demo.SlugEmployerLadang {
				wantShelters = 0
			}
			shelters, err := s.FindShelters(ctx, nil)
			if err != nil || len(shelters) != wantShelters {
				t.Fatalf("FindShelters: %d, %v; want %d", len(shelters), err, wantShelters)
			}
			for _, sh := range shelters {
				if sh.Occupancy != occupancy[sh.ID] {
					t.Errorf("shelter %s occupancy %d, want %d", sh.ID, sh.Occupancy, occupancy[sh.ID])
				}
			}
			byIDs, err := s.FindSheltersByIDs(ctx, []string{shelterIDs[1], "bad", uuid.NewString(), shelterIDs[1]})
			if wantShelters == 0 {
				if err != nil || len(byIDs) != 4 || slices.ContainsFunc(byIDs, func(sh *lindung.Shelter) bool { return sh != nil }) {
					t.Errorf("FindSheltersByIDs for %s: %v, %v; want no shelter", sc.name, byIDs, err)
				}
			} else if err != nil || byIDs[0] == nil || byIDs[0].ID != shelterIDs[1] || byIDs[1] != nil || byIDs[2] != nil || byIDs[3] != byIDs[0] {
				t.Errorf("FindSheltersByIDs not aligned: %v, %v", byIDs, err)
			}
		})
	}
}

// TestFindReferralsByPartner: the referrals listing holds those sent by or to the caller's partner.
func TestFindReferralsByPartner(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	for _, sc := range scopeCases {
		t.Run(sc.name, func(t *testing.T) {
			pid := f.partners[sc.slug].ID
			var want, wantAccepted []string
			for _, r := range f.ds.Referrals {
				if r.FromPartnerID == pid || r.ToPartnerID == pid {
					want = append(want, r.ID)
					if r.Status == "ACCEPTED" {
						wantAccepted = append(wantAccepted, r.ID)
					}
				}
			}
			if len(want) > 500 {
				want = nil // the listing is capped; compare the filtered one only
			}
			s := session(t, f.db, sc)
			for _, tc := range []struct {
				status *string
				want   []string
			}{{nil, want}, {ptr("ACCEPTED"), wantAccepted}} {
				if tc.want == nil && tc.status == nil {
					continue
				}
				got, err := s.FindReferrals(ctx, lindung.ReferralFilter{Status: tc.status})
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, r := range got {
					ids = append(ids, r.ID)
				}
				if missing, extra := diff(ids, tc.want); len(missing)+len(extra) > 0 {
					t.Errorf("status %v: missing %v, extra %v", tc.status, missing, extra)
				}
			}
		})
	}
}

func TestPartnersAndServices(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	s := session(t, f.db, scopeCases[3])
	all, err := s.FindPartners(ctx, lindung.PartnerFilter{})
	if err != nil || len(all) != len(f.ds.Partners) {
		t.Fatalf("FindPartners: %d, %v; want %d", len(all), err, len(f.ds.Partners))
	}
	ngo := lindung.PartnerNGO
	ngos, err := s.FindPartners(ctx, lindung.PartnerFilter{Type: &ngo})
	if err != nil || len(ngos) != 3 {
		t.Errorf("NGOs: %d, %v", len(ngos), err)
	}
	kp := f.partners["kpwkm"]
	byIDs, err := s.FindPartnersByIDs(ctx, []string{kp.ID, "nope", kp.ID})
	if err != nil || byIDs[0] == nil || byIDs[0].Slug != kp.Slug || byIDs[1] != nil || byIDs[2] == nil {
		t.Errorf("FindPartnersByIDs: %v, %v", byIDs, err)
	}
	svcs, err := s.FindServices(ctx)
	if err != nil || len(svcs) != 7 {
		t.Errorf("FindServices: %d, %v", len(svcs), err)
	}
}
