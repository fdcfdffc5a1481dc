// Package auth turns a bearer token into verified claims about who is calling the hub: the user (sub), the
// partner they act for, its partner type and their roles. It is the first gate of every request and fails
// closed: a token that is missing, malformed, signed with an unexpected algorithm or key, expired or missing
// a required claim is refused with an UNAUTHENTICATED error whose message tells a partner's developer what
// to fix without ever echoing the token.
//
// Two verifiers exist. The HS256 verifier checks tokens the hub issued itself with a shared secret (see
// Issuer and LoadSecret); the JWKS verifier checks RS256 and ES256 tokens from a partner's or the hub's
// identity provider against the public keys it publishes.
package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lindung/lindung"
)

// DefaultLeeway is the clock skew tolerated on exp, nbf and iat unless WithLeeway says otherwise, so that a
// token minted a moment ago by a host whose clock runs slightly ahead, or used a moment after expiry, is
// not refused for a few seconds of drift.
const DefaultLeeway = 30 * time.Second

// DefaultMaxLifetime is the longest lifetime (exp − iat) a token may have unless WithMaxLifetime says
// otherwise: a stolen token stays useful no longer than a working day, and a token minted to last for
// months (a shared "service" token passed around) is refused rather than trusted.
const DefaultMaxLifetime = 12 * time.Hour

// HubIssuer and HubAudience are the iss and aud of the tokens the hub issues itself (HS256, see Issuer),
// checked on every HS256 token, so that a token minted for another service that shares the secret by
// mistake is refused.
const (
	HubIssuer   = "lindung"
	HubAudience = "lindung-graphql"
)

// Claims is what a verified token says about the caller. Authentication turns it into a lindung.Viewer; it
// carries only what the hub needs to decide access, and nothing is in it unless the signature was valid.
type Claims struct {
	Subject     string              // JWT "sub": the user's username at the partner
	Partner     string              // JWT "partner": the slug of the partner the user acts for
	PartnerType lindung.PartnerType // JWT "partner_type": may be empty; when present it is a known type
	Roles       []string            // JWT "roles": never empty in verified claims
	ExpiresAt   time.Time           // JWT "exp": always present in verified claims
	IssuedAt    time.Time           // JWT "iat": always present in verified claims
	ID          string              // JWT "jti": the token's id, for audit and revocation
}

// Verifier checks a token and returns its claims. It is an interface so that the HTTP layer does not care
// whether tokens come from the hub's own issuer (HS256) or an identity provider (JWKS), and so that tests can
// substitute a fake.
//
// Every error is a *lindung.Error: UNAUTHENTICATED for a token the caller must fix or replace, UNAVAILABLE
// when the keys needed to check it cannot be fetched right now.
type Verifier interface {
	Verify(ctx context.Context, token string) (*Claims, error)
}

// tokenClaims is the wire form of the claims.
type tokenClaims struct {
	jwt.RegisteredClaims
	Partner     string   `json:"partner,omitempty"`
	PartnerType string   `json:"partner_type,omitempty"`
	Roles       []string `json:"roles,omitempty"`

	names *ClaimNames // where a provider's token carries them; nil for the hub's own names
	bad   string      // the first claim of names that had the wrong type, for the message
}

// ClaimNames says where an identity provider's tokens carry the caller's username, partner, partner type
// and roles. A name may be a dotted path into nested objects, such as Keycloak's
// resource_access.lindung.roles. The hub's own tokens use DefaultClaimNames.
type ClaimNames struct {
	User, Partner, PartnerType, Roles string
}

// DefaultClaimNames are the names of the hub's own tokens (`lindung token`), and of a provider configured
// to issue the same claims.
var DefaultClaimNames = ClaimNames{User: "sub", Partner: "partner", PartnerType: "partner_type", Roles: "roles"}

