package server_test

import (
	"bufio"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lindung/lindung"
)

// matrixRow is one line of testdata/matrix.tsv.
type matrixRow struct {
	Name, Partner, Role, Header, Purpose string
	Spec                                 victimSpec
	Invisible                            bool
	Disclosed, NoConsent, NotPermitted   lindung.CategorySet
}

func readMatrix(t *testing.T, path string) []matrixRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []matrixRow
	sc := bufio.NewScanner(f)
	header := true
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(text, "#") || strings.TrimSpace(text) == "" {
			continue
		}
		if header {
			header = false
			continue
		}
		col := strings.Split(text, "\t")
		if len(col) != 11 {
			t.Fatalf("%s:%d: %d columns, want 11", path, line, len(col))
		}
		r := matrixRow{Name: col[0], Partner: col[1], Role: col[2], Header: col[3], Purpose: col[4]}
		if r.Header == "-" {
			r.Header = ""
		}
		r.Spec.Links = list(col[5], ",")
		for _, s := range list(col[6], ";") {
			p := strings.Split(s, "/")
			if len(p) != 3 {
				t.Fatalf("%s:%d: referral %q", path, line, s)
			}
			r.Spec.Referrals = append(r.Spec.Referrals, referralSpec{To: p[0], Status: p[1], Categories: parseCategories(t, p[2]).Names()})
		}
		for _, s := range list(col[7], ";") {
			p := strings.Split(s, "/")
			if len(p) < 3 || len(p) > 4 {
				t.Fatalf("%s:%d: consent %q", path, line, s)
			}
			c := consentSpec{Grantee: p[0], Categories: parseCategories(t, p[1]).Names(), Purposes: strings.Split(p[2], ",")}
			if len(p) == 4 {
				c.Period = p[3]
			}
			r.Spec.Consents = append(r.Spec.Consents, c)
		}
		if col[8] == "invisible" {
			r.Invisible = true
		} else {
			r.Disclosed = parseCategories(t, col[8])
			r.NoConsent = parseCategories(t, col[9])
			r.NotPermitted = parseCategories(t, col[10])
			all := r.Disclosed | r.NoConsent | r.NotPermitted
			if all != lindung.AllCategories || r.Disclosed&r.NoConsent != 0 || r.Disclosed&r.NotPermitted != 0 || r.NoConsent&r.NotPermitted != 0 {
				t.Fatalf("%s:%d: %s: disclosed, no_consent and not_permitted must partition the categories", path, line, r.Name)
			}
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func list(s, sep string) []string {
	if s == "-" || s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

// TestDecisionMatrix asks, for every role and purpose of testdata/matrix.tsv, for every field of a marker
// victim, by id and through a filtered listing, and checks the whole response: the markers of the
// disclosed categories are in it and no other; every withheld field is null and listed in
// extensions.withheld under the right reason, and nothing else is; the audit holds exactly one record per
// victim served, with the categories served and withheld.
func TestDecisionMatrix(t *testing.T) {
	h := newHub(t)
	rows := readMatrix(t, "testdata/matrix.tsv")
	version := h.Policy.Version()
	partners := h.partnerIDs()
	for _, r := range rows {
		t.Run(r.Name, func(t *testing.T) {
			v := h.newMarkerVictim(r.Spec)
			token := h.token(r.Partner, r.Role)
			for _, via := range []struct {
				name, query, prefix string
				vars                map[string]any
			}{
				{"victim", `query($id: ID!) { victim(id: $id) { ...All } } ` + allVictimFields, "victim",
					map[string]any{"id": v.ID}},
				{"victims", `query($ref: String!) { victims(filter: {caseRef: $ref}) { totalCount edges { node { ...All } } } } ` + allVictimFields,
					"victims.edges[0].node", map[string]any{"ref": v.CaseRef}},
			} {
				rid := newRequestID()
				res := h.do(request{Token: token, Purpose: r.Header, Query: via.query, Variables: via.vars, RequestID: rid})
				if res.Status != 200 || len(res.Errors) > 0 {
					t.Fatalf("%s: status %d, errors %v", via.name, res.Status, res.Errors)
				}
				records := h.accessRecords(rid)
				if r.Invisible {
					assertNoLeak(t, res.Body, append(v.identifiers(), "MARKER-"))
					if via.name == "victim" && string(res.Data) != `{"victim":null}` {
						t.Errorf("victim: data %s, want null", res.Data)
					}
					if via.name == "victims" && string(res.Data) != `{"victims":{"totalCount":0,"edges":[]}}` {
						t.Errorf("victims: data %s, want no edges and totalCount 0", res.Data)
					}
					if len(res.Extensions.Withheld) != 0 {
						t.Errorf("%s: withheld %v for a victim out of scope", via.name, res.Extensions.Withheld)
					}
					if len(records) != 0 {
						t.Errorf("%s: %d access records for a victim out of scope: %+v", via.name, len(records), records)
					}
					return
				}

				for _, p := range checkMarkers(res.Body, v, r.Disclosed) {
					t.Errorf("%s: %s", via.name, p)
				}
				if !strings.Contains(string(res.Body), v.CaseRef) {
					t.Errorf("%s: the case reference is missing: %s", via.name, truncate(res.Body))
				}
				// Every guarded field of the victim is null exactly when withheld.
				node := nodeOf(t, res.Data, via.name)
				for _, f := range victimFieldCategories {
					null := node[f.Field] == nil
					if null != !r.Disclosed.Has(f.Category) {
						t.Errorf("%s: %s (%s) null=%v, disclosed=%v", via.name, f.Field, f.Category, null, r.Disclosed.Has(f.Category))
					}
				}
				want := expectedWithheld(via.prefix, r.NoConsent, r.NotPermitted)
				got := slices.Clone(res.Extensions.Withheld)
				sortWithheld(got)
				if !reflect.DeepEqual(normalise(got), normalise(want)) {
					t.Errorf("%s: extensions.withheld:%s\nwant:%s", via.name, formatWithheld(got), formatWithheld(want))
				}

				// The audit: the victim, with what was served and withheld; its child, by reference only,
				// when the family was disclosed.
				wantVictims := map[string][2]lindung.CategorySet{v.ID: {r.Disclosed, r.NoConsent | r.NotPermitted}}
				if r.Disclosed.Has(lindung.Family) && v.ChildID != "" {
					wantVictims[v.ChildID] = [2]lindung.CategorySet{0, 0}
				}
				if len(records) != len(wantVictims) {
					t.Errorf("%s: %d access records, want %d: %+v", via.name, len(records), len(wantVictims), records)
				}
				for _, rec := range records {
					w, ok := wantVictims[rec.VictimID]
					if !ok {
						t.Errorf("%s: access record for unexpected victim %s", via.name, rec.VictimID)
						continue
					}
					if !sameStrings(rec.Disclosed, w[0].Names()) || !sameStrings(rec.Withheld, w[1].Names()) {
						t.Errorf("%s: access record of %s: disclosed %v withheld %v, want %v and %v",
							via.name, rec.VictimID, rec.Disclosed, rec.Withheld, w[0].Names(), w[1].Names())
					}
					if rec.Purpose != r.Purpose || rec.PartnerID != partners[r.Partner] || rec.PolicyVersion != version ||
						rec.Username != r.Role+"@"+r.Partner || !slices.Equal(rec.Roles, []string{r.Role}) || rec.UserID == nil {
						t.Errorf("%s: access record %+v: want purpose %s, partner %s, policy %s, user %s@%s",
							via.name, rec, r.Purpose, r.Partner, version, r.Role, r.Partner)
					}
				}
			}
		})
	}
}

// nodeOf returns the victim object of a response to one of the matrix's queries.
func nodeOf(t *testing.T, data []byte, via string) map[string]any {
	t.Helper()
	var d map[string]any
	mustDecode(t, data, &d)
	switch via {
	case "victim":
		if n, ok := d["victim"].(map[string]any); ok {
			return n
		}
	case "victims":
		edges, _ := d["victims"].(map[string]any)["edges"].([]any)
		if len(edges) == 1 {
			return edges[0].(map[string]any)["node"].(map[string]any)
		}
	}
	t.Fatalf("%s: no victim in %s", via, data)
	return nil
}

// normalise makes nil and empty path lists compare equal.
func normalise[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
