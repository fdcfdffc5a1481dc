package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
)

// victimsQuery asks for a marker victim in full and for a listing, so that any identity that reaches the
// data shows it.
const victimsQuery = `query($id: ID!) { victim(id: $id) { ...All } victims(first: 5) { totalCount edges { node { id caseRef } } } } ` + allVictimFields

const createPartnerMutation = `mutation { createPartner(input: {slug: "ngo-hantu", name: "Hantu", type: NGO, state: SELANGOR}) { id } }`

// TestIdentityComesFromTheHub: a token names a user, it does not make one. Each row is an attack that was
// served before: an unregistered subject claiming a role (ghost@ngo-harapan claiming operator created
// partners), a token of one partner naming another partner's user (and audited under that name), a role
// the user does not hold, and tokens the hub must not trust at all (another issuer or audience, no iat or
// exp, a lifetime longer than the maximum). Each is refused with 401 and a message that says which check
// failed; none reads or writes anything.
func TestIdentityComesFromTheHub(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM},
		Referrals: []referralSpec{{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: []string{"CASE", "DEMOGRAPHIC"}}}})
	officer := demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM)
	signed := func(edit func(jwt.MapClaims)) string {
		now := time.Now()
		c := jwt.MapClaims{"iss": auth.HubIssuer, "aud": auth.HubAudience, "sub": officer, "partner": demo.SlugKPWKM,
			"roles": []string{demo.RoleProtectionOfficer}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		edit(c)
		return rawToken(t, jwt.SigningMethodHS256, testSecret, c)
	}
	cases := []struct {
		name, token, query, want string
	}{
		{"ghost claiming operator", h.issue(auth.Claims{Subject: "ghost@ngo-harapan", Partner: demo.SlugNGOHarapan,
			Roles: []string{demo.RoleOperator}}), createPartnerMutation, `subject "ghost@ngo-harapan" is not a registered user of the partner "ngo-harapan"`},
		{"ghost caseworker", h.issue(auth.Claims{Subject: "ghost@ngo-harapan", Partner: demo.SlugNGOHarapan,
			Roles: []string{demo.RoleNGOCaseworker}}), victimsQuery, "is not a registered user"},
		{"ngo token naming the officer", h.issue(auth.Claims{Subject: officer, Partner: demo.SlugNGOHarapan,
			Roles: []string{demo.RoleNGOCaseworker}}), victimsQuery, `is not a registered user of the partner "ngo-harapan"`},
		{"ngo token naming the officer with the officer's role", h.issue(auth.Claims{Subject: officer, Partner: demo.SlugNGOHarapan,
			Roles: []string{demo.RoleProtectionOfficer}}), victimsQuery, "is not a registered user"},
		{"officer claiming operator instead", h.issue(auth.Claims{Subject: officer, Partner: demo.SlugKPWKM,
			Roles: []string{demo.RoleOperator}}), createPartnerMutation, `claims the role "operator", which the user`},
		{"router account claiming operator", h.issue(auth.Claims{Subject: demo.DemoUsername(demo.RoleRouter, demo.SlugOperator),
			Partner: demo.SlugOperator, Roles: []string{demo.RoleOperator}}), createPartnerMutation, `claims the role "operator", which the user`},
		{"analyst claiming the officer's role", h.issue(auth.Claims{Subject: demo.DemoUsername(demo.RoleMinistryAnalyst, demo.SlugKPWKM),
			Partner: demo.SlugKPWKM, Roles: []string{demo.RoleProtectionOfficer}}), victimsQuery, "does not hold in this hub"},
		{"unknown partner", h.issue(auth.Claims{Subject: officer, Partner: "kpwkm-lama", Roles: []string{demo.RoleProtectionOfficer}}),
			victimsQuery, `partner "kpwkm-lama" is not registered with this hub`},
		{"another issuer", signed(func(c jwt.MapClaims) { c["iss"] = "payroll" }), victimsQuery, "issuer (iss) is not accepted"},
		{"no issuer", signed(func(c jwt.MapClaims) { delete(c, "iss") }), victimsQuery, "missing the iss claim"},
		{"another audience", signed(func(c jwt.MapClaims) { c["aud"] = "payroll-api" }), victimsQuery, "audience (aud) does not include the hub"},
		{"no audience", signed(func(c jwt.MapClaims) { delete(c, "aud") }), victimsQuery, "missing the aud claim"},
		{"no iat", signed(func(c jwt.MapClaims) { delete(c, "iat") }), victimsQuery, "missing the iat claim"},
		{"no exp", signed(func(c jwt.MapClaims) { delete(c, "exp") }), victimsQuery, "missing the exp claim"},
		{"a year's lifetime", signed(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(365 * 24 * time.Hour).Unix() }), victimsQuery,
			"longer than the hub's maximum of 12h0m0s"},
		{"issued a month ago, expiring tomorrow", signed(func(c jwt.MapClaims) {
			c["iat"], c["exp"] = time.Now().Add(-30*24*time.Hour).Unix(), time.Now().Add(24*time.Hour).Unix()
		}), victimsQuery, "longer than the hub's maximum"},
	}
	tables := `SELECT (SELECT count(*) FROM access_records) + (SELECT count(*) FROM partners) + (SELECT count(*) FROM change_records)`
	before := h.count(tables)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.do(request{Token: tc.token, Query: tc.query, Variables: map[string]any{"id": v.ID}})
			if res.Status != 401 || res.Code() != "UNAUTHENTICATED" || len(res.Errors) == 0 || !strings.Contains(res.Errors[0].Message, tc.want) {
				t.Errorf("HTTP %d: %s\nwant 401 UNAUTHENTICATED saying %q", res.Status, res.Body, tc.want)
			}
			assertNoVictimData(t, res.Body)
			assertNoLeak(t, res.Body, v.identifiers())
		})
	}
	if after := h.count(tables); after != before {
		t.Errorf("refused requests wrote %d rows (access records, partners, change records)", after-before)
	}
	if n := h.count(`SELECT count(*) FROM partners WHERE slug = 'ngo-hantu'`); n != 0 {
		t.Error("an unregistered subject created a partner")
	}
}

