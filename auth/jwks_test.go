package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lindung/lindung"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PublicKey) map[string]any {
	raw, err := k.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	return map[string]any{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:])}
}

// jwksServer serves a mutable key set and counts fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []map[string]any
	status  int
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T, keys ...map[string]any) *jwksServer {
	s := &jwksServer{keys: keys, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.status != http.StatusOK {
			w.WriteHeader(s.status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(status int, keys ...map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.keys = status, keys
}

// fakeClock is a settable time source for the refetch throttle.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// withClock is a test-only option; the token times stay real, only the key cache sees the fake clock.
func withClock(c *fakeClock) Option {
	return func(o *options) {
		o.keysNow = c.now
	}
}

// jwksVerifier is NewJWKSVerifier accepting the hub's own issuer and audience, which baseClaims carry.
func jwksVerifier(t *testing.T, url string, client *http.Client, opts ...Option) Verifier {
	t.Helper()
	v, err := NewJWKSVerifier(url, client, append([]Option{WithIssuer(HubIssuer), WithAudience(HubAudience)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestJWKSNeedsIssuerAndAudience: a JWKS verifier without both checks is not built at all.
func TestJWKSNeedsIssuerAndAudience(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithIssuer("https://idp.example.my")}, {WithAudience("lindung")},
		{WithIssuer("https://idp.example.my"), WithAudience("")}} {
		if _, err := NewJWKSVerifier("https://idp.example.my/jwks", nil, opts...); err == nil ||
			!strings.Contains(err.Error(), "issuer (iss) and audience (aud)") {
			t.Errorf("NewJWKSVerifier with %d options: %v, want an error naming iss and aud", len(opts), err)
		}
	}
}

func standardKeys() []map[string]any {
	return []map[string]any{
		rsaJWK("rsa1", &rsaKey().PublicKey),
		ecJWK("ec1", &ecKey().PublicKey),
		{"kty": "oct", "kid": "sym", "k": b64([]byte("ignored"))},                                            // never used
		{"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},                                 // encryption key, skipped
		{"kty": "EC", "kid": "p384", "crv": "P-384", "x": b64(make([]byte, 48)), "y": b64(make([]byte, 48))}, // other curve, skipped
	}
}

func TestJWKSVerifier(t *testing.T) {
	srv := newJWKSServer(t, standardKeys()...)
	rsaPubDER, err := x509.MarshalPKIXPublicKey(&rsaKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaPubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaPubDER})
	ecPubDER, _ := x509.MarshalPKIXPublicKey(&ecKey().PublicKey)

	tests := []struct {
		name  string
		token func(t *testing.T) string
		code  lindung.ErrorCode
		msg   string
	}{
		{"valid RS256", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rsaKey(), baseClaims(), map[string]any{"kid": "rsa1"})
		}, "", ""},
		{"valid ES256", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, ecKey(), baseClaims(), map[string]any{"kid": "ec1"})
		}, "", ""},
		{"expired RS256", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rsaKey(), with(baseClaims(), func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), map[string]any{"kid": "rsa1"})
		}, lindung.EUNAUTHENTICATED, "token expired"},
		{"RS256 signed by another key", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rsaKey2(), baseClaims(), map[string]any{"kid": "rsa1"})
		}, lindung.EUNAUTHENTICATED, "token signature is not valid"},
		{"ES256 signed by another key", func(t *testing.T) string {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			return sign(t, jwt.SigningMethodES256, k, baseClaims(), map[string]any{"kid": "ec1"})
		}, lindung.EUNAUTHENTICATED, "token signature is not valid"},
		{"alg confusion: HS256 keyed with the RSA public key PEM", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, rsaPubPEM, baseClaims(), map[string]any{"kid": "rsa1"})
		}, lindung.EUNAUTHENTICATED, "unsupported signing algorithm: the hub accepts RS256 or ES256"},
		{"alg confusion: HS256 keyed with the RSA public key DER", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, rsaPubDER, baseClaims(), map[string]any{"kid": "rsa1"})
		}, lindung.EUNAUTHENTICATED, "unsupported signing algorithm"},
		{"alg confusion: HS256 keyed with the EC public key", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, ecPubDER, baseClaims(), map[string]any{"kid": "ec1"})
		}, lindung.EUNAUTHENTICATED, "unsupported signing algorithm"},
		{"alg none", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, baseClaims(), map[string]any{"kid": "rsa1"})
		}, lindung.EUNAUTHENTICATED, "unsupported signing algorithm"},
		{"RS384", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS384, rsaKey(), baseClaims(), map[string]any{"kid": "rsa1"})
		}, lindung.EUNAUTHENTICATED, "unsupported signing algorithm"},
		{"PS256", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodPS256, rsaKey(), baseClaims(), map[string]any{"kid": "rsa1"})
		}, lindung.EUNAUTHENTICATED, "unsupported signing algorithm"},
		{"ES256 token naming the RSA key", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, ecKey(), baseClaims(), map[string]any{"kid": "rsa1"})
		}, lindung.EUNAUTHENTICATED, "does not match its algorithm"},
		{"RS256 token naming the EC key", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rsaKey(), baseClaims(), map[string]any{"kid": "ec1"})
		}, lindung.EUNAUTHENTICATED, "does not match its algorithm"},
		{"no kid", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rsaKey(), baseClaims(), nil)
		}, lindung.EUNAUTHENTICATED, "missing the kid"},
		{"kid of a skipped encryption key", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rsaKey(), baseClaims(), map[string]any{"kid": "enc"})
		}, lindung.EUNAUTHENTICATED, "not published by the identity provider"},
		{"missing partner", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodES256, ecKey(), with(baseClaims(), func(c jwt.MapClaims) { delete(c, "partner") }), map[string]any{"kid": "ec1"})
		}, lindung.EUNAUTHENTICATED, "token is missing the partner claim"},
		{"empty roles", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rsaKey(), with(baseClaims(), func(c jwt.MapClaims) { c["roles"] = []string{} }), map[string]any{"kid": "rsa1"})
		}, lindung.EUNAUTHENTICATED, "token roles claim is empty"},
		{"missing exp", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, rsaKey(), with(baseClaims(), func(c jwt.MapClaims) { delete(c, "exp") }), map[string]any{"kid": "rsa1"})
		}, lindung.EUNAUTHENTICATED, "token is missing the exp claim"},
	}
	v := jwksVerifier(t, srv.URL, srv.Client())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.token(t)
			c, err := v.Verify(context.Background(), tok)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c.Subject != "aisyah" || c.Partner != "jtk-selangor" || c.PartnerType != lindung.PartnerGovernment || c.Roles[0] != "case_officer" {
					t.Errorf("claims = %+v", c)
				}
				return
			}
			checkErr(t, err, tok, tt.code, tt.msg)
		})
	}
}

