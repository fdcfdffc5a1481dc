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
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/multitracer"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
	"github.com/lindung/lindung/server"
	"github.com/lindung/lindung/telemetry"
)

// syncBuffer is a log sink safe for the hub's goroutines.
type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return bytes.Clone(b.buf.Bytes())
}

// newObservedHub starts a hub whose log (JSON, debug level), spans (SQL included) and metrics the test
// can read.
func newObservedHub(t *testing.T) (*hub, *syncBuffer, *tracetest.InMemoryExporter) {
	t.Helper()
	logs := newSyncBuffer()
	spans := tracetest.NewInMemoryExporter()
	tp := telemetry.NewProvider(sdktrace.NewSimpleSpanProcessor(spans))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	h := &hub{t: t, issuer: auth.NewIssuer(testSecret)}
	db, err := postgres.Open(context.Background(), pgtest.NewDemo(t), postgres.Options{
		Tracer: multitracer.New(&h.trace, telemetry.SQLTracer(tp))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	h.DB = db
	if h.Policy, err = policy.Load(""); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{DB: db, Policy: h.Policy, Verifier: auth.NewHS256Verifier(testSecret),
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Tracer: tp})
	if err != nil {
		t.Fatal(err)
	}
	h.Handler = srv
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	h.URL = ts.URL
	return h, logs, spans
}

// TestTelemetryHoldsNoVictimData discloses every category of a marker victim, writes victims whose fields
// are markers, and sends requests that fail with marker values in their arguments; then it greps the
// captured log, the /metrics body and every recorded span (names, attributes, events, status) for the
// markers. It also checks that the telemetry is there at all: a test of hygiene that passes because
// nothing is recorded would prove nothing.
func TestTelemetryHoldsNoVictimData(t *testing.T) {
	h, logs, spans := newObservedHub(t)
	officer := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	v := h.newMarkerVictim(victimSpec{Links: []string{demo.SlugPDRM}})
	forbidden := v.markers(lindung.AllCategories)
	forbidden = append(forbidden, v.ID, v.CaseRef)

	res := h.do(request{Token: officer, OperationName: "HygieneRead",
		Query: `query HygieneRead($id: ID!) { victim(id: $id) { ...All } } ` + allVictimFields, Variables: map[string]any{"id": v.ID}})
	if problems := checkMarkers(res.Body, v, lindung.AllCategories); len(problems) > 0 && res.Code() != "" {
		t.Fatalf("the officer's read did not disclose the markers (%s): %v", res.Code(), problems)
	}
	// Withheld fields: the police see the case but not its health fields.
	h.do(request{Token: h.token(demo.SlugPDRM, demo.RoleEnforcementOfficer), OperationName: "HygieneWithheld",
		Query: `query HygieneWithheld($id: ID!) { victim(id: $id) { caseRef medicalNeeds legalName } }`, Variables: map[string]any{"id": v.ID}})

	// Writes carrying marker values: one that succeeds, one refused by the database (a case reference
	// taken), one refused by the schema (a malformed date).
	newName, newPhone := "MARKER-WRITE-NAME-"+v.tag, "MARKER-WRITE-PHONE-"+v.tag
	forbidden = append(forbidden, newName, newPhone, "MARKER-BADDATE")
	create := `mutation HygieneCreate($in: CreateVictimInput!) { createVictim(input: $in) { id legalName phone } }`
	res = h.do(request{Token: officer, OperationName: "HygieneCreate", Query: create, Variables: map[string]any{
		"in": map[string]any{"caseRef": "HYG-2099-" + v.tag, "legalName": newName, "phone": newPhone}}})
	if res.Code() != "" || !bytes.Contains(res.Body, []byte(newName)) {
		t.Fatalf("createVictim: %s", res.Body)
	}
	res = h.do(request{Token: officer, OperationName: "HygieneCreate", Query: create, Variables: map[string]any{
		"in": map[string]any{"caseRef": "HYG-2099-" + v.tag, "legalName": newName, "phone": newPhone}}})
	if res.Code() != string(lindung.ECONFLICT) {
		t.Fatalf("duplicate case reference: want CONFLICT, got %s", res.Body)
	}
	res = h.do(request{Token: officer, Query: create, Variables: map[string]any{
		"in": map[string]any{"caseRef": "HYG-2099-X" + v.tag, "legalName": newName, "dateOfBirth": "MARKER-BADDATE"}}})
	if res.Code() == "" {
		t.Fatalf("malformed date accepted: %s", res.Body)
	}
	// A victim id that is not an id, and one the caller may not see.
	h.do(request{Token: officer, Query: `query($id: ID!) { victim(id: $id) { caseRef } }`, Variables: map[string]any{"id": newName}})
	h.do(request{Token: h.token(demo.SlugNGOSuara, demo.RoleNGOCaseworker), Query: `query($id: ID!) { victim(id: $id) { legalName } }`,
		Variables: map[string]any{"id": v.ID}})

	resp, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	var spanText bytes.Buffer
	names := map[string]bool{}
	for _, s := range spans.GetSpans() {
		names[s.Name] = true
		json.NewEncoder(&spanText).Encode(map[string]any{"name": s.Name, "attrs": s.Attributes, "events": s.Events,
			"status": s.Status, "links": s.Links, "resource": s.Resource.Attributes()})
	}
	logText := logs.Bytes()

	for what, body := range map[string][]byte{"log": logText, "metrics": metricsBody, "spans": spanText.Bytes()} {
		for _, f := range forbidden {
			if f != "" && bytes.Contains(body, []byte(f)) {
				t.Errorf("LEAK: the %s holds %q", what, f)
				for _, l := range strings.Split(string(body), "\n") {
					if strings.Contains(l, f) {
						t.Log(l)
					}
				}
			}
		}
		if m := caseRefPattern.Find(body); m != nil {
			t.Errorf("LEAK: the %s holds a case reference (%s)", what, m)
		}
	}

	// The telemetry is there.
	for _, want := range []string{
		`lindung_requests_total{code="OK",operation="query:victim"} `,
		`lindung_requests_total{code="CONFLICT",operation="mutation:createVictim"} 1`,
		`lindung_request_duration_seconds_bucket{operation="query:victim"`,
		`lindung_db_errors_total{class="integrity"} 1`,
		`lindung_db_errors_total{class="connection"} 0`,
		`lindung_requests_in_flight 0`,
		`lindung_build_info{goversion="go`,
		`lindung_withheld_fields_total{category="HEALTH",reason="NOT_PERMITTED"}`,
		`lindung_db_pool_total_connections`,
		`lindung_policy_decisions_total`,
		`lindung_audit_write_failures_total 0`,
		`lindung_rate_limited_total 0`,
		`lindung_policy_info{version="` + h.Policy.Version() + `"} 1`,
	} {
		if !bytes.Contains(metricsBody, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, want := range []string{"POST /graphql", "resolve Query.victim", "resolve Mutation.createVictim", "SQL SELECT", "SQL INSERT",
		"SQL PIPELINE", "SQL BEGIN", "SQL COMMIT"} { // BEGIN and COMMIT travel in pipelines only
		if !names[want] {
			t.Errorf("no span %q among %d spans", want, len(spans.GetSpans()))
		}
	}
	lines := strings.Split(strings.TrimSpace(string(logText)), "\n")
	if len(lines) < 8 {
		t.Fatalf("expected a log line per request, got %d lines", len(lines))
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", l)
		}
		if id, _ := rec["request_id"].(string); len(id) != 24 {
			t.Errorf("log line without a request id: %s", l)
		}
	}
}

// TestRateLimitedRequestsAreCounted checks the rate-limit counter and the outcome code of a request
// refused before GraphQL runs.
func TestRateLimitedRequestsAreCounted(t *testing.T) {
	h := newHubWith(t, func(c *server.Config) { c.RateLimits = server.RateLimits{UserRate: 0.001, UserBurst: 1} })
	tok := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	for range 3 {
		h.do(request{Token: tok, Query: `{ viewer { username } }`})
	}
	resp, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`lindung_rate_limited_total 2`, `lindung_requests_total{code="RATE_LIMITED",operation="unparsed"} 2`,
		`lindung_requests_total{code="OK",operation="query:viewer"} 1`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// metricsOf returns the hub's /metrics body.
func metricsOf(t *testing.T, h *hub) string {
	t.Helper()
	resp, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// TestOperationLabelsResistJunk: a caller who sends thousands of made-up operation names, and as many
// distinct signatures as the schema lets it, neither grows the operation labels past their bound nor
// pushes an operation in regular use out of its own label. A trusted document is labelled by its hash.
func TestOperationLabelsResistJunk(t *testing.T) {
	trusted := `query Agreed { viewer { username } }`
	docs, err := server.NewTrustedDocuments(map[string]string{sha(trusted): trusted})
	if err != nil {
		t.Fatal(err)
	}
	h := newHubWith(t, func(c *server.Config) {
		c.TrustedDocuments = docs
		c.RateLimits = server.RateLimits{UserRate: -1, PartnerRate: -1}
	})
	tok := h.token(demo.SlugKPWKM, demo.RoleProtectionOfficer)
	real := `query CaseList { victims(first: 1) { totalCount } }`
	// Junk names: every one is the same operation, so they share its label.
	for i := range 300 {
		name := fmt.Sprintf("Junk%d", i)
		h.do(request{Token: tok, OperationName: name, Query: "query " + name + " { viewer { username } }"})
		if i%50 == 0 {
			h.do(request{Token: tok, Query: real})
		}
	}
	if m := metricsOf(t, h); !strings.Contains(m, `lindung_requests_total{code="OK",operation="query:viewer"} 300`) {
		t.Errorf("300 requests of one operation under 300 names are not counted under its one label")
	}
	// Junk signatures: 250 distinct sets of root fields, more than the labels hold, then the real one again.
	fields := []string{"viewer { username }", "shelters { __typename }", "partners { __typename }", "referrals { __typename }",
		"services { __typename }", "victims(first: 1) { totalCount }", `victim(id: "0") { __typename }`, `partner(id: "0") { __typename }`}
	for mask := 1; mask <= 250; mask++ {
		var sel []string
		for i, f := range fields {
			if mask&(1<<i) != 0 {
				sel = append(sel, f)
			}
		}
		h.do(request{Token: tok, Query: "{ " + strings.Join(sel, " ") + " }"})
	}
	h.do(request{Token: tok, Query: real})
	h.do(request{Token: tok, Query: trusted})
	m := metricsOf(t, h)
	for _, want := range []string{
		`lindung_requests_total{code="OK",operation="query:victims"}`,
		`lindung_requests_total{code="OK",operation="doc:` + sha(trusted)[:16] + `"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(m, "Junk") || strings.Contains(m, `operation="other"`) {
		t.Errorf("a client's operation name, or a catch-all, became a label")
	}
	if n := strings.Count(m, "lindung_requests_total{"); n > 200 {
		t.Errorf("%d operation series, more than the bound of 200", n)
	}
}