// WithClaimNames reads the caller from the claims names gives instead of DefaultClaimNames; an empty
// name keeps the default. Whatever a token's roles claim says, the hub's own record of the user still
// bounds the roles the caller may act in.
func WithClaimNames(names ClaimNames) Option {
	return func(o *options) {
		d := DefaultClaimNames
		for _, f := range []struct{ dst, src *string }{
			{&d.User, &names.User}, {&d.Partner, &names.Partner}, {&d.PartnerType, &names.PartnerType}, {&d.Roles, &names.Roles},
		} {
			if *f.src != "" {
				*f.dst = *f.src
			}
		}
		o.claims = &d
	}
}

// UnmarshalJSON reads the registered claims, and the caller's claims from where names says they are.
func (tc *tokenClaims) UnmarshalJSON(b []byte) error {
	if tc.names == nil {
		return tc.unmarshalDefault(b)
	}
	if err := json.Unmarshal(b, &tc.RegisteredClaims); err != nil {
		return err
	}
	n := *tc.names
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	text := func(name string) string {
		v, ok := claimAt(all, name)
		if !ok {
			return ""
		}
		s, isText := v.(string)
		if !isText && tc.bad == "" {
			tc.bad = name
		}
		return s
	}
	if n.User != "sub" {
		tc.Subject = text(n.User)
	}
	tc.Partner = text(n.Partner)
	tc.PartnerType = text(n.PartnerType)
	if v, ok := claimAt(all, n.Roles); ok {
		list, isList := v.([]any)
		if !isList && tc.bad == "" {
			tc.bad = n.Roles
		}
		tc.Roles = []string{}
		for _, r := range list {
			s, isText := r.(string)
			if !isText && tc.bad == "" {
				tc.bad = n.Roles
			}
			tc.Roles = append(tc.Roles, s)
		}
	}
	return nil
}

// unmarshalDefault reads a token with the hub's own claim names in one pass, as every request with a
// `lindung token` token does: a claim of the wrong type is named, as with configured names.
func (tc *tokenClaims) unmarshalDefault(b []byte) error {
	type plain tokenClaims // without this method
	err := json.Unmarshal(b, (*plain)(tc))
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		for _, name := range []string{"partner", "partner_type", "roles"} {
			if typeErr.Field == name || strings.HasPrefix(typeErr.Field, name+".") {
				tc.bad = name
				return nil
			}
		}
	}
	return err
}

// claimAt returns the value at a dotted path of nested objects; a claim whose own name has a dot (as
// some providers' URL-named claims do) is found too.
func claimAt(m map[string]any, path string) (any, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	head, rest, found := strings.Cut(path, ".")
	if !found {
		return nil, false
	}
	inner, ok := m[head].(map[string]any)
	if !ok {
		return nil, false
	}
	return claimAt(inner, rest)
}

// unauthenticated returns an UNAUTHENTICATED error with a safe message, keeping cause for the log only.
func unauthenticated(cause error, msg string) *lindung.Error {
	return &lindung.Error{Code: lindung.EUNAUTHENTICATED, Message: msg, Err: cause}
}

// header is the part of the JOSE header the hub looks at before any cryptography.
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// peekHeader decodes the token's header without verifying anything, to reject unsupported algorithms with a
// precise message before the token goes near a key.
func peekHeader(raw string) (header, error) {
	var h header
	if strings.Count(raw, ".") != 2 {
		return h, unauthenticated(nil, "token is malformed: expected a JWT of three dot-separated parts (header.payload.signature)")
	}
	seg, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return h, unauthenticated(err, "token is malformed: the header is not base64url (unpadded)")
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, unauthenticated(err, "token is malformed: the header is not a JSON object")
	}
	if h.Alg == "" {
		return h, unauthenticated(nil, "token header is missing the alg parameter")
	}
	if len(h.Crit) > 0 {
		return h, unauthenticated(nil, "token header lists critical (crit) parameters the hub does not support")
	}
	return h, nil
}

