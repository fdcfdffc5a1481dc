package postgres_test

import (
	"context"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// TestSilentDatabaseDoesNotHoldARequest: when the database stops answering in the middle of a request (a
// network partition: the connection stays open and nothing comes back), the request is not held until the
// operating system gives up on the connection, which takes minutes. A statement returns when the request's
// context ends; a ROLLBACK, which runs even after that, returns within its own bound. Neither connection,
// whose messages may still be on their way, is handed to another request: once the network is back, the
// next request works on a new one. The hub's own transactions (the sequencer's, retention's) roll back
// within the same bound.
func TestSilentDatabaseDoesNotHoldARequest(t *testing.T) {
	t.Parallel()
	// pgx takes up to 30 s to close a connection the database stopped answering on, and it holds its place
	// in the pool meanwhile: of open's four, one is left for the next request.
	db, proxy := openBehindProxy(t)
	querying, rollingBack := session(t, db, scopeCases[1]), session(t, db, scopeCases[1])
	own, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	proxy.partitioned.Store(true)

	within := func(what string, limit time.Duration, fn func()) {
		t.Helper()
		done := make(chan struct{})
		go func() {
			fn()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(limit):
			proxy.close() // so that the waiting call, and the test's cleanup behind it, end
			t.Fatalf("%s still waits on a database that stopped answering, after %s", what, limit)
		}
	}
	within("a statement whose request ended", 10*time.Second, func() {
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := querying.QueryForTest(qctx, `SELECT 1`); err == nil {
			t.Error("a statement answered on a database that stopped answering")
		}
	})
	within("Rollback", 20*time.Second, func() { rollingBack.Rollback(ctx) })
	within("the hub's own transaction's rollback", 20*time.Second, func() { postgres.RollbackTx(ctx, own) })
	if n := db.Pool.Stat().IdleConns(); n != 0 {
		t.Errorf("after the partition: %d idle connections, want the silent ones not pooled", n)
	}

	proxy.partitioned.Store(false)
	s := session(t, db, scopeCases[1])
	if got, err := s.QueryForTest(ctx, `SELECT 'answer'`); err != nil || len(got) != 1 || got[0] != "answer" {
		t.Errorf("the next request once the network is back: %v, %v", got, err)
	}
}

// TestAbandonedTransactionEnds: a request's transaction that the hub abandons (its host dies, or the
// network between them fails, while the transaction holds a lock) is ended by PostgreSQL once it has sat
// idle for the time the request had left and the ROLLBACK's bound, and its locks go with it. A session
// started without a deadline keeps the server's setting.
func TestAbandonedTransactionEnds(t *testing.T) {
	t.Parallel()
	db, proxy := openBehindProxy(t)
	var serverIdle string
	mustScan(t, db, []any{&serverIdle}, `SELECT current_setting('idle_in_transaction_session_timeout')`)

	unbounded := session(t, db, scopeCases[1])
	if got, err := unbounded.QueryForTest(ctx, `SELECT current_setting('idle_in_transaction_session_timeout')`); err != nil || len(got) != 1 || got[0] != serverIdle {
		t.Errorf("a session without a deadline: idle_in_transaction_session_timeout %v, %v; want the server's %s", got, err, serverIdle)
	}
	unbounded.Rollback(ctx)

	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s := sessionWithin(t, rctx, db, scopeCases[1])
	got, err := s.QueryForTest(ctx, `SELECT current_setting('idle_in_transaction_session_timeout')`)
	if err != nil {
		t.Fatal(err)
	}
	if idle, err := time.ParseDuration(got[0]); err != nil || idle <= 5*time.Second || idle > 7*time.Second {
		t.Errorf("a request with 2 s left: idle_in_transaction_session_timeout %q, want those and the ROLLBACK's 5 s", got[0])
	}
	if _, err := s.QueryForTest(ctx, `SELECT pg_advisory_xact_lock(7)::text`); err != nil {
		t.Fatal(err)
	}

	proxy.partitioned.Store(true) // the hub's host is gone: nothing more reaches the database
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var free bool
		if mustScan(t, db, []any{&free}, `SELECT pg_try_advisory_xact_lock(7)`); free {
			break
		}
		if time.Now().After(deadline) {
			proxy.close() // so that the test's cleanup, which rolls the session back, ends
			t.Fatal("the abandoned transaction still holds its lock after 20 s")
		}
	}
}

// openBehindProxy opens the store (open) on a demo database through a partitionProxy; fixtures and checks
// (mustScan) reach the database directly. The proxy closes before the pool, whose Close would otherwise
// wait up to 15 s for pgx to give up on the connections the database stopped answering on.
func openBehindProxy(t *testing.T) (*postgres.DB, *partitionProxy) {
	t.Helper()
	proxy := newPartitionProxy(t, pgtest.NewDemo(t))
	db := open(t, proxy.url)
	t.Cleanup(proxy.close)
	return db, proxy
}

// partitionProxy forwards TCP between the store and PostgreSQL. While partitioned is set it reads what
// either side sends and delivers none of it, as a network partition would, and both connections stay
// open; a side that closes its connection still closes the other.
type partitionProxy struct {
	url         string
	partitioned atomic.Bool
	listener    net.Listener

	mu    sync.Mutex
	conns []net.Conn
}

func newPartitionProxy(t *testing.T, target string) *partitionProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &partitionProxy{listener: l}
	via := *u
	via.Host = l.Addr().String()
	p.url = via.String()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", u.Host)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go p.forward(c, up)
			go p.forward(up, c)
		}
	}()
	return p
}

// close stops accepting and closes every connection.
func (p *partitionProxy) close() {
	p.listener.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

func (p *partitionProxy) forward(from, to net.Conn) {
	defer from.Close()
	defer to.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 && !p.partitioned.Load() {
			if _, err := to.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
