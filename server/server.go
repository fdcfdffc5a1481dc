// Package server wires the hub together: HTTP, authentication, the GraphQL executor, the request's store
// session and policy decision, and the audit written before a response leaves.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/resolvers"
	"github.com/lindung/lindung/telemetry"
	"github.com/lindung/lindung/web"
)

// PurposeHeader is the HTTP header in which a client declares the purpose of a request.
const PurposeHeader = "X-Lindung-Purpose"

// Config is what the server needs.
type Config struct {
	DB       *postgres.DB
	Policy   *policy.Policy
	Verifier auth.Verifier
	Logger   *slog.Logger
	// Demo allows introspection for every authenticated caller, for GraphiQL's docs; otherwise only the
	// hub operator may introspect.
	Demo bool
	// MaxBodyBytes caps a request body (default 1 MiB); RequestTimeout caps a request's run (default 30 s).
	MaxBodyBytes   int64
	RequestTimeout time.Duration
	// Limits bound the size, depth, aliases, directives and cost of a GraphQL document; zero fields
	// take DefaultLimits.
	Limits Limits
	// RateLimits bound the requests of a user and of a partner, and a partner's eligibility checks; zero
	// fields take DefaultRateLimits.
	RateLimits RateLimits
	// TrustedDocuments is the allow-list of documents that partners of the types in TrustedFor are held
	// to; nil holds none, and then TrustedFor must be empty.
	TrustedDocuments *TrustedDocuments
	TrustedFor       []lindung.PartnerType
	// OrderLimits bound the protection orders recorded (the zero value: lindung.DefaultOrderLimits).
	OrderLimits lindung.OrderLimits
	// Schema replaces the executable schema; nil serves resolvers.NewExecutableSchema(). Benchmarks use
	// it to measure the field guard against a schema without one. It is checked like the default, and
	// one that does not run resolvers' guards is refused outside tests unless UnguardedBenchmark is set.
	Schema graphql.ExecutableSchema
	// UnguardedBenchmark lets a benchmark program (bench/ladder) serve a Schema without the guards, as the
	// baseline the guards' cost is measured against. Nothing that serves partners sets it.
	UnguardedBenchmark bool
	// UnauditedBenchmark writes no access records: with an unguarded Schema, it is bench/peer's hub with
	// none of the policy, the baseline of its "policy total" ratio. New refuses it with a guarded schema,
	// so it can never switch the audit off under the guards. Nothing that serves partners sets it.
	UnauditedBenchmark bool
	// StatisticsK is the disclosure-control threshold of the statistics API: counts from 1 to k-1 are
	// suppressed (0 takes disclosure.DefaultK, 5; CTDC publishes with 11). StatisticsRounding rounds
	// published counts to a multiple of it (at most k); 0 takes disclosure.DefaultBase (5, at most k), 1
	// turns rounding off. See server/statistics.go.
	StatisticsK        int
	StatisticsRounding int
	// Version is the hub's build version, shown by /readyz so that a rollout can see which build each
	// replica runs; "" is the version Go recorded (telemetry.Build), as lindung_build_info reports it.
	Version string
	// Tracer makes the spans of requests, resolvers and (through the store's pgx tracer) SQL; nil is
	// the no-op provider: tracing is off unless an exporter is configured (see telemetry.Tracing).
	Tracer trace.TracerProvider
	// Checkpoints publishes access-log checkpoints on demand (auditCheckpoint(fresh: true)); nil
	// answers such a request UNAVAILABLE. cmd/lindung passes the replica's Sequencer.
	Checkpoints lindung.CheckpointPublisher
	// MaxRepresentations bounds the representations of one entity type one _entities call resolves (0
	// takes resolvers.DefaultMaxRepresentations); the cost limit bounds a batch first (docs/federation.md).
	MaxRepresentations int
	// ReadAllVictimColumns reads every victim column for every request, whatever its operation selects
	// (see victimFields): the reference the narrowed reads are tested and measured against.
	ReadAllVictimColumns bool
}

// Server is the hub's HTTP handler.
type Server struct {
	cfg     Config
	limits  Limits
	rates   *rateLimiter
	graphql http.Handler
	mux     *http.ServeMux
	metrics *metrics
	tracer  trace.Tracer
	// schema is the served schema, which victimFields reads an operation's selection against.
	schema *ast.Schema
	// draining is set by Drain: /readyz answers 503 so that the load balancer stops sending new requests,
	// while requests still arriving are served.
	draining atomic.Bool
}

// Drain makes /readyz report the replica not ready while it goes on serving: the first step of a
// graceful shutdown, before the listener closes.
func (s *Server) Drain() { s.draining.Store(true) }

