package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/internal/oidctest"
)

// TestOpenIDProvider: a user of each partner type signs in through the provider and the hub reads the
// same claims it reads from `lindung token`, from the claim names it is configured with (here, Keycloak's
// shape: the partner in a user attribute, the roles under resource_access.<client>.roles); the provider's
// key rotation is picked up without a new verifier; a token of the same provider for another audience is
// refused.
func TestOpenIDProvider(t *testing.T) {
	p := oidctest.New(t)
	// The hub finds the key set through discovery, as the deployment guide's LINDUNG_JWKS_URL says to.
	res, err := http.Get(p.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc oidc.DiscoveryConfiguration
	json.NewDecoder(res.Body).Decode(&disc)
	res.Body.Close()
	if disc.Issuer != p.URL || disc.JwksURI != p.KeysURL() || !slices.Contains(disc.GrantTypesSupported, oidc.GrantTypeClientCredentials) {
		t.Fatalf("the provider's discovery document: %+v", disc)
	}
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
		return v.Verify(ctx, p.Issue(t, user, "lindung-hub", map[string]any{
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
	p.Rotate(t)
	clockMu.Lock()
	clock = clock.Add(time.Minute)
	clockMu.Unlock()
	if _, err := signIn(users[0].user, users[0].partner, users[0].role); err != nil {
		t.Fatalf("after the provider's key rotation: %v", err)
	}

	// Another audience of the same provider: refused, naming the audience.
	_, err = v.Verify(ctx, p.Issue(t, users[0].user, "payroll-app", map[string]any{
		"lindung_partner": "kpwkm", "resource_access": map[string]any{"lindung-hub": map[string]any{"roles": []string{"protection_officer"}}}}))
	if err == nil || !strings.Contains(err.Error(), "token audience (aud) does not include the hub") {
		t.Fatalf("token for another audience: %v", err)
	}
	// A token without the configured partner claim names it.
	_, err = v.Verify(ctx, p.Issue(t, users[0].user, "lindung-hub", map[string]any{"partner": "kpwkm"}))
	if err == nil || !strings.Contains(err.Error(), "token is missing the lindung_partner claim") {
		t.Fatalf("token without the partner claim: %v", err)
	}
}
