// Package oidctest is an OpenID Provider for tests: zitadel/oidc's op server (op.NewProvider) over an
// in-memory storage. It serves its own discovery document, key set and token endpoint; a test signs a user
// in through the client credentials grant of a service account registered for that user (as Keycloak's
// service-account users are), and the provider's token endpoint issues a JWT access token (RS256, the
// key's id in the header) for the account's audience, carrying the account's claims. It rotates its
// signing key on demand, publishing the new key beside the old ones as providers do. Tests of the hub's
// identity provider support and of the deployment guide sign users in through it.
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Provider is a running OpenID Provider; its URL is the issuer.
type Provider struct {
	*httptest.Server
	storage *storage
}

// New starts a provider with one signing key; it stops when the test ends.
func New(t testing.TB) *Provider {
	t.Helper()
	s := &storage{accounts: map[string]*account{}}
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	config := &op.Config{AuthMethodPost: true, SupportedScopes: []string{oidc.ScopeOpenID}}
	if _, err := rand.Read(config.CryptoKey[:]); err != nil {
		t.Fatal(err)
	}
	provider, err := op.NewProvider(config, s, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = provider
	srv.Start()
	t.Cleanup(srv.Close)
	p := &Provider{Server: srv, storage: s}
	if p.URL != issuer {
		t.Fatalf("the provider serves at %s, not at its issuer %s", p.URL, issuer)
	}
	p.Rotate(t)
	return p
}

// KeysURL is the provider's JSON Web Key Set, as its discovery document names it.
func (p *Provider) KeysURL() string { return p.URL + op.DefaultEndpoints.JwksURI.Relative() }

// Rotate makes a new signing key and publishes it beside the old ones.
func (p *Provider) Rotate(t testing.TB) {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := p.storage
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, &key{id: fmt.Sprintf("key-%d", len(s.keys)+1), priv: priv})
}

// Issue signs subject in for audience: it registers a service account holding the private claims given,
// and asks the provider's token endpoint for an access token with the account's client credentials. The
// token is valid for an hour.
func (p *Provider) Issue(t testing.TB, subject, audience string, private map[string]any) string {
	t.Helper()
	secret := rand.Text()
	s := p.storage
	s.mu.Lock()
	id := fmt.Sprintf("sa-%d", len(s.accounts)+1)
	s.accounts[id] = &account{id: id, secret: secret, subject: subject, audience: audience, claims: private}
	s.mu.Unlock()

	tokenURL := p.discover(t).TokenEndpoint
	form := url.Values{"grant_type": {string(oidc.GrantTypeClientCredentials)}, "scope": {oidc.ScopeOpenID}}
	req, err := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	res, err := p.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok oidc.AccessTokenResponse
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("the provider's token endpoint answered HTTP %d (%v): %+v", res.StatusCode, err, tok)
	}
	return tok.AccessToken
}

// discover reads the provider's discovery document, as a client would.
func (p *Provider) discover(t testing.TB) *oidc.DiscoveryConfiguration {
	t.Helper()
	res, err := p.Client().Get(p.URL + oidc.DiscoveryEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var d oidc.DiscoveryConfiguration
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil || d.TokenEndpoint == "" {
		t.Fatalf("the provider's discovery document: %v %+v", err, d)
	}
	return &d
}

// key is a signing key: op.SigningKey with its private half, op.Key (through public) with its public one.
type key struct {
	id   string
	priv *rsa.PrivateKey
}

func (k *key) ID() string                                  { return k.id }
func (k *key) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *key) Key() any                                    { return k.priv }

type publicKey struct{ *key }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.priv.PublicKey }

// account is a service account: an op.Client of the client credentials grant whose tokens name subject,
// for audience, with claims.
type account struct {
	id, secret        string
	subject, audience string
	claims            map[string]any
}

func (a *account) GetID() string                       { return a.id }
func (a *account) RedirectURIs() []string              { return nil }
func (a *account) PostLogoutRedirectURIs() []string    { return nil }
func (a *account) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (a *account) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (a *account) ResponseTypes() []oidc.ResponseType  { return nil }
func (a *account) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeClientCredentials}
}
func (a *account) LoginURL(string) string               { return "" }
func (a *account) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (a *account) IDTokenLifetime() time.Duration       { return time.Hour }
func (a *account) DevMode() bool                        { return false }
func (a *account) IsScopeAllowed(string) bool           { return false }
func (a *account) IDTokenUserinfoClaimsAssertion() bool { return false }
func (a *account) ClockSkew() time.Duration             { return 0 }
func (a *account) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (a *account) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// tokenRequest is what a client credentials grant asks for: a token naming the account's subject.
type tokenRequest struct {
	account *account
	scopes  []string
}

func (r *tokenRequest) GetSubject() string    { return r.account.subject }
func (r *tokenRequest) GetAudience() []string { return []string{r.account.audience} }
func (r *tokenRequest) GetScopes() []string   { return r.scopes }

var errUnsupported = errors.New("this test provider signs in service accounts only (client credentials)")

// storage is op.Storage and op.ClientCredentialsStorage in memory.
type storage struct {
	mu       sync.Mutex
	keys     []*key // the last one signs
	accounts map[string]*account
	tokens   int
}

func (s *storage) lookup(id, secret string) (*account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[id]
	if !ok || a.secret != secret {
		return nil, errors.New("wrong client id or secret")
	}
	return a, nil
}

// ClientCredentials authenticates a service account.
func (s *storage) ClientCredentials(_ context.Context, clientID, clientSecret string) (op.Client, error) {
	return s.lookup(clientID, clientSecret)
}

// ClientCredentialsTokenRequest is the token the account asks for.
func (s *storage) ClientCredentialsTokenRequest(_ context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[clientID]
	if !ok {
		return nil, errors.New("no such client")
	}
	return &tokenRequest{account: a, scopes: scopes}, nil
}

// GetPrivateClaimsFromRequest puts the account's claims into its access token.
func (s *storage) GetPrivateClaimsFromRequest(_ context.Context, request op.TokenRequest, _ []string) (map[string]any, error) {
	if r, ok := request.(*tokenRequest); ok {
		return r.account.claims, nil
	}
	return nil, nil
}

func (s *storage) CreateAccessToken(context.Context, op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens++
	return fmt.Sprintf("token-%d", s.tokens), time.Now().Add(time.Hour), nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1], nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]op.Key, len(s.keys))
	for i, k := range s.keys {
		out[i] = publicKey{k}
	}
	return out, nil
}

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[clientID]; ok {
		return a, nil
	}
	return nil, errors.New("no such client")
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, clientSecret string) error {
	_, err := s.lookup(clientID, clientSecret)
	return err
}

func (s *storage) Health(context.Context) error { return nil }

// The flows below (authorization code, refresh, JWT profile, introspection) are not used by the tests.

func (s *storage) CreateAuthRequest(context.Context, *oidc.AuthRequest, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) AuthRequestByID(context.Context, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) AuthRequestByCode(context.Context, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) SaveAuthCode(context.Context, string, string) error { return errUnsupported }
func (s *storage) DeleteAuthRequest(context.Context, string) error    { return errUnsupported }
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errUnsupported
}
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errUnsupported
}
func (s *storage) TerminateSession(context.Context, string, string) error { return errUnsupported }
func (s *storage) RevokeToken(context.Context, string, string, string) *oidc.Error {
	return oidc.ErrUnsupportedGrantType()
}
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}
func (s *storage) SetUserinfoFromToken(context.Context, *oidc.UserInfo, string, string, string) error {
	return errUnsupported
}
func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errUnsupported
}
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errUnsupported
}
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errUnsupported
}