// New returns the hub's HTTP handler. It refuses a schema with an unclassified or non-null sensitive
// field: such a schema could leak what no policy decided on.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Logger = slog.New(requestIDHandler{cfg.Logger.Handler()})
	if cfg.Version == "" {
		cfg.Version, _ = telemetry.Build()
	}
	if cfg.Tracer == nil {
		cfg.Tracer = noop.NewTracerProvider()
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if len(cfg.TrustedFor) > 0 && cfg.TrustedDocuments == nil {
		// Holding partners to an empty list would refuse them everything: a configuration mistake.
		return nil, fmt.Errorf("trusted documents are required for partner types %v, but none were loaded", cfg.TrustedFor)
	}
	for _, pt := range cfg.TrustedFor {
		if !pt.Valid() {
			return nil, fmt.Errorf("trusted documents: unknown partner type %q", pt)
		}
	}
	s := &Server{cfg: cfg, limits: cfg.Limits.withDefaults(), rates: newRateLimiter(cfg.RateLimits), mux: http.NewServeMux(),
		metrics: newMetrics(&cfg), tracer: cfg.Tracer.Tracer("github.com/lindung/lindung/server")}
	stats, err := cfg.statisticsOptions()
	if err != nil {
		return nil, err
	}
	schema := cfg.Schema
	if schema == nil {
		schema = resolvers.NewConfiguredSchema(resolvers.Resolver{OrderLimits: cfg.OrderLimits, StatisticsControl: stats,
			MaxRepresentations: cfg.MaxRepresentations, RunningPolicy: cfg.Policy.Version(), Checkpoints: cfg.Checkpoints})
	}
	if err := resolvers.CheckClassification(schema.Schema()); err != nil {
		return nil, err
	}
	if !resolvers.Guarded(schema) && !testing.Testing() && !cfg.UnguardedBenchmark {
		return nil, errors.New("the executable schema does not run the field and record guards; refusing to serve it")
	}
	if cfg.UnauditedBenchmark && resolvers.Guarded(schema) {
		return nil, errors.New("UnauditedBenchmark is for a benchmark's unguarded baseline only; refusing to serve unaudited")
	}
	s.schema = schema.Schema()
	s.graphql = s.newGraphQLHandler(schema)
	s.mux.Handle("/graphql", s.authenticate(s.graphql))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	// Metrics hold no victim data, but they describe the hub's traffic: expose this path only to the
	// monitoring network (docs/operating.md).
	s.mux.Handle("GET /metrics", s.metrics.handler())
	s.mux.Handle("/", web.GraphiQL())
	// The mux redirects /dashboard to /dashboard/, so the page's relative asset URLs resolve under it.
	s.mux.Handle("/dashboard/", http.StripPrefix("/dashboard", web.Dashboard()))
	// The partner portal, mounted the same way: its pages call /graphql with the caller's own token.
	s.mux.Handle("/portal/", http.StripPrefix("/portal", web.Portal()))
	return s, nil
}

// ServeHTTP gives every request an id, a body limit and a deadline. The id is the hub's own, never the
// client's: it keys the audit, where a client-chosen id could make two requests look like one.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	w.Header().Set("X-Request-Id", id)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	ctx = withRequestID(ctx, id)
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	s.observe(w, r.WithContext(ctx), s.mux)
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	answer := func(status string) map[string]string {
		return map[string]string{"status": status, "policyVersion": s.cfg.Policy.Version(), "version": s.cfg.Version}
	}
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(answer("draining"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.DB.Ping(ctx); err != nil {
		s.cfg.Logger.WarnContext(ctx, "not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(answer("unavailable"))
		return
	}
	json.NewEncoder(w).Encode(answer("ready"))
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type requestIDKey struct{}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id of the request ctx belongs to.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// writeError answers a request refused before GraphQL execution, in the GraphQL response shape.
func writeError(w http.ResponseWriter, status int, err error) {
	if r, ok := w.(codeRecorder); ok {
		r.recordCode(lindung.CodeOf(err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	ext := map[string]any{"code": lindung.CodeOf(err)}
	if c := lindung.CodeOf(err); c == lindung.EINTERNAL || c == lindung.EUNAVAILABLE {
		ext["requestId"] = w.Header().Get("X-Request-Id") // the id the log line of the error carries
	}
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{
		"message":    lindung.MessageOf(err),
		"extensions": ext,
	}}})
}

// httpStatus maps an error code to the HTTP status of a response refused as a whole.
func httpStatus(code lindung.ErrorCode) int {
	switch code {
	case lindung.EUNAUTHENTICATED:
		return http.StatusUnauthorized
	case lindung.EFORBIDDEN:
		return http.StatusForbidden
	case lindung.EINVALID:
		return http.StatusBadRequest
	case lindung.ENOTFOUND:
		return http.StatusNotFound
	case lindung.ECONFLICT:
		return http.StatusConflict
	case lindung.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case lindung.ELIMITEXCEEDED, lindung.EPERSISTEDQUERYNOTFOUND:
		return http.StatusBadRequest
	case lindung.ERATELIMITED:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}
