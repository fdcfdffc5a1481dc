// Package telemetry holds the hub's tracing set-up and the instruments that watch parts the server does not
// own: the OTLP exporter (off unless an endpoint is configured), a pgx tracer that makes a span of every SQL
// statement, and a Prometheus collector of the connection pool's statistics.
//
// Nothing here records a value that a request carried or a row held: spans and metrics are named after
// statements' verbs, operations and error codes, so that a trace store or a metrics database never holds
// victim data (see the log-hygiene test in server/telemetry_test.go).
package telemetry

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ServiceName names the hub in traces.
const ServiceName = "lindung"

// Build returns the version of the hub's module as Go recorded it in the binary ("(devel)" for a build
// from a working tree) and the VCS revision it was built from ("unknown" when Go recorded none), for the
// build-info metric and the service.version of spans.
func Build() (version, revision string) {
	version, revision = "(devel)", "unknown"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version, revision
	}
	if v := info.Main.Version; v != "" {
		version = v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			revision = s.Value
		}
	}
	return version, revision
}

// Tracing returns the tracer provider the hub uses. Tracing is on when an OTLP endpoint is configured:
// endpoint (the --otlp-endpoint flag, a URL such as http://collector:4318), or the OpenTelemetry SDKs'
// own OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none turn it off whatever else is set. Otherwise the provider is a no-op, so that
// tracing costs nothing unless an operator asks for it. The rest of the standard configuration is read
// by the SDK itself, as in every OpenTelemetry SDK: OTEL_EXPORTER_OTLP_* (headers, timeout, compression,
// certificates) by the exporter, OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (default
// parentbased_always_on: an incoming sampled traceparent is followed) and OTEL_BSP_* by the provider,
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES by Resource. The exporter speaks OTLP over HTTP; a
// protocol of grpc is refused at start rather than silently ignored. shutdown flushes the spans still
// buffered.
func Tracing(ctx context.Context, endpoint string) (tp trace.TracerProvider, shutdown func(context.Context) error, err error) {
	off := func(context.Context) error { return nil }
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return noop.NewTracerProvider(), off, nil
	}
	switch e := os.Getenv("OTEL_TRACES_EXPORTER"); e {
	case "none":
		return noop.NewTracerProvider(), off, nil
	case "", "otlp":
	default:
		return nil, nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: Lindung exports traces only over OTLP (otlp or none)", e)
	}
	if endpoint == "" && os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return noop.NewTracerProvider(), off, nil
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		if p := os.Getenv(v); p != "" && p != "http/protobuf" && p != "http/json" {
			return nil, nil, fmt.Errorf("%s=%s: Lindung exports OTLP over HTTP (http/protobuf)", v, p)
		}
	}
	var opts []otlptracehttp.Option
	if endpoint != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(endpoint))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	sdk := NewProvider(sdktrace.NewBatchSpanProcessor(exp))
	return sdk, sdk.Shutdown, nil
}

// NewProvider returns an SDK tracer provider that describes the service with Resource, samples as
// OTEL_TRACES_SAMPLER says, and hands every sampled span to processor; tests pass a processor over an
// in-memory exporter.
func NewProvider(processor sdktrace.SpanProcessor) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(processor),
		sdktrace.WithResource(Resource(context.Background())),
	)
}

// Resource describes this process in its spans: service.name (ServiceName), service.version (the build's
// version, or its VCS revision for a development build), a service.instance.id unique to the process (a
// random UUID, so the spans of replicas can be told apart), and the SDK's own attributes; the
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES of the environment override these, as the
// OpenTelemetry specification has it. A malformed OTEL_RESOURCE_ATTRIBUTES is skipped, not fatal.
func Resource(ctx context.Context) *resource.Resource {
	version, revision := Build()
	if version == "(devel)" && revision != "unknown" {
		version = revision
	}
	// resource.New returns the attributes that parsed along with an error for those that did not (a
	// malformed OTEL_RESOURCE_ATTRIBUTES): those are skipped, not fatal.
	r, _ := resource.New(ctx,
		resource.WithService(), // service.instance.id
		resource.WithAttributes(attribute.String("service.name", ServiceName), attribute.String("service.version", version)),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
	)
	if r == nil {
		return resource.NewSchemaless(attribute.String("service.name", ServiceName), attribute.String("service.version", version))
	}
	return r
}

// SQLTracer returns a pgx tracer that makes a client span of every statement. The span carries the
// statement's verb (SELECT, INSERT, ...) and, on failure, the SQLSTATE: never the statement's arguments,
// and never PostgreSQL's error message, which can quote an input value.
func SQLTracer(tp trace.TracerProvider) pgx.QueryTracer {
	return sqlTracer{tp.Tracer("github.com/lindung/lindung/postgres")}
}

type sqlTracer struct{ tracer trace.Tracer }

