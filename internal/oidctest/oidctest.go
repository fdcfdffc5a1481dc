// Package oidctest is an OpenID Provider for tests, built from zitadel/oidc's op package: its discovery
// document and key set endpoints, and tokens signed as op signs them (go-jose, RS256, the key's id in the
// header). It rotates its signing key on demand, publishing the new key beside the old ones as providers
// do. Tests of the hub's identity provider support and of the deployment guide sign users in through it.
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/crypto"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Provider is a running OpenID Provider; its URL is the issuer.
type Provider struct {
	*httptest.Server
	mu   sync.Mutex
	keys []*key // the last one signs
}

type key struct {
	id   string
	priv *rsa.PrivateKey
}

func (k *key) ID() string                         { return k.id }
func (k *key) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *key) Use() string                        { return "sig" }
func (k *key) Key() any                           { return &k.priv.PublicKey }

// KeySet is op.KeyProvider: every published key.
func (p *Provider) KeySet(context.Context) ([]op.Key, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]op.Key, len(p.keys))
	for i, k := range p.keys {
		out[i] = k
	}
	return out, nil
}

// New starts a provider with one signing key; it stops when the test ends.
func New(t testing.TB) *Provider {
	t.Helper()
	p := &Provider{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		op.Discover(w, &oidc.DiscoveryConfiguration{Issuer: p.URL, JwksURI: p.KeysURL(),
			IDTokenSigningAlgValuesSupported: []string{"RS256"}, ResponseTypesSupported: []string{"code"},
			SubjectTypesSupported: []string{"public"}})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) { op.Keys(w, r, p) })
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	p.Rotate(t)
	return p
}

// KeysURL is the provider's JSON Web Key Set, as its discovery document names it.
func (p *Provider) KeysURL() string { return p.URL + "/keys" }

// Rotate makes a new signing key and publishes it beside the old ones.
func (p *Provider) Rotate(t testing.TB) {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append(p.keys, &key{id: fmt.Sprintf("key-%d", len(p.keys)+1), priv: priv})
}

// Issue signs an access token for subject and audience, valid for an hour, with the private claims given.
func (p *Provider) Issue(t testing.TB, subject, audience string, private map[string]any) string {
	t.Helper()
	p.mu.Lock()
	k := p.keys[len(p.keys)-1]
	p.mu.Unlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.id}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	c := oidc.NewAccessTokenClaims(p.URL, subject, []string{audience}, time.Now().Add(time.Hour), "jti-"+subject, audience, 0)
	c.Claims = private
	tok, err := crypto.Sign(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
