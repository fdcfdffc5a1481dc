package server

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/resolvers"
	"github.com/lindung/lindung/telemetry"
)

// The hub's telemetry: Prometheus metrics, an access log line per request, and OpenTelemetry spans. None
// of it carries a value a request sent or a row held. Metric labels and span attributes are operation
// signatures, error codes, withheld-field reasons, data categories and database error classes: words of
// the hub's vocabulary, never data.
//
// The operation label is never the client's operationName, which any caller can vary at will (and a
// federation router generates afresh, X__lindung__N): it is "doc:" and the start of the hash of a trusted
// document (the operator's allow-list bounds these), or else the operation's signature: its type and the
// schema's root fields it selects, sorted ("query:victim+victims"), which a caller can vary only within the
// schema. Signatures are kept in a set of at most maxOperationLabels, evicting the least recently seen
// (and deleting its series): a flood of unusual signatures churns only the rarest labels, and an operation
// in regular use is never pushed into a catch-all.

// maxOperationLabels bounds the distinct operation labels of one process.
const maxOperationLabels = 200

// maxSignatureLength bounds a signature label; a longer one is cut and tagged with a hash of the whole.
const maxSignatureLength = 120

// unparsed labels a request refused before its operation was known (no token, rate limit, bad body).
const unparsed = "unparsed"

// metrics are the hub's Prometheus instruments.
type metrics struct {
	registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	withheld      *prometheus.CounterVec
	dbErrors      *prometheus.CounterVec
	auditFailures prometheus.Counter
	rateLimited   prometheus.Counter
	disclosures   prometheus.Counter

	mu     sync.Mutex
	labels *list.List               // operation labels, most recently seen first
	byName map[string]*list.Element // label → its element in labels
}

func newMetrics(cfg *Config) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lindung_requests_total",
			Help: "GraphQL requests by operation (trusted document or signature) and outcome code (OK, or the first error's extensions.code)."},
			[]string{"operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lindung_request_duration_seconds",
			Help:    "Time from receiving a GraphQL request to its last byte, by operation (trusted document or signature).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"operation"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "lindung_requests_in_flight",
			Help: "GraphQL requests being served now."}),
		withheld: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lindung_withheld_fields_total",
			Help: "Fields withheld from responses, by reason (NOT_PERMITTED, NO_CONSENT) and data category."},
			[]string{"reason", "category"}),
		dbErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lindung_db_errors_total",
			Help: "Database errors that reached a response, by class: connection, timeout, integrity, transaction, data, access, resources, operator, other."},
			[]string{"class"}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "lindung_audit_write_failures_total",
			Help: "Responses withheld because their access records could not be written or committed."}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{Name: "lindung_rate_limited_total",
			Help: "Requests refused by a rate limit (RATE_LIMITED)."}),
		disclosures: prometheus.NewCounter(prometheus.CounterOpts{Name: "lindung_access_records_total",
			Help: "Access records written: one per victim disclosed per request."}),
		labels: list.New(),
		byName: map[string]*list.Element{},
	}
	for _, c := range dbErrorClasses {
		m.dbErrors.WithLabelValues(c)
	}
	version, revision := telemetry.Build()
	m.registry.MustRegister(m.requests, m.duration, m.inFlight, m.withheld, m.dbErrors, m.auditFailures, m.rateLimited,
		m.disclosures, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lindung_build_info",
			Help:        "Always 1; the labels say which build this replica runs.",
			ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()}},
			func() float64 { return 1 }))
	if pol := cfg.Policy; pol != nil {
		m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lindung_policy_decisions_total",
			Help: "Questions asked of Casbin while compiling decisions; flat once every (roles, purpose) pair is cached."},
			func() float64 { return float64(pol.Decisions()) }))
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lindung_policy_info",
			Help:        "Always 1; the label is the version of the policy this replica runs, to check replicas agree.",
			ConstLabels: prometheus.Labels{"version": pol.Version()}}, func() float64 { return 1 }))
	}
	if cfg.DB != nil {
		m.registry.MustRegister(telemetry.PoolCollector(cfg.DB.Pool))
	}
	return m
}

