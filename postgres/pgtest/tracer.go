package pgtest

import (
	"context"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Tracer is a pgx tracer (postgres.Options.Tracer) that counts the statements sent to PostgreSQL and the
// round trips they took, and keeps the text of the statements sent while it records. A statement on its
// own is one round trip; a pipeline (pgx.Batch: the hub sends BEGIN with a request's first statement and
// COMMIT with its access records) is one, and each statement in it is counted when the pipeline is sent.
// Every test that counts statements uses it, so that none can miss the pipelined ones: an assertion that
// no SQL ran would otherwise pass while pipelines ran.
//
// With DEBUG_SQL set, it prints the start of every statement.
type Tracer struct {
	statements, roundTrips atomic.Int64

	mu        sync.Mutex
	recording bool
	sql       []string
}

// Statements is the number of statements sent so far, pipelined ones included.
func (t *Tracer) Statements() int64 { return t.statements.Load() }

// RoundTrips is the number of exchanges with PostgreSQL so far.
func (t *Tracer) RoundTrips() int64 { return t.roundTrips.Load() }

// Record starts keeping the text of the statements sent, dropping what was kept before.
func (t *Tracer) Record() {
	t.mu.Lock()
	t.recording, t.sql = true, nil
	t.mu.Unlock()
}

// Stop stops keeping statements and returns those kept since Record.
func (t *Tracer) Stop() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.recording = false
	return t.sql
}

func (t *Tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	t.roundTrips.Add(1)
	t.statement(d.SQL)
	return ctx
}

func (t *Tracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (t *Tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	t.roundTrips.Add(1)
	for _, q := range d.Batch.QueuedQueries {
		t.statement(q.SQL)
	}
	return ctx
}

func (t *Tracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (t *Tracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

var debugSQL = os.Getenv("DEBUG_SQL") != ""

func (t *Tracer) statement(sql string) {
	t.statements.Add(1)
	t.mu.Lock()
	if t.recording {
		t.sql = append(t.sql, sql)
	}
	t.mu.Unlock()
	if debugSQL {
		q := strings.Join(strings.Fields(sql), " ")
		if len(q) > 90 {
			q = q[:90]
		}
		println("SQL:", q)
	}
}