func TestJWKSUnknownKidRefetchThrottled(t *testing.T) {
	srv := newJWKSServer(t, rsaJWK("rsa1", &rsaKey().PublicKey))
	clock := &fakeClock{t: time.Unix(0, 0)}
	v := jwksVerifier(t, srv.URL, srv.Client(), withClock(clock))
	ctx := context.Background()

	good := sign(t, jwt.SigningMethodRS256, rsaKey(), baseClaims(), map[string]any{"kid": "rsa1"})
	if _, err := v.Verify(ctx, good); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if _, err := v.Verify(ctx, good); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d after two verifications with a known kid, want 1", n)
	}

	// An unknown kid refetches once, then is throttled.
	rotated := sign(t, jwt.SigningMethodRS256, rsaKey2(), baseClaims(), map[string]any{"kid": "rsa2"})
	clock.advance(jwksMinRefetch + time.Second)
	for i := 0; i < 5; i++ {
		_, err := v.Verify(ctx, rotated)
		checkErr(t, err, rotated, lindung.EUNAUTHENTICATED, "not published by the identity provider")
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d after five unknown-kid tokens, want 2", n)
	}

	// The provider rotates in rsa2; within the throttle window it is not seen yet, after it it is.
	srv.set(http.StatusOK, rsaJWK("rsa1", &rsaKey().PublicKey), rsaJWK("rsa2", &rsaKey2().PublicKey))
	clock.advance(10 * time.Second)
	_, err := v.Verify(ctx, rotated)
	checkErr(t, err, rotated, lindung.EUNAUTHENTICATED, "not published")
	clock.advance(jwksMinRefetch)
	if _, err := v.Verify(ctx, rotated); err != nil {
		t.Fatalf("Verify after rotation: %v", err)
	}
	if _, err := v.Verify(ctx, good); err != nil {
		t.Fatalf("Verify old key after rotation: %v", err)
	}
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("fetches = %d, want 3", n)
	}

	// After jwksMaxAge the set is refreshed; a withdrawn key stops working.
	srv.set(http.StatusOK, rsaJWK("rsa2", &rsaKey2().PublicKey))
	clock.advance(jwksMaxAge)
	_, err = v.Verify(ctx, good)
	checkErr(t, err, good, lindung.EUNAUTHENTICATED, "not published")
	if _, err := v.Verify(ctx, rotated); err != nil {
		t.Fatalf("Verify current key: %v", err)
	}

	// When a refresh fails, stale keys keep working.
	srv.set(http.StatusInternalServerError)
	clock.advance(jwksMaxAge)
	if _, err := v.Verify(ctx, rotated); err != nil {
		t.Fatalf("Verify with stale keys while provider is down: %v", err)
	}
}

