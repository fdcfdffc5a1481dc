package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
)

// TestConcurrentCallersSeeOnlyTheirOwnMask: the officer, pdrm, an NGO and an out-of-scope agency load the
// same victim at the same time, many times over. The NGO holds consent the officer lacks (health) and the
// officer sees what the NGO may not (identity, location, legal), so a decision, loader cache or tally
// shared across requests would show up as a marker in the wrong response.
func TestConcurrentCallersSeeOnlyTheirOwnMask(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{
		Links:     []string{demo.SlugPDRM},
		Referrals: []referralSpec{{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: []string{"CASE", "DEMOGRAPHIC", "HEALTH"}}},
		Consents:  []consentSpec{{Grantee: demo.SlugNGOHarapan, Categories: []string{"HEALTH"}, Purposes: []string{"SERVICE_DELIVERY"}}},
	})
	type view struct {
		who       caller
		visible   bool
		disclosed lindung.CategorySet
	}
	views := []view{
		{caller{demo.SlugKPWKM, demo.RoleProtectionOfficer}, true, lindung.AllCategories &^ lindung.SetOf(lindung.Health, lindung.Counselling)},
		{caller{demo.SlugPDRM, demo.RoleEnforcementOfficer}, true, lindung.SetOf(lindung.Case, lindung.Legal, lindung.Demographic)},
		{caller{demo.SlugNGOHarapan, demo.RoleNGOCaseworker}, true, lindung.SetOf(lindung.Case, lindung.Demographic, lindung.Health)},
		{caller{demo.SlugJIM, demo.RoleEnforcementOfficer}, false, 0},
		{caller{demo.SlugEmployerLadang, demo.RoleEmployerHR}, false, 0},
	}
	queries := []string{
		`query($id: ID!) { victim(id: $id) { ...All } } ` + allVictimFields,
		`query($ref: String!) { victims(filter: {caseRef: $ref}) { edges { node { ...All } } } } ` + allVictimFields,
	}
	const iterations = 12
	var wg sync.WaitGroup
	errs := make(chan string, len(views)*iterations*len(queries)*4)
	for _, vw := range views {
		token := h.token(vw.who.Partner, vw.who.Role)
		for i := 0; i < iterations; i++ {
			for qi, q := range queries {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := h.send(request{Token: token, Query: q, Variables: map[string]any{"id": v.ID, "ref": v.CaseRef}})
					if err != nil {
						errs <- err.Error()
						return
					}
					where := fmt.Sprintf("%s query %d", vw.who, qi)
					if len(res.Errors) > 0 {
						errs <- fmt.Sprintf("%s: errors %s", where, res.Body)
						return
					}
					if !vw.visible {
						for _, s := range append(v.identifiers(), "MARKER-") {
							if strings.Contains(string(res.Body), s) {
								errs <- fmt.Sprintf("LEAK %s: %q in %s", where, s, truncate(res.Body))
							}
						}
						return
					}
					for _, p := range checkMarkers(res.Body, v, vw.disclosed) {
						errs <- where + ": " + p
					}
				}()
			}
		}
	}
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 20 {
			t.Error(e)
		}
	}
	if n > 20 {
		t.Errorf("… and %d more", n-20)
	}
}