// operationLabel returns the metric label of an operation's signature (see operationSignature), marking
// it the most recently seen; when the set is full the least recently seen label is evicted and its series
// deleted.
func (m *metrics) operationLabel(signature string) string {
	if signature == "" {
		return unparsed
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.byName[signature]; ok {
		m.labels.MoveToFront(e)
		return signature
	}
	if m.labels.Len() >= maxOperationLabels {
		oldest := m.labels.Back()
		name := oldest.Value.(string)
		m.labels.Remove(oldest)
		delete(m.byName, name)
		m.requests.DeletePartialMatch(prometheus.Labels{"operation": name})
		m.duration.DeletePartialMatch(prometheus.Labels{"operation": name})
	}
	m.byName[signature] = m.labels.PushFront(signature)
	return signature
}

// operationSignature names an operation for metrics and spans by what it is, not by what its client calls
// it: "doc:" and the first 16 hex digits of a trusted document's hash, or the operation's type and the
// distinct root fields it selects (through fragments, @skip and @include), sorted and joined by "+".
func (s *Server) operationSignature(op *graphql.OperationContext) string {
	if op == nil || op.Operation == nil {
		return ""
	}
	if s.cfg.TrustedDocuments != nil {
		if h := documentHash(op.RawQuery); s.cfg.TrustedDocuments.has(h) {
			return "doc:" + h[:16]
		}
	}
	root := "Query"
	if op.Operation.Operation == ast.Mutation {
		root = "Mutation"
	}
	var names []string
	for _, f := range graphql.CollectFields(op, op.Operation.SelectionSet, []string{root}) {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	sig := string(op.Operation.Operation) + ":" + strings.Join(slices.Compact(names), "+")
	if len(sig) > maxSignatureLength {
		sum := sha256.Sum256([]byte(sig))
		sig = sig[:maxSignatureLength-9] + "~" + hex.EncodeToString(sum[:4])
	}
	return sig
}

// dbErrorClasses are the labels of lindung_db_errors_total, all exported from the start at 0.
var dbErrorClasses = []string{"connection", "timeout", "integrity", "transaction", "data", "access", "resources", "operator", "other"}

// dbErrorClass returns the class of a database error err holds, by its SQLSTATE class or, for one that never
// reached PostgreSQL, by what failed; ok is false for an error that is not the database's.
func dbErrorClass(err error) (class string, ok bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch code := pe.Code; {
		case strings.HasPrefix(code, "08"):
			return "connection", true
		case strings.HasPrefix(code, "23"):
			return "integrity", true
		case strings.HasPrefix(code, "40"):
			return "transaction", true
		case strings.HasPrefix(code, "22"):
			return "data", true
		case strings.HasPrefix(code, "42"):
			return "access", true
		case strings.HasPrefix(code, "53"):
			return "resources", true
		case code == "57014":
			return "timeout", true
		case strings.HasPrefix(code, "57"):
			return "operator", true
		}
		return "other", true
	}
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &ce), errors.Is(err, puddle.ErrClosedPool), errors.Is(err, pgx.ErrTxClosed):
		return "connection", true
	case pgconn.Timeout(err):
		return "timeout", true
	case pgconn.SafeToRetry(err):
		return "connection", true
	}
	return "", false
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// observation is what one HTTP request learns about itself on the way, for its metrics, log line and span:
// filled by writeError (a refusal before GraphQL) or by the telemetry extension (a GraphQL response).
type observation struct {
	mu        sync.Mutex
	operation string
	code      string
	// notExecuted says the response leaving is a request error: nothing was executed, so the response
	// has no data entry at all (see withoutData).
	notExecuted bool
}

type observationKey struct{}

func observationFrom(ctx context.Context) *observation {
	o, _ := ctx.Value(observationKey{}).(*observation)
	return o
}

func (o *observation) set(operation, code string) {
	if o == nil {
		return
	}
	o.mu.Lock()
	if operation != "" {
		o.operation = operation
	}
	if code != "" {
		o.code = code
	}
	o.mu.Unlock()
}

// observedWriter remembers the status a handler sent, and takes the code of a refusal from writeError.
type observedWriter struct {
	http.ResponseWriter
	obs    *observation
	status int
}

