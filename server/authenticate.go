package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/postgres"
)

// caller is what authentication established before GraphQL runs: the verified claims and the policy's
// decision for the roles and purpose. Nothing here has touched the database.
type caller struct {
	claims   *auth.Claims
	decision *policy.Decision
	status   *statusWriter
	// trustedDocument says the request's document is in the trusted documents (see resolveDocument).
	trustedDocument bool
}

type callerKey struct{}

func callerFrom(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	return c
}

// authenticate verifies the bearer token and decides the policy for its roles and the declared purpose.
// A request without a valid token, with a role the policy does not know, or with a purpose the role may
// not use, or over its user's or partner's request rate, is refused here, before any GraphQL or database
// work.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, lindung.Errorf(lindung.EINVALID, "send GraphQL requests as POST with a JSON body"))
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, lindung.Errorf(lindung.EINVALID, "the request body must be JSON: send Content-Type: application/json"))
			return
		}
		token, err := auth.BearerToken(r)
		if err != nil {
			unauthenticated(w, r, err)
			return
		}
		claims, err := s.cfg.Verifier.Verify(r.Context(), token)
		if err != nil {
			if lindung.CodeOf(err) == lindung.EUNAUTHENTICATED {
				unauthenticated(w, r, err)
			} else {
				writeError(w, httpStatus(lindung.CodeOf(err)), err)
			}
			return
		}
		for _, role := range claims.Roles {
			if !s.cfg.Policy.KnowsRole(role) {
				unauthenticated(w, r, lindung.Errorf(lindung.EUNAUTHENTICATED, "the token's role %q is not a role of this hub", role))
				return
			}
		}
		purpose := lindung.Purpose(r.Header.Get(PurposeHeader))
		if purpose != "" && !purpose.Valid() {
			writeError(w, http.StatusBadRequest, lindung.Invalid("purpose", "unknown purpose %q in the %s header; the purposes are %s",
				purpose, PurposeHeader, purposeList()))
			return
		}
		decision, err := s.cfg.Policy.Decide(claims.Roles, purpose)
		if err != nil {
			writeError(w, httpStatus(lindung.CodeOf(err)), err)
			return
		}
		if err := s.rates.takeRequest(claims.Partner, claims.Subject); err != nil {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter(err)))
			writeError(w, http.StatusTooManyRequests, err)
			return
		}
		// The body is read whole here, under the size limit, so an oversized body gets a clear 413
		// rather than gqlgen's read error.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(w, http.StatusRequestEntityTooLarge, limitError("bodyBytes", int(tooLarge.Limit),
					"the request body is larger than the limit of %d bytes", tooLarge.Limit))
				return
			}
			writeError(w, http.StatusBadRequest, lindung.Errorf(lindung.EINVALID, "the request body could not be read"))
			return
		}
		if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(body) {
			// gqlgen would decode the first of several values and drop the rest, and read null as an
			// empty request: anything but one JSON object is refused with one clear message.
			writeError(w, http.StatusBadRequest, lindung.Errorf(lindung.EINVALID, "%s%s", badBody, malformedAt(body)))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sw := &statusWriter{ResponseWriter: w}
		ctx := context.WithValue(r.Context(), callerKey{}, &caller{claims: claims, decision: decision, status: sw})
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// unauthenticated refuses a request without a valid token: 401 with the error alone, for a client of the
// hub. A gateway's entity fetch (an `_entities` query with its representations) is answered 200 instead,
// with a null for each representation and the error once, at the path ["_entities"], the shape of the
// hub's other whole-call entity errors: both gateways then show the error once (Apollo's would show a 401
// as "401: Unauthorized" with the hub's message buried in extensions; Hive's copies an error without a
// path, or a 401's, onto every field of every entity). No data is in either answer. docs/federation.md
// tells the findings.
func unauthenticated(w http.ResponseWriter, r *http.Request, err error) {
	n, ok := entityFetch(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeError(w, http.StatusUnauthorized, err)
		return
	}
	if rec, ok := w.(codeRecorder); ok {
		rec.recordCode(lindung.CodeOf(err))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(entitiesRefused(n, err))
}

// entityFetch reports whether the request is a gateway's entity fetch (see entityRepresentations), and
// with how many representations. It reads the body under the server's size limit; a body that is not such
// a request is simply not one.
func entityFetch(r *http.Request) (int, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return 0, false
	}
	var req struct {
		Query     string
		Variables map[string]any
	}
	if json.Unmarshal(body, &req) != nil || !strings.Contains(req.Query, "_entities") {
		return 0, false
	}
	doc, gerr := parser.ParseQuery(&ast.Source{Input: req.Query})
	if gerr != nil || len(doc.Operations) != 1 {
		return 0, false
	}
	return entityRepresentations(doc.Operations[0], req.Variables)
}

// entityRepresentations reports whether op is an entity fetch, a query whose only field is `_entities`,
// as gateways send, and how many representations it asks for.
func entityRepresentations(op *ast.OperationDefinition, vars map[string]any) (int, bool) {
	if op == nil || op.Operation != ast.Query || len(op.SelectionSet) != 1 {
		return 0, false
	}
	f, ok := op.SelectionSet[0].(*ast.Field)
	if !ok || f.Name != "_entities" {
		return 0, false
	}
	arg := f.Arguments.ForName("representations")
	if arg == nil {
		return 0, false
	}
	v, err := arg.Value.Value(vars)
	if err != nil {
		return 0, false
	}
	reps, ok := v.([]any)
	return len(reps), ok
}

// entitiesRefused is the answer to an entity fetch refused whole: a null for each of its n
// representations and the error once, at ["_entities"] (see unauthenticated). aroundOperation answers a
// caller refused as its request starts the same way.
func entitiesRefused(n int, err error) *graphql.Response {
	data, _ := json.Marshal(map[string]any{"_entities": make([]any, n)})
	return &graphql.Response{Data: data, Errors: gqlerror.List{{Message: lindung.MessageOf(err),
		Path: ast.Path{ast.PathName("_entities")}, Extensions: map[string]any{"code": string(lindung.CodeOf(err))}}}}
}

// admit holds the token to the hub's own record of the caller, read as the request's session started:
// the request is served only for a registered, enabled user of the token's partner, a partner that is not
// suspended, and only with roles that user holds in the hub (a token may narrow them, never widen them).
// A token names a user; it does not make one. Every refusal but one is UNAUTHENTICATED and says which
// check failed; a user registered with roles that must never be held together (separation of duties) is
// FORBIDDEN whatever role the token narrows to, since the account itself is what the policy forbids.
func (s *Server) admit(claims *auth.Claims, id *postgres.Identity) error {
	switch {
	case claims.PartnerType != "" && claims.PartnerType != id.PartnerType:
		return lindung.Errorf(lindung.EUNAUTHENTICATED, "the token's partner type does not match the partner %q", claims.Partner)
	case id.PartnerSuspended:
		return lindung.Errorf(lindung.EUNAUTHENTICATED, "the partner %q is suspended from this hub: ask the hub operator", claims.Partner)
	case id.UserID == "":
		return lindung.Errorf(lindung.EUNAUTHENTICATED, "the token's subject %q is not a registered user of the partner %q", claims.Subject, claims.Partner)
	case id.UserDisabled:
		return lindung.Errorf(lindung.EUNAUTHENTICATED, "the user %q is disabled: ask the hub operator", claims.Subject)
	}
	if pair, found := s.cfg.Policy.Conflict(id.UserRoles); found {
		return lindung.Errorf(lindung.EFORBIDDEN, "the user %q is registered with the roles %s and %s, which must never be held together (separation of duties): ask the hub operator to change the user's roles",
			claims.Subject, pair[0], pair[1])
	}
	for _, r := range claims.Roles {
		if !slices.Contains(id.UserRoles, r) {
			return lindung.Errorf(lindung.EUNAUTHENTICATED, "the token claims the role %q, which the user %q does not hold in this hub", r, claims.Subject)
		}
	}
	return nil
}

// statusWriter lets the GraphQL layer choose the HTTP status of a response refused as a whole (401 for
// a partner the hub does not know, 403 for missing training, 503 when the audit cannot be written),
// which gqlgen's transport would otherwise send as 200.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) setStatus(code int) { w.status = code }

// WriteHeader sends the chosen status in place of a 200.
func (w *statusWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if code == http.StatusOK && w.status != 0 {
		code = w.status
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// purposeList names every purpose, for the message of a request that declares an unknown one.
func purposeList() string {
	var names []string
	for _, p := range lindung.Purposes() {
		names = append(names, string(p))
	}
	return strings.Join(names, ", ")
}

// malformedAt says where a body stops being JSON, e.g. ": malformed JSON at line 2, column 12", so that a
// partner's developer need not bisect their request; "" for JSON that is merely not one object.
func malformedAt(body []byte) string {
	var syntax *json.SyntaxError
	if err := json.Unmarshal(body, new(any)); !errors.As(err, &syntax) {
		return ""
	}
	line, col := 1, 0
	for _, c := range body[:min(int(syntax.Offset), len(body))] {
		if c == '\n' {
			line, col = line+1, 0
		} else {
			col++
		}
	}
	return fmt.Sprintf(": malformed JSON at line %d, column %d (%s)", line, max(col, 1), syntax.Error())
}
