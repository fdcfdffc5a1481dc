package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
	"github.com/lindung/lindung/resolvers"
	"github.com/lindung/lindung/server"
)

// testSecret signs the tokens of the in-process hub.
var testSecret = []byte("lindung-test-secret-0123456789abcdef")

// hub is a Lindung server running in-process on a fresh copy of the demo data, for tests that go through
// the whole stack: HTTP, authentication, policy, GraphQL, store and PostgreSQL.
type hub struct {
	t      testing.TB
	URL    string
	DB     *postgres.DB
	Policy *policy.Policy
	issuer *auth.Issuer
	// trace counts the statements sent to PostgreSQL and their round trips, and records their text while a
	// test has it record.
	trace pgtest.Tracer
	// Handler is the hub's handler itself, for fuzzing without a network round trip.
	Handler http.Handler
	// requestIDs maps the labels tests give requests to the ids the hub assigned them.
	requestIDs sync.Map
	// admin is a pool on the hub's database as the superuser, for setting up and checking tests: the hub
	// itself (DB) connects as the runtime login, which row-level security applies to.
	adminOnce sync.Once
	admin     *pgxpool.Pool
}

// adminPool returns the superuser's pool on the hub's database, opened when first needed.
func (h *hub) adminPool() *pgxpool.Pool {
	h.t.Helper()
	h.adminOnce.Do(func() {
		p, err := pgxpool.New(context.Background(), pgtest.SuperuserURL(h.DB.Pool.Config().ConnString()))
		if err != nil {
			h.t.Fatal(err)
		}
		h.admin = p
		h.t.Cleanup(p.Close)
	})
	return h.admin
}

// newHub starts a hub on a new demo database.
func newHub(t testing.TB) *hub {
	t.Helper()
	return newHubWith(t, nil)
}

// newHubWith starts a hub on a new demo database with configure applied to its configuration, for tests
// of limits, rate limits and trusted documents.
func newHubWith(t testing.TB, configure func(*server.Config)) *hub {
	t.Helper()
	h := &hub{t: t, issuer: auth.NewIssuer(testSecret)}
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDemo(t), postgres.Options{Tracer: &h.trace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	h.DB = db
	if h.Policy, err = policy.Load(""); err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{DB: db, Policy: h.Policy, Verifier: auth.NewHS256Verifier(testSecret),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.Handler = srv
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	h.URL = ts.URL
	return h
}

// token returns a token for the demo user of role at partner.
func (h *hub) token(partner, role string) string {
	h.t.Helper()
	tok, err := h.issuer.Issue(auth.Claims{Subject: demo.DemoUsername(role, partner), Partner: partner, Roles: []string{role}}, time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// gqlError is an error of a GraphQL response.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// response is a GraphQL response as the tests read it.
type response struct {
	Status     int
	Body       []byte
	Data       json.RawMessage `json:"data"`
	Errors     []gqlError      `json:"errors"`
	Extensions struct {
		Withheld []resolvers.Withheld `json:"withheld"`
	} `json:"extensions"`
}

// Code returns the code of the first error, "" when there is none.
func (r *response) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// request is one GraphQL call.
type request struct {
	Token         string
	Purpose       string
	Query         string
	Variables     map[string]any
	OperationName string
	// RequestID labels the request, so a test can find the access records it wrote: the hub assigns
	// request ids itself, and the harness remembers which id the hub gave each label (see requestID).
	RequestID string
}

// do sends a GraphQL request and decodes the response.
func (h *hub) do(r request) *response {
	h.t.Helper()
	out, err := h.send(r)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// send is do without testing.TB, for goroutines other than the test's.
func (h *hub) send(r request) (*response, error) {
	payload := map[string]any{"query": r.Query, "variables": r.Variables}
	if r.OperationName != "" {
		payload["operationName"] = r.OperationName
	}
	body, _ := json.Marshal(payload)
	return h.postRaw(r.Token, r.Purpose, r.RequestID, "application/json", body)
}

// post sends a raw body to /graphql.
func (h *hub) post(token, purpose, contentType string, body []byte) *response {
	h.t.Helper()
	out, err := h.postRaw(token, purpose, "", contentType, body)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func (h *hub) postRaw(token, purpose, requestID, contentType string, body []byte) (*response, error) {
	req, _ := http.NewRequest("POST", h.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if purpose != "" {
		req.Header.Set(server.PurposeHeader, purpose)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if requestID != "" {
		h.requestIDs.Store(requestID, res.Header.Get("X-Request-Id"))
	}
	out := &response{Status: res.StatusCode}
	out.Body, _ = io.ReadAll(res.Body)
	if err := json.Unmarshal(out.Body, out); err != nil {
		return nil, fmt.Errorf("response is not JSON (%d): %s", res.StatusCode, out.Body)
	}
	return out, nil
}

// sql runs a query as the superuser, outside any request, for setting up and checking tests.
func (h *hub) sql(query string, args ...any) pgx.Rows {
	h.t.Helper()
	rows, err := h.adminPool().Query(context.Background(), query, args...)
	if err != nil {
		h.t.Fatal(err)
	}
	return rows
}

// strings returns the first column of a query as strings.
func (h *hub) strings(query string, args ...any) []string {
	h.t.Helper()
	out, err := pgx.CollectRows(h.sql(query, args...), pgx.RowTo[string])
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// exec runs a statement as the superuser.
func (h *hub) exec(query string, args ...any) {
	h.t.Helper()
	if err := h.execErr(query, args...); err != nil {
		h.t.Fatal(err)
	}
}

// execErr runs a statement as the superuser and returns its error, for statements meant to fail.
func (h *hub) execErr(query string, args ...any) error {
	_, err := h.adminPool().Exec(context.Background(), query, args...)
	return err
}

// count returns the integer a query selects, such as a count(*).
func (h *hub) count(query string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.adminPool().QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// issue returns a token for arbitrary claims, signed with the hub's secret.
func (h *hub) issue(c auth.Claims) string {
	h.t.Helper()
	tok, err := h.issuer.Issue(c, time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// requestID returns the id the hub assigned to the request labelled label.
func (h *hub) requestID(label string) string {
	if id, ok := h.requestIDs.Load(label); ok {
		return id.(string)
	}
	return label
}