// TestDisableAndSuspend: the operator disables a user or suspends a partner, and that user's (or any of
// the partner's users') next request is refused whatever token it carries, until the operator undoes it.
// Each change is in the change log; nobody else may make it; the operator cannot lock the hub out.
func TestDisableAndSuspend(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{Referrals: []referralSpec{{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: []string{"CASE"}}}})
	operator := h.token(demo.SlugOperator, demo.RoleOperator)
	officer := demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM)
	// Tokens minted before the change: the change must bind them too.
	officerToken := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	ngoToken := h.token(demo.SlugNGOHarapan, demo.RoleNGOCaseworker)
	sees := func(token string) *response {
		t.Helper()
		return h.do(request{Token: token, Query: `query($id: ID!) { victim(id: $id) { caseRef } }`, Variables: map[string]any{"id": v.ID}})
	}
	mutate := func(token, query string, vars map[string]any) *response {
		t.Helper()
		return h.do(request{Token: token, Query: query, Variables: vars})
	}
	served := func(name string, res *response) {
		t.Helper()
		if res.Status != 200 || !strings.Contains(string(res.Body), v.CaseRef) {
			t.Fatalf("%s: not served: HTTP %d %s", name, res.Status, res.Body)
		}
	}
	refused := func(name string, res *response, want string) {
		t.Helper()
		if res.Status != 401 || res.Code() != "UNAUTHENTICATED" || !strings.Contains(string(res.Body), want) {
			t.Errorf("%s: HTTP %d %s, want 401 saying %q", name, res.Status, res.Body, want)
		}
		assertNoLeak(t, res.Body, v.identifiers())
	}
	served("officer before", sees(officerToken))
	served("ngo before", sees(ngoToken))

	const disable = `mutation($u: String!) { disableUser(username: $u) { username disabled } }`
	const enable = `mutation($u: String!) { enableUser(username: $u) { username disabled } }`
	const suspend = `mutation($s: String!) { suspendPartner(slug: $s) { slug suspended } }`
	const reinstate = `mutation($s: String!) { reinstatePartner(slug: $s) { slug suspended } }`

	// Only the operator administers.
	for _, q := range []struct {
		query string
		vars  map[string]any
	}{{disable, map[string]any{"u": officer}}, {enable, map[string]any{"u": officer}}, {suspend, map[string]any{"s": demo.SlugNGOHarapan}},
		{reinstate, map[string]any{"s": demo.SlugNGOHarapan}}} {
		if res := mutate(officerToken, q.query, q.vars); res.Code() != "FORBIDDEN" {
			t.Errorf("an officer ran %.40s: %s", q.query, res.Body)
		}
	}

	res := mutate(operator, disable, map[string]any{"u": officer})
	if res.Code() != "" || !strings.Contains(string(res.Data), `"disabled":true`) {
		t.Fatalf("disableUser: %s", res.Body)
	}
	refused("disabled officer, old token", sees(officerToken), `user \"protection_officer@kpwkm\" is disabled`)
	refused("disabled officer, new token", sees(h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)), "is disabled")
	served("another user of the partner", h.do(request{Token: h.token(demo.SlugKPWKM, demo.RoleMinistryAnalyst),
		Query: `{ viewer { username } }`, Variables: nil}).withBody(v.CaseRef))
	if res := mutate(operator, enable, map[string]any{"u": officer}); !strings.Contains(string(res.Data), `"disabled":false`) {
		t.Fatalf("enableUser: %s", res.Body)
	}
	served("officer enabled again", sees(officerToken))

	if res := mutate(operator, suspend, map[string]any{"s": demo.SlugNGOHarapan}); !strings.Contains(string(res.Data), `"suspended":true`) {
		t.Fatalf("suspendPartner: %s", res.Body)
	}
	refused("suspended partner, old token", sees(ngoToken), `partner \"ngo-harapan\" is suspended`)
	refused("suspended partner, new token", sees(h.token(demo.SlugNGOHarapan, demo.RoleNGOCaseworker)), "is suspended")
	served("officer of another partner", sees(officerToken))
	if res := mutate(operator, reinstate, map[string]any{"s": demo.SlugNGOHarapan}); !strings.Contains(string(res.Data), `"suspended":false`) {
		t.Fatalf("reinstatePartner: %s", res.Body)
	}
	served("ngo reinstated", sees(ngoToken))

	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		code        string
	}{
		{"disable yourself", disable, map[string]any{"u": demo.DemoUsername(demo.RoleOperator, demo.SlugOperator)}, "CONFLICT"},
		{"suspend your own partner", suspend, map[string]any{"s": demo.SlugOperator}, "CONFLICT"},
		{"unknown user", disable, map[string]any{"u": "nobody@kpwkm"}, "NOT_FOUND"},
		{"unknown partner", suspend, map[string]any{"s": "ngo-nowhere"}, "NOT_FOUND"},
	} {
		if res := mutate(operator, tc.query, tc.vars); res.Code() != tc.code {
			t.Errorf("%s: %s, want %s", tc.name, res.Body, tc.code)
		}
	}

	log := h.strings(`SELECT entity || ' ' || action || ' ' || array_to_string(fields, ',') || ' ' || username FROM change_records
		WHERE entity IN ('user', 'partner') ORDER BY id`)
	want := []string{"user disabled disabled operator@operator", "user enabled disabled operator@operator",
		"partner suspended suspended operator@operator", "partner reinstated suspended operator@operator"}
	if strings.Join(log, "\n") != strings.Join(want, "\n") {
		t.Errorf("change log:\n%s\nwant:\n%s", strings.Join(log, "\n"), strings.Join(want, "\n"))
	}
}

