package server_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
)

// rawToken signs arbitrary claims with method and key, for tokens the hub's issuer would never make.
func rawToken(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsignedToken returns a token with alg none (or another header) and no signature.
func unsignedToken(header string, claims jwt.MapClaims) string {
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

func officerClaims(extra map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss":     auth.HubIssuer,
		"aud":     auth.HubAudience,
		"sub":     demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM),
		"partner": demo.SlugKPWKM,
		"roles":   []string{demo.RoleProtectionOfficer},
		"iat":     time.Now().Unix(),
		"exp":     time.Now().Add(time.Hour).Unix(),
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// TestAuthenticationFailsClosed: every request that is not properly authenticated, or asks for a purpose
// its role may not use, is refused with the right code and status, and carries no data at all. The query
// asks for a marker victim the officer could otherwise see in full.
func TestAuthenticationFailsClosed(t *testing.T) {
	h := newHub(t)
	v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM},
		Referrals: []referralSpec{{To: demo.SlugNGOHarapan, Status: "ACCEPTED", Categories: []string{"CASE"}}}})
	query := `query($id: ID!) { victim(id: $id) { ...All } victims { totalCount edges { node { caseRef } } } } ` + allVictimFields
	before := h.count(`SELECT count(*) FROM access_records`)
	officer := demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM)
	cases := []struct {
		name    string
		token   string
		purpose string
		status  int
		code    string
	}{
		{"no token", "", "", 401, "UNAUTHENTICATED"},
		{"empty bearer", " ", "", 401, "UNAUTHENTICATED"},
		{"malformed", "not-a-jwt", "", 401, "UNAUTHENTICATED"},
		{"expired", rawToken(t, jwt.SigningMethodHS256, testSecret, officerClaims(map[string]any{
			"iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()})), "", 401, "UNAUTHENTICATED"},
		{"no exp", rawToken(t, jwt.SigningMethodHS256, testSecret, func() jwt.MapClaims {
			c := officerClaims(nil)
			delete(c, "exp")
			return c
		}()), "", 401, "UNAUTHENTICATED"},
		{"not valid yet", rawToken(t, jwt.SigningMethodHS256, testSecret, officerClaims(map[string]any{
			"nbf": time.Now().Add(time.Hour).Unix()})), "", 401, "UNAUTHENTICATED"},
		{"another key", rawToken(t, jwt.SigningMethodHS256, []byte("another-secret-of-at-least-32-bytes!!"), officerClaims(nil)), "", 401, "UNAUTHENTICATED"},
		{"HS512 with the hub's key", rawToken(t, jwt.SigningMethodHS512, testSecret, officerClaims(nil)), "", 401, "UNAUTHENTICATED"},
		{"alg none", unsignedToken(`{"alg":"none","typ":"JWT"}`, officerClaims(nil)), "", 401, "UNAUTHENTICATED"},
		{"alg None", unsignedToken(`{"alg":"None","typ":"JWT"}`, officerClaims(nil)), "", 401, "UNAUTHENTICATED"},
		{"alg HS256 without signature", unsignedToken(`{"alg":"HS256","typ":"JWT"}`, officerClaims(nil)), "", 401, "UNAUTHENTICATED"},
		{"signature of another token", func() string {
			good := h.token(demo.SlugKPWKM, demo.RoleMinistryAnalyst)
			forged := rawToken(t, jwt.SigningMethodHS256, testSecret, officerClaims(nil))
			return forged[:strings.LastIndex(forged, ".")] + good[strings.LastIndex(good, "."):]
		}(), "", 401, "UNAUTHENTICATED"},
		{"unknown role", h.issue(auth.Claims{Subject: officer, Partner: demo.SlugKPWKM, Roles: []string{"superuser"}}), "", 401, "UNAUTHENTICATED"},
		{"unknown role beside a known one", h.issue(auth.Claims{Subject: officer, Partner: demo.SlugKPWKM,
			Roles: []string{demo.RoleProtectionOfficer, "admin"}}), "", 401, "UNAUTHENTICATED"},
		{"base role", h.issue(auth.Claims{Subject: officer, Partner: demo.SlugKPWKM, Roles: []string{"caseworker_base"}}), "", 0, ""},
		{"unknown partner", h.issue(auth.Claims{Subject: officer, Partner: "kpwkm-x", Roles: []string{demo.RoleProtectionOfficer}}), "", 401, "UNAUTHENTICATED"},
		{"partner type mismatch", h.issue(auth.Claims{Subject: officer, Partner: demo.SlugKPWKM, PartnerType: "NGO",
			Roles: []string{demo.RoleProtectionOfficer}}), "", 401, "UNAUTHENTICATED"},
		{"unknown partner type", rawToken(t, jwt.SigningMethodHS256, testSecret, officerClaims(map[string]any{"partner_type": "ROOT"})), "", 401, "UNAUTHENTICATED"},
		{"untrained officer", h.issue(auth.Claims{Subject: demo.UntrainedOfficerUsername, Partner: demo.SlugKPWKM,
			Roles: []string{demo.RoleProtectionOfficer}}), "", 403, "FORBIDDEN"},
		// A registered user's roles bound what a token may claim for them.
		{"officer role for another user", h.issue(auth.Claims{Subject: demo.DemoUsername(demo.RoleMinistryAnalyst, demo.SlugKPWKM),
			Partner: demo.SlugKPWKM, Roles: []string{demo.RoleProtectionOfficer}}), "", 401, "UNAUTHENTICATED"},
		{"trained officer at another partner", h.issue(auth.Claims{Subject: officer, Partner: demo.SlugPDRM,
			Roles: []string{demo.RoleProtectionOfficer}}), "", 401, "UNAUTHENTICATED"},
		{"unregistered officer", h.issue(auth.Claims{Subject: "nobody@kpwkm", Partner: demo.SlugKPWKM,
			Roles: []string{demo.RoleProtectionOfficer}}), "", 401, "UNAUTHENTICATED"},
		{"purpose the role may not use", h.token(demo.SlugNGOHarapan, demo.RoleNGOCaseworker), "PROSECUTION", 403, "FORBIDDEN"},
		{"officer for prosecution", h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer), "PROSECUTION", 403, "FORBIDDEN"},
		{"enforcement for case management", h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer), "CASE_MANAGEMENT", 403, "FORBIDDEN"},
		{"employer for statistics", h.token(demo.SlugEmployerLadang, demo.RoleEmployerHR), "STATISTICS", 403, "FORBIDDEN"},
		{"unknown purpose", h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer), "CURIOSITY", 400, "INVALID"},
		{"purpose in lower case", h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer), "case_management", 400, "INVALID"},
		{"roles with different scopes", h.issue(auth.Claims{Subject: officer, Partner: demo.SlugKPWKM,
			Roles: []string{demo.RoleProtectionOfficer, demo.RoleNGOCaseworker}}), "", 403, "FORBIDDEN"},
		{"roles with different default purposes", h.issue(auth.Claims{Subject: officer, Partner: demo.SlugKPWKM,
			Roles: []string{demo.RoleProtectionOfficer, demo.RoleMinistryAnalyst}}), "", 400, "INVALID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := h.do(request{Token: tc.token, Purpose: tc.purpose, Query: query, Variables: map[string]any{"id": v.ID}})
			if tc.code == "" {
				// A token naming a role nobody holds (a base role) must not open anything either.
				if res.Code() == "" && strings.Contains(string(res.Body), v.CaseRef) {
					t.Errorf("a token with a base role saw the victim: %s", truncate(res.Body))
				}
			} else if res.Status != tc.status || res.Code() != tc.code {
				t.Errorf("status %d code %q, want %d %q: %s", res.Status, res.Code(), tc.status, tc.code, res.Body)
			}
			if tc.code != "" && len(res.Data) != 0 && string(res.Data) != "null" {
				t.Errorf("a refused request carries data: %s", res.Data)
			}
			assertNoVictimData(t, res.Body)
			assertNoLeak(t, res.Body, v.identifiers())
			for _, secret := range []string{tc.token, "SELECT", "pgx", "goroutine", "casbin"} {
				if len(secret) > 8 && strings.Contains(string(res.Body), secret) {
					t.Errorf("the error echoes %q: %s", secret, res.Body)
				}
			}
		})
	}
	if n := h.count(`SELECT count(*) FROM access_records`); n != before {
		t.Errorf("refused requests wrote %d access records", n-before)
	}
}
