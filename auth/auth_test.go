package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lindung/lindung"
)

var (
	testSecret  = []byte("0123456789abcdef0123456789abcdef-test-secret")
	otherSecret = []byte("another-secret-that-is-long-enough-0123456789")

	rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	rsaKey2 = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	ecKey = sync.OnceValue(func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

// baseClaims returns a complete, valid claim set; tests delete or change entries.
func baseClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss":          HubIssuer,
		"aud":          HubAudience,
		"sub":          "aisyah",
		"partner":      "jtk-selangor",
		"partner_type": "GOVERNMENT",
		"roles":        []string{"case_officer"},
		"iat":          now.Unix(),
		"exp":          now.Add(time.Hour).Unix(),
		"jti":          "tok-1",
	}
}

func with(c jwt.MapClaims, edit func(jwt.MapClaims)) jwt.MapClaims {
	edit(c)
	return c
}

func sign(t *testing.T, m jwt.SigningMethod, key any, c jwt.MapClaims, hdr map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	for k, v := range hdr {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// checkErr asserts err is a *lindung.Error with code and a message containing want, and that neither the
// message nor the full error text echoes the token.
func checkErr(t *testing.T, err error, token string, code lindung.ErrorCode, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s %q", code, want)
	}
	var le *lindung.Error
	if !errors.As(err, &le) {
		t.Fatalf("error %T %v is not a *lindung.Error", err, err)
	}
	if le.Code != code {
		t.Errorf("code = %s, want %s (message %q)", le.Code, code, le.Message)
	}
	if !strings.Contains(le.Message, want) {
		t.Errorf("message = %q, want it to contain %q", le.Message, want)
	}
	if len(token) > 8 {
		if strings.Contains(le.Message, token) || strings.Contains(err.Error(), token) {
			t.Errorf("error echoes the token: %v", err)
		}
		// Nor any of its segments.
		for _, part := range strings.Split(token, ".") {
			if len(part) > 8 && strings.Contains(err.Error(), part) {
				t.Errorf("error echoes a token segment: %v", err)
			}
		}
	}
}

func TestHS256Verifier(t *testing.T) {
	rsaPubDER, err := x509.MarshalPKIXPublicKey(&rsaKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaPubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaPubDER})

	tests := []struct {
		name  string
		token func(t *testing.T) string
		code  lindung.ErrorCode // "" for success
		msg   string
	}{
		{"valid", func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, testSecret, baseClaims(), nil) }, "", ""},
		{"valid without partner_type", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { delete(c, "partner_type") }), nil)
		}, "", ""},
		{"expired within leeway", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-10 * time.Second).Unix() }), nil)
		}, "", ""},
		{"expired", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() }), nil)
		}, lindung.EUNAUTHENTICATED, "token expired"},
		{"issued in the future", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { c["iat"] = time.Now().Add(5 * time.Minute).Unix() }), nil)
		}, lindung.EUNAUTHENTICATED, "not valid yet"},
		{"not before in the future", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(5 * time.Minute).Unix() }), nil)
		}, lindung.EUNAUTHENTICATED, "not valid yet"},
		{"other secret", func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, otherSecret, baseClaims(), nil) },
			lindung.EUNAUTHENTICATED, "token signature is not valid"},
		{"tampered payload", func(t *testing.T) string {
			good := sign(t, jwt.SigningMethodHS256, testSecret, baseClaims(), nil)
			forged := sign(t, jwt.SigningMethodHS256, otherSecret, with(baseClaims(), func(c jwt.MapClaims) { c["roles"] = []string{"admin"} }), nil)
			p, f := strings.Split(good, "."), strings.Split(forged, ".")
			return p[0] + "." + f[1] + "." + p[2]
		}, lindung.EUNAUTHENTICATED, "token signature is not valid"},
		{"alg none", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, baseClaims(), nil)
		}, lindung.EUNAUTHENTICATED, "unsupported signing algorithm"},
		{"alg None spelled differently", func(t *testing.T) string {
			s := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, baseClaims(), nil)
			return "eyJhbGciOiJOb25lIiwidHlwIjoiSldUIn0" + s[strings.Index(s, "."):] // {"alg":"None","typ":"JWT"}
		}, lindung.EUNAUTHENTICATED, "unsupported signing algorithm"},
		{"HS384 with the right secret", func(t *testing.T) string { return sign(t, jwt.SigningMethodHS384, testSecret, baseClaims(), nil) },
			lindung.EUNAUTHENTICATED, "unsupported signing algorithm"},
		{"HS512 with the right secret", func(t *testing.T) string { return sign(t, jwt.SigningMethodHS512, testSecret, baseClaims(), nil) },
			lindung.EUNAUTHENTICATED, "unsupported signing algorithm"},
		{"RS256", func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, rsaKey(), baseClaims(), nil) },
			lindung.EUNAUTHENTICATED, "unsupported signing algorithm: the hub accepts HS256"},
		{"ES256", func(t *testing.T) string { return sign(t, jwt.SigningMethodES256, ecKey(), baseClaims(), nil) },
			lindung.EUNAUTHENTICATED, "unsupported signing algorithm"},
		{"HS256 with RSA public key as secret", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, rsaPubPEM, baseClaims(), nil)
		}, lindung.EUNAUTHENTICATED, "token signature is not valid"},
		{"missing exp", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { delete(c, "exp") }), nil)
		}, lindung.EUNAUTHENTICATED, "token is missing the exp claim"},
		{"missing sub", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { delete(c, "sub") }), nil)
		}, lindung.EUNAUTHENTICATED, "token is missing the sub claim"},
		{"missing partner", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { delete(c, "partner") }), nil)
		}, lindung.EUNAUTHENTICATED, "token is missing the partner claim"},
		{"missing roles", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { delete(c, "roles") }), nil)
		}, lindung.EUNAUTHENTICATED, "token is missing the roles claim"},
		{"empty roles", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { c["roles"] = []string{} }), nil)
		}, lindung.EUNAUTHENTICATED, "token roles claim is empty"},
		{"blank role", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { c["roles"] = []string{"case_officer", " "} }), nil)
		}, lindung.EUNAUTHENTICATED, "empty role"},
		{"roles not an array", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { c["roles"] = "admin" }), nil)
		}, lindung.EUNAUTHENTICATED, "token claim roles has the wrong type"},
		{"exp not a number", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { c["exp"] = "tomorrow" }), nil)
		}, lindung.EUNAUTHENTICATED, "token is malformed"},
		{"unknown partner type", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, with(baseClaims(), func(c jwt.MapClaims) { c["partner_type"] = "CARTEL" }), nil)
		}, lindung.EUNAUTHENTICATED, "partner_type claim is not one of"},
		{"crit header", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, testSecret, baseClaims(), map[string]any{"crit": []string{"exp"}})
		}, lindung.EUNAUTHENTICATED, "critical"},
		{"empty", func(*testing.T) string { return "" }, lindung.EUNAUTHENTICATED, "token is empty"},
		{"one segment", func(*testing.T) string { return "not-a-jwt-at-all" }, lindung.EUNAUTHENTICATED, "token is malformed"},
		{"four segments", func(*testing.T) string { return "a.b.c.d" }, lindung.EUNAUTHENTICATED, "token is malformed"},
		{"header not base64", func(*testing.T) string { return "!!!.e30.sig" }, lindung.EUNAUTHENTICATED, "token is malformed"},
		{"header not json", func(*testing.T) string { return "bm90LWpzb24.e30.sig" }, lindung.EUNAUTHENTICATED, "token is malformed"},
		{"header without alg", func(*testing.T) string { return "e30.e30.sig" }, lindung.EUNAUTHENTICATED, "missing the alg"},
		{"payload not base64", func(t *testing.T) string {
			s := sign(t, jwt.SigningMethodHS256, testSecret, baseClaims(), nil)
			p := strings.Split(s, ".")
			return p[0] + ".!!!." + p[2]
		}, lindung.EUNAUTHENTICATED, "token is malformed"},
	}
	v := NewHS256Verifier(testSecret)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.token(t)
			c, err := v.Verify(context.Background(), tok)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c.Subject != "aisyah" || c.Partner != "jtk-selangor" || len(c.Roles) != 1 || c.Roles[0] != "case_officer" || c.ID != "tok-1" || c.ExpiresAt.IsZero() {
					t.Errorf("claims = %+v", c)
				}
				return
			}
			if c != nil {
				t.Errorf("got claims %+v with an error", c)
			}
			checkErr(t, err, tok, tt.code, tt.msg)
		})
	}
}