// options are the checks a verifier applies on top of the fixed ones.
type options struct {
	issuer      string
	audience    []string
	leeway      time.Duration    // tolerated clock skew; set by defaults
	maxLifetime time.Duration    // longest exp − iat; set by defaults
	now         func() time.Time // clock for token times; nil means time.Now
	keysNow     func() time.Time // clock for the JWKS cache; nil means time.Now (tests only)
	claims      *ClaimNames      // nil: DefaultClaimNames
	// badSignature is the message for a token whose signature does not verify; "" is the plain one.
	badSignature string
}

// defaults returns the options every verifier starts from, before its Options apply.
func defaults() options {
	return options{leeway: DefaultLeeway, maxLifetime: DefaultMaxLifetime}
}

// Option configures the claim checks of a verifier.
type Option func(*options)

// WithLeeway sets the clock skew tolerated on exp, nbf and iat (DefaultLeeway otherwise). A negative
// leeway is taken as zero.
func WithLeeway(d time.Duration) Option {
	return func(o *options) { o.leeway = max(d, 0) }
}

// WithMaxLifetime sets the longest lifetime (exp − iat) a token may have (DefaultMaxLifetime otherwise).
// A value of zero or less keeps the default: the check cannot be turned off.
func WithMaxLifetime(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.maxLifetime = d
		}
	}
}

// WithIssuer requires the token's iss claim to equal iss, so that a token from another tenant of the same
// identity provider is refused.
func WithIssuer(iss string) Option {
	return func(o *options) { o.issuer = iss }
}

// WithAudience requires the token's aud claim to contain at least one of aud, so that a token minted for a
// different service is not accepted by the hub.
func WithAudience(aud ...string) Option {
	return func(o *options) { o.audience = append(o.audience, aud...) }
}

// keyFunc returns the key to verify a token with the given (already accepted) algorithm and key id.
type keyFunc func(ctx context.Context, alg, kid string) (any, error)

// verifier holds what both verifiers share: the accepted algorithms, the parser and the key lookup.
type verifier struct {
	algs      []string
	algsText  string // for messages, e.g. "RS256 or ES256"
	parser    *jwt.Parser
	opts      options
	key       keyFunc
	methodsOK func(jwt.SigningMethod) bool
}

func newVerifier(algs []string, methodOK func(jwt.SigningMethod) bool, key keyFunc, opts options) *verifier {
	po := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(opts.leeway),
	}
	if opts.issuer != "" {
		po = append(po, jwt.WithIssuer(opts.issuer))
	}
	if len(opts.audience) > 0 {
		po = append(po, jwt.WithAudience(opts.audience...))
	}
	if opts.now != nil {
		po = append(po, jwt.WithTimeFunc(opts.now))
	}
	return &verifier{
		algs:      algs,
		algsText:  strings.Join(algs, " or "),
		parser:    jwt.NewParser(po...),
		opts:      opts,
		key:       key,
		methodsOK: methodOK,
	}
}

func (v *verifier) accepts(alg string) bool {
	for _, a := range v.algs {
		if a == alg {
			return true
		}
	}
	return false
}

// Verify checks the token and returns its claims.
func (v *verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	if raw == "" {
		return nil, unauthenticated(nil, "token is empty")
	}
	h, err := peekHeader(raw)
	if err != nil {
		return nil, err
	}
	if !v.accepts(h.Alg) {
		return nil, unauthenticated(nil, "unsupported signing algorithm: the hub accepts "+v.algsText)
	}

	tc := tokenClaims{names: v.opts.claims}
	_, err = v.parser.ParseWithClaims(raw, &tc, func(t *jwt.Token) (any, error) {
		// Re-check what the library resolved, so that the key is only ever used with the algorithm it is
		// meant for, whatever the header says.
		if t.Method == nil || !v.accepts(t.Method.Alg()) || !v.methodsOK(t.Method) {
			return nil, unauthenticated(nil, "unsupported signing algorithm: the hub accepts "+v.algsText)
		}
		kid, _ := t.Header["kid"].(string)
		return v.key(ctx, t.Method.Alg(), kid)
	})
	if err != nil {
		return nil, v.mapError(err, &tc)
	}
	return v.claims(&tc)
}

