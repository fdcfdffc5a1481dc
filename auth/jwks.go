package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lindung/lindung"
)

const (
	// jwksMinRefetch bounds how often an unknown kid (or a failed fetch) triggers a new fetch, so a flood
	// of tokens with made-up key ids cannot turn the hub into a load generator against the provider.
	jwksMinRefetch = 30 * time.Second
	// jwksMaxAge is how long fetched keys are trusted before they are refreshed, so that a key the
	// provider withdraws stops being accepted within this time.
	jwksMaxAge = time.Hour
	// jwksFetchTimeout bounds one fetch of the key set.
	jwksFetchTimeout = 10 * time.Second
	// jwksMaxBody bounds the size of the key set document.
	jwksMaxBody = 1 << 20
	// minRSABits is the smallest RSA modulus accepted from a key set.
	minRSABits = 2048
)

// NewJWKSVerifier returns a Verifier for RS256 and ES256 tokens signed by an identity provider that
// publishes its public keys as a JSON Web Key Set at url. The key is chosen by the token's kid header and
// must match the algorithm (RSA for RS256, EC P-256 for ES256); HMAC and none are refused, so the public keys
// can never be used as a shared secret.
//
// Keys are cached. An unknown kid triggers a refetch at most once per 30 seconds, which picks up key
// rotation without letting bogus tokens hammer the provider; keys older than an hour are refreshed, and the
// cached ones are kept if that refresh fails. When no keys can be fetched, Verify returns UNAVAILABLE
// "identity provider keys unavailable" rather than UNAUTHENTICATED, because the caller's token may be fine.
//
// client may be nil, in which case a client with a 10 second timeout is used. opts must name the issuer
// (WithIssuer) and the audience (WithAudience) the hub accepts: an identity provider signs tokens for many
// tenants and services, and without both checks any of them would be a token for the hub. Without them
// NewJWKSVerifier returns an error, so that a hub so configured does not start. opts may also set the
// leeway and the maximum lifetime.
func NewJWKSVerifier(url string, client *http.Client, opts ...Option) (Verifier, error) {
	if client == nil {
		client = &http.Client{Timeout: jwksFetchTimeout}
	}
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	if url == "" {
		return nil, errors.New("JWKS verifier: no key set URL")
	}
	if o.issuer == "" || len(o.audience) == 0 || slices.Contains(o.audience, "") {
		return nil, errors.New("JWKS verifier: the accepted token issuer (iss) and audience (aud) must both be configured")
	}
	ks := &keySet{url: url, client: client, now: time.Now}
	if o.keysNow != nil {
		ks.now = o.keysNow
	}
	return newVerifier([]string{"RS256", "ES256"},
		func(m jwt.SigningMethod) bool { return m == jwt.SigningMethodRS256 || m == jwt.SigningMethodES256 },
		ks.key, o), nil
}

// keySet is the cached JWKS of one provider.
type keySet struct {
	url    string
	client *http.Client
	now    func() time.Time

	fetchMu sync.Mutex // serialises fetches

	mu          sync.RWMutex
	keys        map[string]any // kid -> *rsa.PublicKey or *ecdsa.PublicKey; nil until a fetch succeeds
	fetchedAt   time.Time      // last successful fetch
	lastAttempt time.Time      // last fetch attempt, successful or not
	lastErr     error          // error of the last attempt, nil if it succeeded
}

func unavailable(cause error) *lindung.Error {
	return &lindung.Error{Code: lindung.EUNAVAILABLE, Message: "identity provider keys unavailable", Err: cause}
}

// key returns the public key for kid, usable with alg.
func (s *keySet) key(ctx context.Context, alg, kid string) (any, error) {
	if kid == "" {
		return nil, unauthenticated(nil, "token header is missing the kid parameter: the hub selects the identity provider's key by kid")
	}
	k, err := s.lookup(ctx, kid)
	if err != nil {
		return nil, err
	}
	switch k := k.(type) {
	case *rsa.PublicKey:
		if alg == "RS256" {
			return k, nil
		}
	case *ecdsa.PublicKey:
		if alg == "ES256" {
			return k, nil
		}
	}
	return nil, unauthenticated(nil, "token signing key (kid) does not match its algorithm (alg)")
}