func TestJWKSUnavailable(t *testing.T) {
	tok := sign(t, jwt.SigningMethodRS256, rsaKey(), baseClaims(), map[string]any{"kid": "rsa1"})
	ctx := context.Background()

	t.Run("server down", func(t *testing.T) {
		srv := newJWKSServer(t)
		url := srv.URL
		srv.Close()
		_, err := jwksVerifier(t, url, nil).Verify(ctx, tok)
		checkErr(t, err, tok, lindung.EUNAVAILABLE, "identity provider keys unavailable")
	})
	for _, tc := range []struct {
		name   string
		status int
		keys   []map[string]any
	}{
		{"status 500", http.StatusInternalServerError, nil},
		{"status 404", http.StatusNotFound, nil},
		{"no usable keys", http.StatusOK, []map[string]any{{"kty": "oct", "kid": "x", "k": "AAAA"}}},
		{"RSA key too small", http.StatusOK, func() []map[string]any {
			k, _ := rsa.GenerateKey(rand.Reader, 1024)
			return []map[string]any{rsaJWK("rsa1", &k.PublicKey)}
		}()},
		{"EC point not on the curve", http.StatusOK, []map[string]any{{"kty": "EC", "kid": "rsa1", "crv": "P-256", "x": b64(make([]byte, 32)), "y": b64(append(make([]byte, 31), 1))}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newJWKSServer(t, tc.keys...)
			srv.set(tc.status, tc.keys...)
			clock := &fakeClock{t: time.Unix(0, 0)}
			v := jwksVerifier(t, srv.URL, srv.Client(), withClock(clock))
			for i := 0; i < 3; i++ {
				_, err := v.Verify(ctx, tok)
				checkErr(t, err, tok, lindung.EUNAVAILABLE, "identity provider keys unavailable")
			}
			if n := srv.fetches.Load(); n != 1 {
				t.Errorf("fetches = %d within the throttle window, want 1", n)
			}
			// Once the provider recovers, the next attempt after the window succeeds.
			srv.set(http.StatusOK, rsaJWK("rsa1", &rsaKey().PublicKey))
			clock.advance(jwksMinRefetch + time.Second)
			if _, err := v.Verify(ctx, tok); err != nil {
				t.Errorf("Verify after recovery: %v", err)
			}
		})
	}

	t.Run("malformed token does not fetch", func(t *testing.T) {
		srv := newJWKSServer(t)
		_, err := jwksVerifier(t, srv.URL, srv.Client()).Verify(ctx, "a.b.c")
		checkErr(t, err, "", lindung.EUNAUTHENTICATED, "token is malformed")
		if n := srv.fetches.Load(); n != 0 {
			t.Errorf("fetches = %d, want 0", n)
		}
	})
}

func TestJWKSIssuerAudience(t *testing.T) {
	srv := newJWKSServer(t, rsaJWK("rsa1", &rsaKey().PublicKey))
	v, err := NewJWKSVerifier(srv.URL, srv.Client(), WithIssuer("https://idp.example.my"), WithAudience("lindung"))
	if err != nil {
		t.Fatal(err)
	}
	kid := map[string]any{"kid": "rsa1"}
	tests := []struct {
		name string
		edit func(jwt.MapClaims)
		msg  string
	}{
		{"ok", func(c jwt.MapClaims) { c["iss"] = "https://idp.example.my"; c["aud"] = []string{"other", "lindung"} }, ""},
		{"ok aud string", func(c jwt.MapClaims) { c["iss"] = "https://idp.example.my"; c["aud"] = "lindung" }, ""},
		{"missing iss", func(c jwt.MapClaims) { delete(c, "iss"); c["aud"] = "lindung" }, "token is missing the iss claim"},
		{"wrong iss", func(c jwt.MapClaims) { c["iss"] = "https://evil.example"; c["aud"] = "lindung" }, "token issuer (iss) is not accepted"},
		{"missing aud", func(c jwt.MapClaims) { c["iss"] = "https://idp.example.my"; delete(c, "aud") }, "token is missing the aud claim"},
		{"the hub's own iss and aud", func(jwt.MapClaims) {}, "token issuer (iss) is not accepted"},
		{"wrong aud", func(c jwt.MapClaims) { c["iss"] = "https://idp.example.my"; c["aud"] = "payroll" }, "token audience (aud) does not include the hub"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := sign(t, jwt.SigningMethodRS256, rsaKey(), with(baseClaims(), tt.edit), kid)
			_, err := v.Verify(context.Background(), tok)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			checkErr(t, err, tok, lindung.EUNAUTHENTICATED, tt.msg)
		})
	}
}

func TestJWKSConcurrent(t *testing.T) {
	srv := newJWKSServer(t, standardKeys()...)
	v := jwksVerifier(t, srv.URL, srv.Client())
	rs := sign(t, jwt.SigningMethodRS256, rsaKey(), baseClaims(), map[string]any{"kid": "rsa1"})
	es := sign(t, jwt.SigningMethodES256, ecKey(), baseClaims(), map[string]any{"kid": "ec1"})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(tok string) {
			defer wg.Done()
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Errorf("Verify: %v", err)
			}
		}(map[bool]string{true: rs, false: es}[i%2 == 0])
	}
	wg.Wait()
	if n := srv.fetches.Load(); n != 1 {
		t.Errorf("fetches = %d for concurrent first use, want 1", n)
	}
}