func (w *observedWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *observedWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// recordCode is called by writeError with the code of a request refused before GraphQL ran.
func (w *observedWriter) recordCode(code lindung.ErrorCode) { w.obs.set("", string(code)) }

// codeRecorder is the writer of an observed request.
type codeRecorder interface{ recordCode(lindung.ErrorCode) }

// observe runs next for one HTTP request with a span around it, then counts and logs it.
func (s *Server) observe(w http.ResponseWriter, r *http.Request, next http.Handler) {
	start := time.Now()
	obs := &observation{}
	ctx := context.WithValue(r.Context(), observationKey{}, obs)
	route := routeOf(r.URL.Path)
	// A caller's W3C traceparent (a gateway's span, say) makes this request's span its child, so that a
	// trace runs on from the gateway into the hub. Only the trace context is taken: baggage, which a caller
	// could fill with anything, is not.
	ctx = propagation.TraceContext{}.Extract(ctx, propagation.HeaderCarrier(r.Header))
	ctx, span := s.tracer.Start(ctx, r.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("http.route", route),
			attribute.String("lindung.request_id", RequestID(ctx))))
	defer span.End()
	ow := &observedWriter{ResponseWriter: w, obs: obs}
	if route == "/graphql" {
		s.metrics.inFlight.Inc()
		defer s.metrics.inFlight.Dec()
	}
	next.ServeHTTP(ow, r.WithContext(ctx))
	status := ow.status
	if status == 0 {
		status = http.StatusOK
	}
	elapsed := time.Since(start)
	obs.mu.Lock()
	op, code := obs.operation, obs.code
	obs.mu.Unlock()
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if route == "/graphql" {
		if code == "" {
			code = codeOfStatus(status)
		}
		label := s.metrics.operationLabel(op)
		s.metrics.requests.WithLabelValues(label, code).Inc()
		s.metrics.duration.WithLabelValues(label).Observe(elapsed.Seconds())
		if code == string(lindung.ERATELIMITED) {
			s.metrics.rateLimited.Inc()
		}
		span.SetAttributes(attribute.String("lindung.operation", label), attribute.String("lindung.code", code))
		if status >= 500 {
			span.SetStatus(codes.Error, code)
		}
		s.cfg.Logger.InfoContext(ctx, "request", "method", r.Method, "path", route, "status", status,
			"operation", label, "code", code, "duration_ms", elapsed.Milliseconds())
		return
	}
	s.cfg.Logger.DebugContext(ctx, "request", "method", r.Method, "path", route, "status", status,
		"duration_ms", elapsed.Milliseconds())
}

// routeOf names the handler a path reaches, so that a span or log line never holds a path a client made up.
func routeOf(path string) string {
	switch path {
	case "/graphql", "/healthz", "/readyz", "/metrics", "/":
		return path
	}
	if len(path) >= len("/dashboard") && path[:len("/dashboard")] == "/dashboard" {
		return "/dashboard"
	}
	if len(path) >= len("/portal") && path[:len("/portal")] == "/portal" {
		return "/portal"
	}
	return "other"
}

// codeOfStatus is the outcome code of a request whose handler recorded none.
func codeOfStatus(status int) string {
	switch {
	case status < 400:
		return "OK"
	case status == http.StatusUnauthorized:
		return string(lindung.EUNAUTHENTICATED)
	case status == http.StatusTooManyRequests:
		return string(lindung.ERATELIMITED)
	case status >= 500:
		return string(lindung.EINTERNAL)
	}
	return "HTTP_" + strconv.Itoa(status)
}

// telemetryExtension is the outermost GraphQL interceptor: it sees every response as it leaves (after the
// audit and commit of aroundOperation, and the refusals of validation and the request guard), records its
// operation and code, and counts its withheld fields. When tracing is on, fieldSpans adds a span for each
// resolver.
type telemetryExtension struct {
	s *Server
}

var (
	_ graphql.HandlerExtension     = telemetryExtension{}
	_ graphql.OperationInterceptor = telemetryExtension{}
	_ graphql.ResponseInterceptor  = telemetryExtension{}
)

func (telemetryExtension) ExtensionName() string                   { return "LindungTelemetry" }
func (telemetryExtension) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation records the final response of an operation.
func (e telemetryExtension) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	responses := next(ctx)
	op := graphql.GetOperationContext(ctx)
	return func(ctx context.Context) *graphql.Response {
		resp := responses(ctx)
		if resp == nil {
			return nil
		}
		e.s.recordResponse(ctx, op, resp)
		if w, ok := resp.Extensions["withheld"].([]resolvers.Withheld); ok {
			for _, x := range w {
				e.s.metrics.withheld.WithLabelValues(x.Reason, x.Category).Add(float64(len(x.Paths)))
			}
		}
		return resp
	}
}

