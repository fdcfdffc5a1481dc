package postgres_test

import (
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// TestRollbackDoesNotWaitOnASilentDatabase: when the database stops answering in the middle of a request
// (a network partition: the connection stays open and nothing comes back), the request's ROLLBACK does
// not hold it until the operating system gives up on the connection, which takes minutes. Rollback
// returns within its bound, and the connection, whose ROLLBACK may still be on its way, is never handed
// to another request: once the network is back, the next request works on a new one.
func TestRollbackDoesNotWaitOnASilentDatabase(t *testing.T) {
	t.Parallel()
	proxy := newPartitionProxy(t, pgtest.NewDemo(t))
	db, err := postgres.Open(ctx, proxy.url, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	s := session(t, db, scopeCases[1])
	if _, err := s.QueryForTest(ctx, `SELECT 1`); err != nil {
		t.Fatal(err)
	}

	proxy.partitioned.Store(true)
	done := make(chan struct{})
	go func() {
		s.Rollback(ctx)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		proxy.close() // so that the waiting rollback, and the test's cleanup behind it, end
		t.Fatal("Rollback still waits on a database that stopped answering, after 20 s")
	}
	if n := db.Pool.Stat().IdleConns(); n != 0 {
		t.Errorf("after the rollback gave up: %d idle connections, want the silent one not pooled", n)
	}

	proxy.partitioned.Store(false)
	s = session(t, db, scopeCases[1])
	if got, err := s.QueryForTest(ctx, `SELECT 'answer'`); err != nil || len(got) != 1 || got[0] != "answer" {
		t.Errorf("the next request once the network is back: %v, %v", got, err)
	}
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
	t.Cleanup(p.close)
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