func (s *keySet) lookup(ctx context.Context, kid string) (any, error) {
	s.mu.RLock()
	k, ok := s.keys[kid]
	fresh := s.keys != nil && s.now().Sub(s.fetchedAt) < jwksMaxAge
	s.mu.RUnlock()
	if ok && fresh {
		return k, nil
	}

	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()

	// Another request may have fetched while this one waited.
	s.mu.RLock()
	k, ok = s.keys[kid]
	fresh = s.keys != nil && s.now().Sub(s.fetchedAt) < jwksMaxAge
	known := s.keys != nil
	throttled := !s.lastAttempt.IsZero() && s.now().Sub(s.lastAttempt) < jwksMinRefetch
	lastErr := s.lastErr
	s.mu.RUnlock()
	if ok && (fresh || throttled) {
		return k, nil
	}
	if throttled {
		if lastErr != nil || !known {
			return nil, unavailable(lastErr)
		}
		return nil, unknownKid()
	}

	// The fetch must not be cut short because this one caller went away: its result serves everyone.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jwksFetchTimeout)
	defer cancel()
	keys, err := s.fetch(fctx)

	s.mu.Lock()
	s.lastAttempt = s.now()
	s.lastErr = err
	if err == nil {
		s.keys = keys
		s.fetchedAt = s.lastAttempt
	}
	s.mu.Unlock()

	if err != nil {
		if ok {
			return k, nil // stale but still the provider's last word; better than refusing everyone
		}
		return nil, unavailable(err)
	}
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, unknownKid()
}

func unknownKid() *lindung.Error {
	return unauthenticated(nil, "token signing key (kid) is not published by the identity provider")
}

// fetch downloads and parses the key set. Keys it cannot use are skipped; a set with no usable key is an
// error.
func (s *keySet) fetch(ctx context.Context) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks request: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, jwksMaxBody))
		return nil, fmt.Errorf("jwks fetch: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("jwks read: %w", err)
	}
	if len(body) > jwksMaxBody {
		return nil, errors.New("jwks document is larger than 1 MiB")
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("jwks decode: %w", err)
	}
	keys := make(map[string]any, len(set.Keys))
	var errs []error
	for _, j := range set.Keys {
		if j.Kid == "" {
			continue
		}
		if _, dup := keys[j.Kid]; dup {
			continue // first one wins; a provider should not publish the same kid twice
		}
		k, err := j.publicKey()
		if err != nil {
			errs = append(errs, fmt.Errorf("kid %q: %w", j.Kid, err))
			continue
		}
		if k != nil {
			keys[j.Kid] = k
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwks has no usable RSA or EC P-256 signing key with a kid: %w", errors.Join(errs...))
	}
	return keys, nil
}

// jwk is one JSON Web Key (RFC 7517/7518), limited to the members the hub reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// publicKey parses j. It returns nil, nil for a key the hub does not use (encryption keys, other key types
// or algorithms) and an error for a key that claims to be usable but is broken.
func (j jwk) publicKey() (any, error) {
	if j.Use != "" && j.Use != "sig" {
		return nil, nil
	}
	switch j.Kty {
	case "RSA":
		if j.Alg != "" && j.Alg != "RS256" {
			return nil, nil
		}
		n, err := decodeB64URLInt(j.N)
		if err != nil {
			return nil, fmt.Errorf("rsa n: %w", err)
		}
		e, err := decodeB64URLInt(j.E)
		if err != nil {
			return nil, fmt.Errorf("rsa e: %w", err)
		}
		if n.BitLen() < minRSABits {
			return nil, fmt.Errorf("rsa modulus is %d bits, want at least %d", n.BitLen(), minRSABits)
		}
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
			return nil, errors.New("rsa exponent is not a small odd integer")
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case "EC":
		if j.Alg != "" && j.Alg != "ES256" {
			return nil, nil
		}
		if j.Crv != "P-256" {
			return nil, nil
		}
		x, err := decodeB64URL(j.X)
		if err != nil {
			return nil, fmt.Errorf("ec x: %w", err)
		}
		y, err := decodeB64URL(j.Y)
		if err != nil {
			return nil, fmt.Errorf("ec y: %w", err)
		}
		if len(x) != 32 || len(y) != 32 {
			return nil, errors.New("ec P-256 coordinates must be 32 bytes each")
		}
		point := append(append([]byte{4}, x...), y...)
		k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return nil, fmt.Errorf("ec point: %w", err)
		}
		return k, nil
	}
	return nil, nil
}

func decodeB64URL(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("missing")
	}
	return base64.RawURLEncoding.DecodeString(s)
}

func decodeB64URLInt(s string) (*big.Int, error) {
	b, err := decodeB64URL(s)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(b), nil
}
