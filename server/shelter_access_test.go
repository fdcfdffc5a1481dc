package server_test

import (
	"strings"
	"testing"

	"github.com/lindung/lindung/demo"
)

// TestEmployersAreNotToldWhereSheltersAre: a place of refuge is where victims hide from their traffickers.
// Employers get FORBIDDEN and no shelter name by any root field, aliased or in a fragment; every other
// role may list shelters.
func TestEmployersAreNotToldWhereSheltersAre(t *testing.T) {
	h := newHub(t)
	name := h.strings(`SELECT name FROM shelters ORDER BY name LIMIT 1`)[0]
	id := h.strings(`SELECT id::text FROM shelters ORDER BY name LIMIT 1`)[0]
	queries := []string{
		`{ shelters { name } }`,
		`{ refuge: shelters(state: SARAWAK) { name state } }`,
		`query($id: ID!) { shelter(id: $id) { name } }`,
		`query($id: ID!) { ...Q } fragment Q on Query { s: shelter(id: $id) { name occupancy } }`,
		`{ occupancy { state capacity } }`,
	}
	for _, slug := range []string{demo.SlugEmployerLadang, demo.SlugEmployerKilang} {
		token := h.token(slug, demo.RoleEmployerHR)
		for _, q := range queries {
			res := h.do(request{Token: token, Query: q, Variables: map[string]any{"id": id}})
			if strings.Contains(string(res.Body), name) || strings.Contains(string(res.Body), "SARAWAK") {
				t.Errorf("%s: an employer learns a shelter: %s", q, res.Body)
			}
			if res.Code() != "FORBIDDEN" {
				t.Errorf("%s: code %q, want FORBIDDEN: %s", q, res.Code(), res.Body)
			}
		}
	}
	for _, c := range []caller{{demo.SlugKPWKM, demo.RoleProtectionOfficer}, {demo.SlugPDRM, demo.RoleEnforcementOfficer},
		{demo.SlugNGOHarapan, demo.RoleNGOCaseworker}, {demo.SlugKPWKM, demo.RoleMinistryAnalyst}, {demo.SlugOperator, demo.RoleOperator}} {
		res := h.do(request{Token: h.token(c.Partner, c.Role), Query: queries[0]})
		if !strings.Contains(string(res.Body), name) {
			t.Errorf("%s: does not see the shelters: %.200s", c, res.Body)
		}
	}
}
