package auth

import (
	"net/http"
	"strings"
)

// BearerToken extracts the token from the request's "Authorization: Bearer <token>" header (RFC 6750), the
// only place the hub reads credentials from: never the query string, where tokens leak into logs. Errors
// are UNAUTHENTICATED, say how to send the header, and never echo what was sent.
func BearerToken(r *http.Request) (string, error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 || (len(vals) == 1 && strings.TrimSpace(vals[0]) == "") {
		return "", unauthenticated(nil, "missing bearer token: send Authorization: Bearer <token>")
	}
	if len(vals) > 1 {
		return "", unauthenticated(nil, "more than one Authorization header: send exactly one Authorization: Bearer <token>")
	}
	scheme, tok, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", unauthenticated(nil, "Authorization header must use the Bearer scheme: send Authorization: Bearer <token>")
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", unauthenticated(nil, "bearer token is empty: send Authorization: Bearer <token>")
	}
	if !isB64Token(tok) {
		return "", unauthenticated(nil, "malformed bearer token: the token must be a single word of base64url characters (a JWT), with no spaces or quotes")
	}
	return tok, nil
}

// isB64Token reports whether s matches RFC 6750's b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
// "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}
