package auth

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lindung/lindung"
)

// TestTokenIssuerAudienceAndTimes: the hub's own tokens must name the hub as issuer and audience, carry
// iat and exp, and live no longer than the maximum; the leeway for clock skew is configurable. Each row
// is a token someone could sign with the hub's secret (a service sharing it, a script minting long-lived
// tokens) and the hub must refuse.
func TestTokenIssuerAudienceAndTimes(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name string
		opts []Option
		edit func(jwt.MapClaims)
		msg  string // "" when accepted
	}{
		{"the hub's own token", nil, func(jwt.MapClaims) {}, ""},
		{"no iss", nil, func(c jwt.MapClaims) { delete(c, "iss") }, "token is missing the iss claim"},
		{"another issuer", nil, func(c jwt.MapClaims) { c["iss"] = "payroll" }, "token issuer (iss) is not accepted"},
		{"no aud", nil, func(c jwt.MapClaims) { delete(c, "aud") }, "token is missing the aud claim"},
		{"another audience", nil, func(c jwt.MapClaims) { c["aud"] = "payroll-api" }, "token audience (aud) does not include the hub"},
		{"no iat", nil, func(c jwt.MapClaims) { delete(c, "iat") }, "token is missing the iat claim"},
		{"no exp", nil, func(c jwt.MapClaims) { delete(c, "exp") }, "token is missing the exp claim"},
		{"twelve hours", nil, func(c jwt.MapClaims) { c["exp"] = now.Add(12 * time.Hour).Unix() }, ""},
		{"a year", nil, func(c jwt.MapClaims) { c["exp"] = now.Add(365 * 24 * time.Hour).Unix() }, "longer than the hub's maximum of 12h0m0s"},
		{"issued long ago, still valid", nil, func(c jwt.MapClaims) {
			c["iat"] = now.Add(-30 * 24 * time.Hour).Unix()
		}, "longer than the hub's maximum"},
		{"a shorter maximum", []Option{WithMaxLifetime(30 * time.Minute)}, func(jwt.MapClaims) {}, "longer than the hub's maximum of 30m0s"},
		{"zero maximum keeps the default", []Option{WithMaxLifetime(0)}, func(c jwt.MapClaims) { c["exp"] = now.Add(13 * time.Hour).Unix() }, "maximum of 12h0m0s"},
		{"expired 20s ago, default leeway", nil, func(c jwt.MapClaims) {
			c["iat"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-20*time.Second).Unix()
		}, ""},
		{"expired 20s ago, leeway 5s", []Option{WithLeeway(5 * time.Second)}, func(c jwt.MapClaims) {
			c["iat"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-20*time.Second).Unix()
		}, "token expired"},
		{"issued 2m ahead, leeway 5m", []Option{WithLeeway(5 * time.Minute)}, func(c jwt.MapClaims) {
			c["iat"] = now.Add(2 * time.Minute).Unix()
		}, ""},
		{"issued 2m ahead, default leeway", nil, func(c jwt.MapClaims) {
			c["iat"] = now.Add(2 * time.Minute).Unix()
		}, "not valid yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), tt.edit), nil)
			c, err := NewHS256Verifier(testSecret, tt.opts...).Verify(context.Background(), tok)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c.IssuedAt.IsZero() {
					t.Error("verified claims have no IssuedAt")
				}
				return
			}
			checkErr(t, err, tok, lindung.EUNAUTHENTICATED, tt.msg)
		})
	}

	// WithIssuer cannot move an HS256 verifier off the hub's own issuer.
	tok := sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { c["iss"] = "payroll" }), nil)
	_, err := NewHS256Verifier(testSecret, WithIssuer("payroll")).Verify(context.Background(), tok)
	checkErr(t, err, tok, lindung.EUNAUTHENTICATED, "token issuer (iss) is not accepted")
}

// TestIssuedTokensNameTheHub: Issue sets iss and aud to the hub's own.
func TestIssuedTokensNameTheHub(t *testing.T) {
	tok, err := NewIssuer(testSecret).Issue(Claims{Subject: "a", Partner: "p", Roles: []string{"r"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatal(err)
	}
	if c.Issuer != HubIssuer || len(c.Audience) != 1 || c.Audience[0] != HubAudience || c.IssuedAt == nil {
		t.Errorf("iss %q aud %v iat %v, want %q %q and an iat", c.Issuer, c.Audience, c.IssuedAt, HubIssuer, HubAudience)
	}
}