// mapError turns a jwt library error into a safe, actionable *lindung.Error.
func (v *verifier) mapError(err error, tc *tokenClaims) error {
	var le *lindung.Error
	if errors.As(err, &le) {
		// Raised by our key function; keep the library's wrapping as the cause for the log.
		return &lindung.Error{Code: le.Code, Message: le.Message, Field: le.Field, Err: err}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return unauthenticated(err, "token is malformed: it could not be decoded as a JWT (check the payload is a JSON object with correctly typed claims)")
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return unauthenticated(err, "token could not be verified")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if v.opts.badSignature != "" {
			return unauthenticated(err, v.opts.badSignature)
		}
		return unauthenticated(err, "token signature is not valid")
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		// The signature was valid; say which claim is wrong.
		switch {
		case tc.ExpiresAt == nil:
			return unauthenticated(err, "token is missing the exp claim")
		case errors.Is(err, jwt.ErrTokenExpired):
			return unauthenticated(err, "token expired")
		case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
			return unauthenticated(err, "token is not valid yet: its nbf or iat claim is in the future (check the issuer's clock)")
		case v.opts.issuer != "" && tc.Issuer == "":
			return unauthenticated(err, "token is missing the iss claim")
		case errors.Is(err, jwt.ErrTokenInvalidIssuer):
			return unauthenticated(err, "token issuer (iss) is not accepted by the hub")
		case len(v.opts.audience) > 0 && len(tc.Audience) == 0:
			return unauthenticated(err, "token is missing the aud claim")
		case errors.Is(err, jwt.ErrTokenInvalidAudience):
			return unauthenticated(err, "token audience (aud) does not include the hub")
		}
		return unauthenticated(err, "token claims are not valid")
	}
	return unauthenticated(err, "token is not valid")
}

// claims checks the hub's own required claims and converts them.
func (v *verifier) claims(tc *tokenClaims) (*Claims, error) {
	n := DefaultClaimNames
	if v.opts.claims != nil {
		n = *v.opts.claims
	}
	if tc.bad != "" {
		return nil, unauthenticated(nil, "token claim "+tc.bad+" has the wrong type: the partner and user claims are text, the roles claim a list of text")
	}
	if tc.IssuedAt == nil {
		return nil, unauthenticated(nil, "token is missing the iat claim: the hub needs to know when a token was issued to bound its lifetime")
	}
	if life := tc.ExpiresAt.Sub(tc.IssuedAt.Time); life > v.opts.maxLifetime {
		return nil, unauthenticated(nil, fmt.Sprintf("token lifetime (exp − iat) of %s is longer than the hub's maximum of %s: ask for a shorter-lived token",
			life.Round(time.Second), v.opts.maxLifetime))
	}
	if tc.Subject == "" {
		return nil, unauthenticated(nil, "token is missing the "+n.User+" claim")
	}
	if tc.Partner == "" {
		return nil, unauthenticated(nil, "token is missing the "+n.Partner+" claim")
	}
	if tc.Roles == nil {
		return nil, unauthenticated(nil, "token is missing the "+n.Roles+" claim")
	}
	if len(tc.Roles) == 0 {
		return nil, unauthenticated(nil, "token "+n.Roles+" claim is empty: it must list at least one role")
	}
	for _, r := range tc.Roles {
		if strings.TrimSpace(r) == "" {
			return nil, unauthenticated(nil, "token roles claim contains an empty role")
		}
	}
	pt := lindung.PartnerType(tc.PartnerType)
	if pt != "" && !pt.Valid() {
		return nil, unauthenticated(nil, "token "+n.PartnerType+" claim is not one of GOVERNMENT, NGO, PRIVATE, OPERATOR")
	}
	return &Claims{
		Subject:     tc.Subject,
		Partner:     tc.Partner,
		PartnerType: pt,
		Roles:       append([]string(nil), tc.Roles...),
		ExpiresAt:   tc.ExpiresAt.Time,
		IssuedAt:    tc.IssuedAt.Time,
		ID:          tc.ID,
	}, nil
}
