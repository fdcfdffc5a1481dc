package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lindung/lindung"
)

// MinSecretLen is the shortest HS256 secret the hub accepts, in bytes. HMAC-SHA256 is only as strong as its
// key; 32 bytes matches the hash size, and anything shorter is refused rather than silently weak.
const MinSecretLen = 32

// NewHS256Verifier returns a Verifier for tokens the hub issued itself with secret (see Issuer). It accepts
// HS256 only, so a token with alg none, an asymmetric algorithm (RS/ES, including the classic confusion of
// an RSA public key used as an HMAC secret) or another HMAC size is refused. It requires iss HubIssuer, aud
// HubAudience, iat and exp (no further apart than the maximum lifetime), sub, partner and a non-empty
// roles claim. opts may set the leeway and the maximum lifetime; the issuer and audience are always the
// hub's own.
//
// A secret shorter than MinSecretLen makes every Verify fail closed with an INTERNAL error, because a
// misconfigured hub must not accept tokens anyone could forge.
func NewHS256Verifier(secret []byte, opts ...Option) Verifier {
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	o.issuer, o.audience = HubIssuer, []string{HubAudience}
	key := append([]byte(nil), secret...)
	// A token signed with another key is most often one from `lindung token` run with another key file or
	// secret than serve's: say so, since the bare "signature is not valid" leaves the operator guessing.
	o.badSignature = "token signature is not valid: it was not signed with this hub's HS256 key " +
		"(`lindung token` and `serve` must use the same LINDUNG_JWT_SECRET or LINDUNG_KEY_FILE; each prints its key's fingerprint)"
	return newVerifier([]string{"HS256"},
		func(m jwt.SigningMethod) bool { return m == jwt.SigningMethodHS256 },
		func(context.Context, string, string) (any, error) {
			if len(key) < MinSecretLen {
				return nil, lindung.Internal(errors.New("HS256 secret is shorter than 32 bytes"), "verify token")
			}
			return key, nil
		},
		o)
}

// Issuer mints HS256 tokens for the hub's own users (the CLI, local development, service accounts), signed
// with the same secret the HS256 verifier checks, so the hub can run without an external identity provider.
type Issuer struct{ secret []byte }

// NewIssuer returns an Issuer that signs with secret. The secret is copied; it must be at least MinSecretLen
// bytes, which Issue checks, so a misconfiguration surfaces on the first token rather than as weak tokens.
func NewIssuer(secret []byte) *Issuer {
	return &Issuer{secret: append([]byte(nil), secret...)}
}

// Issue returns a signed HS256 token carrying c, valid for ttl from now. It sets iss and aud to the hub's
// own (HubIssuer, HubAudience), iat to now, exp to now+ttl (c.ExpiresAt and c.IssuedAt are ignored) and jti
// to c.ID, or to a random 128-bit id when c.ID is empty, so every token can
// be told apart in the audit trail. It refuses claims the verifier would refuse (no subject, no partner, no
// roles, unknown partner type), so a token the hub hands out always works.
func (i *Issuer) Issue(c Claims, ttl time.Duration) (string, error) {
	if i == nil || len(i.secret) < MinSecretLen {
		return "", lindung.Internal(errors.New("HS256 secret is shorter than 32 bytes"), "issue token")
	}
	if ttl <= 0 {
		return "", lindung.Invalid("ttl", "token lifetime must be positive")
	}
	if c.Subject == "" {
		return "", lindung.Invalid("subject", "token subject is required")
	}
	if c.Partner == "" {
		return "", lindung.Invalid("partner", "token partner is required")
	}
	if len(c.Roles) == 0 {
		return "", lindung.Invalid("roles", "token needs at least one role")
	}
	for _, r := range c.Roles {
		if strings.TrimSpace(r) == "" {
			return "", lindung.Invalid("roles", "token roles must not be empty strings")
		}
	}
	if c.PartnerType != "" && !c.PartnerType.Valid() {
		return "", lindung.Invalid("partnerType", "partner type must be one of GOVERNMENT, NGO, PRIVATE, OPERATOR")
	}
	id := c.ID
	if id == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", lindung.Internal(err, "generate token id")
		}
		id = hex.EncodeToString(b[:])
	}
	now := time.Now()
	tc := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    HubIssuer,
			Audience:  jwt.ClaimStrings{HubAudience},
			Subject:   c.Subject,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        id,
		},
		Partner:     c.Partner,
		PartnerType: string(c.PartnerType),
		Roles:       append([]string(nil), c.Roles...),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, tc).SignedString(i.secret)
	if err != nil {
		return "", lindung.Internal(fmt.Errorf("sign: %w", err), "issue token")
	}
	return s, nil
}
