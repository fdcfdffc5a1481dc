package auth

import (
	"net/http/httptest"
	"testing"

	"github.com/lindung/lindung"
)

func TestBearerToken(t *testing.T) {
	const jwtLike = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"
	tests := []struct {
		name    string
		headers []string
		want    string
		msg     string // expected message substring when an error is expected
	}{
		{"valid", []string{"Bearer " + jwtLike}, jwtLike, ""},
		{"scheme case-insensitive", []string{"bearer " + jwtLike}, jwtLike, ""},
		{"extra spaces", []string{"  Bearer   " + jwtLike + "  "}, jwtLike, ""},
		{"padding allowed", []string{"Bearer abc=="}, "abc==", ""},
		{"missing", nil, "", "missing bearer token: send Authorization: Bearer <token>"},
		{"empty header", []string{""}, "", "missing bearer token"},
		{"basic scheme", []string{"Basic dXNlcjpwYXNz"}, "", "must use the Bearer scheme"},
		{"token without scheme", []string{jwtLike}, "", "must use the Bearer scheme"},
		{"scheme only", []string{"Bearer"}, "", "bearer token is empty"},
		{"scheme and spaces", []string{"Bearer    "}, "", "bearer token is empty"},
		{"two words", []string{"Bearer " + jwtLike + " extra"}, "", "malformed bearer token"},
		{"quoted", []string{`Bearer "` + jwtLike + `"`}, "", "malformed bearer token"},
		{"only padding", []string{"Bearer ==="}, "", "malformed bearer token"},
		{"two headers", []string{"Bearer " + jwtLike, "Bearer " + jwtLike}, "", "more than one Authorization header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/graphql", nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			got, err := BearerToken(r)
			if tt.msg == "" {
				if err != nil || got != tt.want {
					t.Fatalf("BearerToken = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if got != "" {
				t.Errorf("got token %q with an error", got)
			}
			checkErr(t, err, jwtLike, lindung.EUNAUTHENTICATED, tt.msg)
		})
	}
}