func (t sqlTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	verb := Verb(d.SQL)
	ctx, _ = t.tracer.Start(ctx, "SQL "+verb, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system.name", "postgresql"), attribute.String("db.operation.name", verb)))
	return ctx
}

func (t sqlTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	span := trace.SpanFromContext(ctx)
	setStatus(span, d.Err)
	span.End()
}

// A pipeline (pgx.Batch: a request's BEGIN with its first statement, its access records with COMMIT) is
// a span "SQL PIPELINE" with a span per statement in it, ended as its result is read.
func (t sqlTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	ctx, _ = t.tracer.Start(ctx, "SQL PIPELINE", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system.name", "postgresql"), attribute.Int("db.operation.batch.size", d.Batch.Len())))
	return ctx
}

func (t sqlTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	verb := Verb(d.SQL)
	_, span := t.tracer.Start(ctx, "SQL "+verb, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(d.ReadStartTime),
		trace.WithAttributes(attribute.String("db.system.name", "postgresql"), attribute.String("db.operation.name", verb)))
	setStatus(span, d.Err)
	span.End()
}

func (t sqlTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchEndData) {
	span := trace.SpanFromContext(ctx)
	setStatus(span, d.Err)
	span.End()
}

// setStatus marks a statement's span failed with its SQLSTATE ("connection" when there is none), and
// nothing else of the error.
func setStatus(span trace.Span, err error) {
	if err == nil {
		return
	}
	state := "connection"
	if pe, ok := err.(*pgconn.PgError); ok {
		state = pe.Code
	}
	span.SetAttributes(attribute.String("db.response.status_code", state))
	span.SetStatus(codes.Error, state)
}

// Verb returns the first keyword of a statement in capitals (WITH for a CTE), or "SQL" for one that starts
// with something else: a bounded name for spans and metrics, whatever the statement holds.
func Verb(sql string) string {
	for _, f := range strings.Fields(sql) {
		if strings.HasPrefix(f, "--") {
			continue
		}
		switch v := strings.ToUpper(strings.TrimRight(f, "(;")); v {
		case "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK", "SET", "COPY", "CREATE",
			"ALTER", "DROP", "LOCK", "CALL", "VALUES", "TRUNCATE", "SAVEPOINT", "RELEASE", "GRANT", "REVOKE":
			return v
		}
		return "SQL"
	}
	return "SQL"
}

// PoolCollector exports the connection pool's statistics (pgxpool.Stat) to Prometheus: connections in use,
// idle and being opened against the maximum, and the waits for a free one, which are the first sign of
// a pool too small for its load.
func PoolCollector(pool *pgxpool.Pool) prometheus.Collector { return &poolCollector{pool: pool} }

type poolCollector struct{ pool *pgxpool.Pool }

var (
	poolAcquired     = prometheus.NewDesc("lindung_db_pool_acquired_connections", "Connections of the pool in use.", nil, nil)
	poolIdle         = prometheus.NewDesc("lindung_db_pool_idle_connections", "Idle connections of the pool.", nil, nil)
	poolConstructing = prometheus.NewDesc("lindung_db_pool_constructing_connections", "Connections being opened.", nil, nil)
	poolTotal        = prometheus.NewDesc("lindung_db_pool_total_connections", "Connections of the pool, in use, idle or being opened.", nil, nil)
	poolMax          = prometheus.NewDesc("lindung_db_pool_max_connections", "Most connections the pool may hold.", nil, nil)
	poolAcquires     = prometheus.NewDesc("lindung_db_pool_acquires_total", "Connections taken from the pool.", nil, nil)
	poolEmpty        = prometheus.NewDesc("lindung_db_pool_empty_acquires_total", "Acquires that had to wait because no connection was idle.", nil, nil)
	poolCanceled     = prometheus.NewDesc("lindung_db_pool_canceled_acquires_total", "Acquires given up because the request ended or timed out first.", nil, nil)
	poolWait         = prometheus.NewDesc("lindung_db_pool_acquire_wait_seconds_total", "Time spent waiting for a connection when none was idle.", nil, nil)
	poolNew          = prometheus.NewDesc("lindung_db_pool_new_connections_total", "Connections opened.", nil, nil)
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolConstructing, poolTotal, poolMax, poolAcquires,
		poolEmpty, poolCanceled, poolWait, poolNew} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(poolAcquired, float64(s.AcquiredConns()))
	gauge(poolIdle, float64(s.IdleConns()))
	gauge(poolConstructing, float64(s.ConstructingConns()))
	gauge(poolTotal, float64(s.TotalConns()))
	gauge(poolMax, float64(s.MaxConns()))
	counter(poolAcquires, float64(s.AcquireCount()))
	counter(poolEmpty, float64(s.EmptyAcquireCount()))
	counter(poolCanceled, float64(s.CanceledAcquireCount()))
	counter(poolWait, s.EmptyAcquireWaitTime().Seconds())
	counter(poolNew, float64(s.NewConnsCount()))
}