// InterceptResponse records responses refused before the operation ran (validation, limits); an operation's
// own response is recorded again, finally, by InterceptOperation.
func (e telemetryExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil {
		if resp.Data == nil && len(resp.Errors) > 0 {
			if o := observationFrom(ctx); o != nil {
				o.mu.Lock()
				o.notExecuted = true
				o.mu.Unlock()
			}
		}
		var op *graphql.OperationContext
		if graphql.HasOperationContext(ctx) {
			op = graphql.GetOperationContext(ctx)
		}
		e.s.recordResponse(ctx, op, resp)
	}
	return resp
}

func (s *Server) recordResponse(ctx context.Context, op *graphql.OperationContext, resp *graphql.Response) {
	code := "OK"
	if len(resp.Errors) > 0 {
		code, _ = resp.Errors[0].Extensions["code"].(string)
		if code == "" {
			code = string(lindung.EINTERNAL)
		}
	}
	observationFrom(ctx).set(s.operationSignature(op), code)
}

// fieldSpans makes a span of every field that runs a resolver, named after the schema's type and field:
// never an alias, an argument or a value.
type fieldSpans struct{ tracer trace.Tracer }

var _ graphql.FieldInterceptor = fieldSpans{}

func (fieldSpans) ExtensionName() string                   { return "LindungFieldSpans" }
func (fieldSpans) Validate(graphql.ExecutableSchema) error { return nil }

func (f fieldSpans) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !fc.IsResolver {
		return next(ctx)
	}
	ctx, span := f.tracer.Start(ctx, "resolve "+fc.Object+"."+fc.Field.Name,
		trace.WithAttributes(attribute.String("graphql.field.parent", fc.Object), attribute.String("graphql.field.name", fc.Field.Name)))
	defer span.End()
	res, err := next(ctx)
	if err != nil {
		span.SetStatus(codes.Error, string(lindung.CodeOf(err)))
	}
	return res, err
}

// tracingOn reports whether tp records anything: the no-op provider, the default, does not, and then no
// field interceptor is installed at all.
func tracingOn(tp trace.TracerProvider) bool {
	if tp == nil {
		return false
	}
	_, isNoop := tp.(noop.TracerProvider)
	return !isNoop
}

// requestIDHandler adds the request id of the context to every log record that does not carry one, so that
// every line a request causes can be found by the id its client was given (X-Request-Id). It also keeps
// PostgreSQL's error text out of the log: an error holding a *pgconn.PgError is logged as its SQLSTATE,
// constraint and table, because PostgreSQL quotes input values in some messages ("invalid input syntax
// for type uuid: ..."), and the log must never hold what a victim's record holds.
type requestIDHandler struct{ inner slog.Handler }

func (h requestIDHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	hasID := false
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "request_id" {
			hasID = true
		}
		out.AddAttrs(safeAttr(a))
		return true
	})
	if id := RequestID(ctx); id != "" && !hasID {
		out.AddAttrs(slog.String("request_id", id))
	}
	return h.inner.Handle(ctx, out)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.inner.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.inner.WithGroup(name)}
}

// safeAttr logs an error without the values it may quote. A *pgconn.PgError is logged as its SQLSTATE,
// constraint and table; any other error's text keeps its words but loses what it quotes: gqlgen's
// argument errors, strconv's and PostgreSQL's own messages quote the offending input ("... \"<value>\" is
// not a date"), and the input may be a victim's name typed into the wrong field.
func safeAttr(a slog.Attr) slog.Attr {
	err, ok := a.Value.Any().(error)
	if !ok {
		return a
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return slog.String(a.Key, quoted.ReplaceAllString(err.Error(), `"…"`))
	}
	what := "postgres error " + pe.Code
	if pe.ConstraintName != "" {
		what += " constraint " + pe.ConstraintName
	}
	if pe.TableName != "" {
		what += " table " + pe.TableName
	}
	if de := (*lindung.Error)(nil); errors.As(err, &de) {
		what = string(de.Code) + ": " + de.Message + " (" + what + ")"
	}
	return slog.String(a.Key, what)
}

// quoted matches a double- or single-quoted stretch of an error message, escapes included.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