func TestHS256VerifierShortSecretFailsClosed(t *testing.T) {
	short := []byte("short")
	tok := sign(t, jwt.SigningMethodHS256, short, baseClaims(), nil)
	_, err := NewHS256Verifier(short).Verify(context.Background(), tok)
	checkErr(t, err, tok, lindung.EINTERNAL, "internal error")
}

func TestIssuerRoundTrip(t *testing.T) {
	iss := NewIssuer(testSecret)
	in := Claims{Subject: "hafiz", Partner: "tenaganita", PartnerType: lindung.PartnerNGO, Roles: []string{"caseworker", "reviewer"}}
	tok, err := iss.Issue(in, 15*time.Minute)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	got, err := NewHS256Verifier(testSecret).Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Subject != in.Subject || got.Partner != in.Partner || got.PartnerType != in.PartnerType ||
		strings.Join(got.Roles, ",") != "caseworker,reviewer" {
		t.Errorf("claims = %+v, want %+v", got, in)
	}
	if d := time.Until(got.ExpiresAt); d < 14*time.Minute || d > 15*time.Minute+time.Second {
		t.Errorf("expires in %v, want about 15m", d)
	}
	if len(got.ID) != 32 {
		t.Errorf("jti = %q, want 32 hex chars", got.ID)
	}
	tok2, _ := iss.Issue(in, 15*time.Minute)
	got2, err := NewHS256Verifier(testSecret).Verify(context.Background(), tok2)
	if err != nil {
		t.Fatal(err)
	}
	if got2.ID == got.ID {
		t.Errorf("two tokens share jti %q", got.ID)
	}

	// The token really is HS256 with iat set.
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["alg"] != "HS256" {
		t.Errorf("alg = %v", parsed.Header["alg"])
	}
	if _, ok := parsed.Claims.(jwt.MapClaims)["iat"]; !ok {
		t.Error("iat not set")
	}

	// A caller-chosen id is kept; another secret does not verify.
	in.ID = "fixed-id"
	tok3, _ := iss.Issue(in, time.Minute)
	if got3, err := NewHS256Verifier(testSecret).Verify(context.Background(), tok3); err != nil || got3.ID != "fixed-id" {
		t.Errorf("fixed id: %+v, %v", got3, err)
	}
	_, err = NewHS256Verifier(otherSecret).Verify(context.Background(), tok3)
	checkErr(t, err, tok3, lindung.EUNAUTHENTICATED, "token signature is not valid")
}