// withBody marks a response that need not carry a victim as carrying the marker, for served().
func (r *response) withBody(marker string) *response {
	if r.Status == 200 && r.Code() == "" {
		r.Body = append(r.Body, marker...)
	}
	return r
}

// TestSeparationOfDutiesWithRegisteredUsers: users registered in the hub with the operator or router role
// and a case role (as a database administrator could have done before createUser refused it) read victims'
// case, demographic and shelter data by declaring SERVICE_DELIVERY or FAMILY_CONTACT, and kept
// administering. Now such an account is refused under every purpose, whatever roles its token narrows to,
// and neither reads nor writes anything; createUser and setUserRoles refuse the combination with CONFLICT
// naming it. A registered user with two roles that may be held together gets, under each purpose, only
// the grants and actions of the role that may declare it.
func TestSeparationOfDutiesWithRegisteredUsers(t *testing.T) {
	h := newHub(t)
	all := []string{"IDENTITY", "CONTACT", "DEMOGRAPHIC", "CASE", "LOCATION", "HEALTH", "COUNSELLING", "LEGAL", "FAMILY", "EMPLOYMENT"}
	var purposes []string
	for _, p := range lindung.Purposes() {
		purposes = append(purposes, string(p))
	}
	v := h.newMarkerVictim(victimSpec{
		Referrals: []referralSpec{{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: all}},
		Consents:  []consentSpec{{Grantee: demo.SlugKPWKM, Categories: all, Purposes: purposes}, {Grantee: demo.SlugNGOHarapan, Categories: all, Purposes: purposes}}})
	register := func(username, partner string, roles []string, trained bool) {
		h.exec(`INSERT INTO users (partner_id, username, display_name, roles) SELECT id, $1, 'test', $3 FROM partners WHERE slug = $2`,
			username, partner, roles)
		if trained {
			h.exec(`INSERT INTO training_completions (user_id, module_version, completed_on)
				SELECT id, 'PO-2026.1', current_date - 1 FROM users WHERE username = $1`, username)
		}
	}
	register("ops.officer@kpwkm", demo.SlugKPWKM, []string{demo.RoleOperator, demo.RoleProtectionOfficer}, true)
	register("router.officer@kpwkm", demo.SlugKPWKM, []string{demo.RoleRouter, demo.RoleProtectionOfficer}, true)
	register("ops.caseworker@ngo-harapan", demo.SlugNGOHarapan, []string{demo.RoleOperator, demo.RoleNGOCaseworker}, false)
	register("router.caseworker@ngo-harapan", demo.SlugNGOHarapan, []string{demo.RoleRouter, demo.RoleNGOCaseworker}, false)
	register("officer.analyst@kpwkm", demo.SlugKPWKM, []string{demo.RoleProtectionOfficer, demo.RoleMinistryAnalyst}, true)

	before := h.count(`SELECT (SELECT count(*) FROM access_records) + (SELECT count(*) FROM partners) + (SELECT count(*) FROM victims)`)
	for _, u := range []struct {
		name, partner string
		roles         []string
		pair          string
	}{
		{"ops.officer@kpwkm", demo.SlugKPWKM, []string{demo.RoleOperator, demo.RoleProtectionOfficer}, "operator and protection_officer"},
		{"router.officer@kpwkm", demo.SlugKPWKM, []string{demo.RoleRouter, demo.RoleProtectionOfficer}, "router and protection_officer"},
		{"ops.caseworker@ngo-harapan", demo.SlugNGOHarapan, []string{demo.RoleOperator, demo.RoleNGOCaseworker}, "operator and ngo_caseworker"},
		{"router.caseworker@ngo-harapan", demo.SlugNGOHarapan, []string{demo.RoleRouter, demo.RoleNGOCaseworker}, "router and ngo_caseworker"},
	} {
		for _, claimed := range [][]string{u.roles, u.roles[:1], u.roles[1:]} {
			token := h.issue(auth.Claims{Subject: u.name, Partner: u.partner, Roles: claimed})
			for _, purpose := range append([]string{""}, purposes...) {
				for _, query := range []string{victimsQuery, createPartnerMutation,
					`query($id: ID!) { victim(id: $id) { caseRef } shelters { residents { caseRef } } referrals { victim { caseRef } } }`} {
					res := h.do(request{Token: token, Purpose: purpose, Query: query, Variables: map[string]any{"id": v.ID}})
					// A purpose the claimed roles may not declare (or none where their defaults differ) is
					// refused before the hub's record is read; every other request names the pair.
					early := (res.Status == 400 && res.Code() == "INVALID") || strings.Contains(string(res.Body), "is not open to the role")
					if !early && (res.Status != 403 || res.Code() != "FORBIDDEN" || !strings.Contains(string(res.Body), u.pair)) {
						t.Errorf("%s claiming %v under %q: HTTP %d %s, want 403 naming %q", u.name, claimed, purpose, res.Status, truncate(res.Body), u.pair)
					}
					assertNoVictimData(t, res.Body)
					assertNoLeak(t, res.Body, v.identifiers())
				}
			}
		}
	}
	if after := h.count(`SELECT (SELECT count(*) FROM access_records) + (SELECT count(*) FROM partners) + (SELECT count(*) FROM victims)`); after != before {
		t.Errorf("accounts holding forbidden roles wrote %d rows", after-before)
	}

	// Two roles that may be held together: each purpose gets one role's grants and actions.
	both := h.issue(auth.Claims{Subject: "officer.analyst@kpwkm", Partner: demo.SlugKPWKM,
		Roles: []string{demo.RoleProtectionOfficer, demo.RoleMinistryAnalyst}})
	res := h.do(request{Token: both, Purpose: "STATISTICS", Query: `mutation { createVictim(input: {caseRef: "SOD-2026-000001"}) { id } }`})
	if res.Code() != "FORBIDDEN" || !strings.Contains(string(res.Body), "register victims") {
		t.Errorf("the officer-analyst registered a victim under STATISTICS: %s", res.Body)
	}
	res = h.do(request{Token: both, Purpose: "STATISTICS", Query: `query($id: ID!) { victim(id: $id) { caseRef } }`, Variables: map[string]any{"id": v.ID}})
	assertNoLeak(t, res.Body, v.identifiers())
	res = h.do(request{Token: both, Purpose: "CASE_MANAGEMENT", Query: `{ statistics { threshold } }`})
	if res.Code() != "FORBIDDEN" {
		t.Errorf("the officer-analyst read statistics under CASE_MANAGEMENT: %s", res.Body)
	}
	res = h.do(request{Token: both, Purpose: "CASE_MANAGEMENT", Query: `query($id: ID!) { victim(id: $id) { caseRef } }`, Variables: map[string]any{"id": v.ID}})
	if !strings.Contains(string(res.Body), v.CaseRef) {
		t.Errorf("the officer-analyst, a registered user, did not reach the case under CASE_MANAGEMENT: %s", res.Body)
	}

	// The hub refuses to register such an account.
	operator := h.token(demo.SlugOperator, demo.RoleOperator)
	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		code, has   string
	}{
		{"createUser operator and officer", `mutation($r: [String!]!) { createUser(input: {partnerSlug: "kpwkm", username: "new@kpwkm", displayName: "n", roles: $r}) { id } }`,
			map[string]any{"r": []string{demo.RoleProtectionOfficer, demo.RoleOperator}}, "CONFLICT", "operator and protection_officer"},
		{"createUser router and analyst", `mutation($r: [String!]!) { createUser(input: {partnerSlug: "kpwkm", username: "new@kpwkm", displayName: "n", roles: $r}) { id } }`,
			map[string]any{"r": []string{demo.RoleMinistryAnalyst, demo.RoleRouter}}, "CONFLICT", "router and ministry_analyst"},
		{"createUser unknown role", `mutation($r: [String!]!) { createUser(input: {partnerSlug: "kpwkm", username: "new@kpwkm", displayName: "n", roles: $r}) { id } }`,
			map[string]any{"r": []string{"superuser"}}, "INVALID", "superuser"},
		{"setUserRoles officer and operator", `mutation($r: [String!]!) { setUserRoles(username: "protection_officer@kpwkm", roles: $r) { roles } }`,
			map[string]any{"r": []string{demo.RoleProtectionOfficer, demo.RoleOperator}}, "CONFLICT", "operator and protection_officer"},
		{"setUserRoles on your own account", `mutation($r: [String!]!) { setUserRoles(username: "operator@operator", roles: $r) { roles } }`,
			map[string]any{"r": []string{demo.RoleProtectionOfficer}}, "CONFLICT", "your own roles"},
		{"setUserRoles splits the account", `mutation($r: [String!]!) { setUserRoles(username: "ops.officer@kpwkm", roles: $r) { roles } }`,
			map[string]any{"r": []string{demo.RoleProtectionOfficer}}, "", ""},
	} {
		res := h.do(request{Token: operator, Query: tc.query, Variables: tc.vars})
		if res.Code() != tc.code || !strings.Contains(string(res.Body), tc.has) {
			t.Errorf("%s: %s, want %q naming %q", tc.name, res.Body, tc.code, tc.has)
		}
	}
	if n := h.count(`SELECT count(*) FROM users WHERE username = 'new@kpwkm'`); n != 0 {
		t.Error("a refused createUser registered the user")
	}
	if roles := h.strings(`SELECT array_to_string(roles, ',') FROM users WHERE username = 'protection_officer@kpwkm'`); roles[0] != demo.RoleProtectionOfficer {
		t.Errorf("a refused setUserRoles changed the roles to %s", roles[0])
	}
	// Split, the account serves as the officer it now only is.
	res = h.do(request{Token: h.issue(auth.Claims{Subject: "ops.officer@kpwkm", Partner: demo.SlugKPWKM, Roles: []string{demo.RoleProtectionOfficer}}),
		Query: `query($id: ID!) { victim(id: $id) { caseRef } }`, Variables: map[string]any{"id": v.ID}})
	if !strings.Contains(string(res.Body), v.CaseRef) {
		t.Errorf("the split account is not served as an officer: %s", res.Body)
	}
	if n := h.count(`SELECT count(*) FROM change_records WHERE entity = 'user' AND action = 'roles set'`); n != 1 {
		t.Errorf("%d role changes in the change log, want 1", n)
	}
}
