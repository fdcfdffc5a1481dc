package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/crypto"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/lindung/lindung"
)

// provider is an OpenID Provider built from zitadel/oidc's op package: its discovery document and key
// set endpoints, and tokens signed the way op signs them (go-jose, RS256, kid in the header). It rotates
// its signing key on demand, publishing the new key and keeping the old one, as providers do.
type provider struct {
	*httptest.Server
	mu   sync.Mutex
	keys []*providerKey // the last is the one that signs
}

type providerKey struct {
	id   string
	priv *rsa.PrivateKey
}

func (k *providerKey) ID() string                         { return k.id }
func (k *providerKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *providerKey) Use() string                        { return "sig" }
func (k *providerKey) Key() any                           { return &k.priv.PublicKey }

// KeySet is op.KeyProvider: every published key.
func (p *provider) KeySet(context.Context) ([]op.Key, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]op.Key, len(p.keys))
	for i, k := range p.keys {
		out[i] = k
	}
	return out, nil
}

func newProvider(t *testing.T) *provider {
	t.Helper()
	p := &provider{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		op.Discover(w, &oidc.DiscoveryConfiguration{Issuer: p.URL, JwksURI: p.URL + "/keys",
			IDTokenSigningAlgValuesSupported: []string{"RS256"}})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) { op.Keys(w, r, p) })
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	p.rotate(t)
	return p
}

// rotate makes a new signing key and publishes it beside the old ones.
func (p *provider) rotate(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append(p.keys, &providerKey{id: "key-" + string(rune('a'+len(p.keys))), priv: priv})
}

// issue signs an access token for subject and audience, with the private claims given.
func (p *provider) issue(t *testing.T, subject, audience string, private map[string]any) string {
	t.Helper()
	p.mu.Lock()
	k := p.keys[len(p.keys)-1]
	p.mu.Unlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.id}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	c := oidc.NewAccessTokenClaims(p.URL, subject, []string{audience}, time.Now().Add(time.Hour), "jti-"+subject, "lindung-hub", 0)
	c.Claims = private
	tok, err := crypto.Sign(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestOpenIDProvider: a user of each partner type signs in through the provider and the hub reads the
// same claims it reads from `lindung token`, from the claim names it is configured with (here, Keycloak's
// shape: the partner in a user attribute, the roles under resource_access.<client>.roles); the provider's
// key rotation is picked up without a new verifier; a token of the same provider for another audience is
// refused.
func TestOpenIDProvider(t *testing.T) {
	p := newProvider(t)
	// The hub finds the key set through discovery, as the deployment guide's LINDUNG_JWKS_URL says to.
	res, err := http.Get(p.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc oidc.DiscoveryConfiguration
	json.NewDecoder(res.Body).Decode(&disc)
	res.Body.Close()
	clock := time.Now()
	var clockMu sync.Mutex
	v, err := NewJWKSVerifier(disc.JwksURI, nil, WithIssuer(disc.Issuer), WithAudience("lindung-hub"),
		WithClaimNames(ClaimNames{Partner: "lindung_partner", Roles: "resource_access.lindung-hub.roles"}),
		func(o *options) {
			o.keysNow = func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
		})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	signIn := func(user, partner, role string) (*Claims, error) {
		return v.Verify(ctx, p.issue(t, user, "lindung-hub", map[string]any{
			"lindung_partner": partner,
			"resource_access": map[string]any{"lindung-hub": map[string]any{"roles": []string{role}}, "account": map[string]any{"roles": []string{"manage-account"}}},
		}))
	}
	users := []struct {
		user, partner, role string
		kind                lindung.PartnerType
	}{
		{"protection_officer@kpwkm", "kpwkm", "protection_officer", lindung.PartnerGovernment},
		{"ngo_caseworker@tenaganita", "tenaganita", "ngo_caseworker", lindung.PartnerNGO},
		{"employer_hr@kilang-elektronik", "kilang-elektronik", "employer_hr", lindung.PartnerPrivate},
	}
	for _, u := range users {
		c, err := signIn(u.user, u.partner, u.role)
		if err != nil {
			t.Fatalf("%s (%s): %v", u.user, u.kind, err)
		}
		if c.Subject != u.user || c.Partner != u.partner || len(c.Roles) != 1 || c.Roles[0] != u.role {
			t.Fatalf("%s: claims %+v", u.user, c)
		}
	}

	// Rotation: the provider signs with a new key; the hub fetches it on the unknown kid (once the
	// refetch throttle has passed), without being restarted.
	p.rotate(t)
	clockMu.Lock()
	clock = clock.Add(time.Minute)
	clockMu.Unlock()
	if _, err := signIn(users[0].user, users[0].partner, users[0].role); err != nil {
		t.Fatalf("after the provider's key rotation: %v", err)
	}

	// Another audience of the same provider: refused, naming the audience.
	_, err = v.Verify(ctx, p.issue(t, users[0].user, "payroll-app", map[string]any{
		"lindung_partner": "kpwkm", "resource_access": map[string]any{"lindung-hub": map[string]any{"roles": []string{"protection_officer"}}}}))
	if err == nil || !strings.Contains(err.Error(), "token audience (aud) does not include the hub") {
		t.Fatalf("token for another audience: %v", err)
	}
	// A token without the configured partner claim names it.
	_, err = v.Verify(ctx, p.issue(t, users[0].user, "lindung-hub", map[string]any{"partner": "kpwkm"}))
	if err == nil || !strings.Contains(err.Error(), "token is missing the lindung_partner claim") {
		t.Fatalf("token without the partner claim: %v", err)
	}
}