func TestIssuerRefuses(t *testing.T) {
	ok := Claims{Subject: "a", Partner: "p", Roles: []string{"r"}}
	tests := []struct {
		name   string
		secret []byte
		c      Claims
		ttl    time.Duration
		code   lindung.ErrorCode
		field  string
	}{
		{"short secret", []byte("short"), ok, time.Minute, lindung.EINTERNAL, ""},
		{"zero ttl", testSecret, ok, 0, lindung.EINVALID, "ttl"},
		{"no subject", testSecret, Claims{Partner: "p", Roles: []string{"r"}}, time.Minute, lindung.EINVALID, "subject"},
		{"no partner", testSecret, Claims{Subject: "a", Roles: []string{"r"}}, time.Minute, lindung.EINVALID, "partner"},
		{"no roles", testSecret, Claims{Subject: "a", Partner: "p"}, time.Minute, lindung.EINVALID, "roles"},
		{"blank role", testSecret, Claims{Subject: "a", Partner: "p", Roles: []string{""}}, time.Minute, lindung.EINVALID, "roles"},
		{"bad partner type", testSecret, Claims{Subject: "a", Partner: "p", Roles: []string{"r"}, PartnerType: "X"}, time.Minute, lindung.EINVALID, "partnerType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := NewIssuer(tt.secret).Issue(tt.c, tt.ttl)
			if tok != "" {
				t.Errorf("got token with error")
			}
			var le *lindung.Error
			if !errors.As(err, &le) || le.Code != tt.code || le.Field != tt.field {
				t.Errorf("err = %#v, want code %s field %q", err, tt.code, tt.field)
			}
		})
	}
}
