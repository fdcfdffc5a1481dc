package reliability_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
)

// bound is how long any one request may take during a fault: far above a healthy request, far below a
// hang (the client gives up at 30 s, the hub's own request deadline is 20 s).
const bound = 15 * time.Second

// TestDatabaseRestartUnderLoad restarts PostgreSQL while clients create victims. Requests during the
// outage fail with UNAVAILABLE within the bound, the hub serves again once the database is back without
// being restarted, and every write the hub acknowledged is in the database afterwards.
func TestDatabaseRestartUnderLoad(t *testing.T) {
	pg := newPrivatePG(t)
	db := pg.setUp(20, postgres.Options{MaxConns: 8, AcquireTimeout: 2 * time.Second})
	h := newTestHub(t, db)
	officer := h.token(t, demo.SlugKPWKM, demo.RoleProtectionOfficer)

	var (
		mu       sync.Mutex
		acked    []string
		codes    = map[string]int{}
		slowest  time.Duration
		seq      atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		failures []string
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ref := fmt.Sprintf("RST-2099-%06d", seq.Add(1))
				start := time.Now()
				res, err := post(h.client, h.URL, officer, createVictim, map[string]any{"in": map[string]any{"caseRef": ref}})
				took := time.Since(start)
				mu.Lock()
				slowest = max(slowest, took)
				switch {
				case err != nil:
					failures = append(failures, err.Error())
				case res.code() == "" && res.Status == 200:
					acked = append(acked, ref)
					codes["OK"]++
				default:
					codes[fmt.Sprintf("%d %s", res.Status, res.code())]++
				}
				mu.Unlock()
				if err != nil || res.code() != "" {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	pg.stop()
	time.Sleep(1500 * time.Millisecond)
	pg.start()
	// Recovery: the same hub, without a restart, serves again.
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := post(h.client, h.URL, officer, `{ viewer { username } }`, nil)
		if err == nil && res.code() == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub did not recover within 20 s of the database's return: %v %v", err, res)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()

	t.Logf("outcomes %v, slowest request %s, %d acknowledged writes", codes, slowest, len(acked))
	if len(failures) > 0 {
		t.Errorf("%d requests got no answer: %v", len(failures), failures[0])
	}
	if slowest > bound {
		t.Errorf("a request took %s during the restart: more than the bound of %s", slowest, bound)
	}
	for c, n := range codes {
		if c != "OK" && c != "503 UNAVAILABLE" {
			t.Errorf("%d requests failed with %s; want only 503 UNAVAILABLE during the outage", n, c)
		}
	}
	if codes["503 UNAVAILABLE"] == 0 {
		t.Errorf("no request saw the outage: the restart did not happen under load")
	}
	var present int
	admin, err := pgx.Connect(context.Background(), pg.url("lindung")) // the runtime login sees no rows outside a request
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if err := admin.QueryRow(context.Background(), `SELECT count(*) FROM victims WHERE case_ref = ANY($1)`, acked).Scan(&present); err != nil {
		t.Fatal(err)
	}
	if present != len(acked) {
		t.Errorf("%d of %d acknowledged victims are in the database after the restart", present, len(acked))
	}
}

// TestPoolExhaustion holds every connection of a small pool with slow requests: the requests that find
// no free connection are refused with UNAVAILABLE and a message saying why, within the acquire timeout,
// instead of waiting for their whole deadline.
func TestPoolExhaustion(t *testing.T) {
	pg := newPrivatePG(t)
	db := pg.setUp(5, postgres.Options{MaxConns: 2, AcquireTimeout: 500 * time.Millisecond})
	h := newTestHub(t, db)
	officer := h.token(t, demo.SlugKPWKM, demo.RoleProtectionOfficer)
	// Hold both connections: this one locks the partners table, and the first request to start waits
	// on the lock with the other.
	lock, err := db.Pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(context.Background(), `BEGIN; LOCK TABLE partners IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make(chan *result, 10)
	durations := make(chan time.Duration, 10)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			res, err := post(h.client, h.URL, officer, `{ viewer { username } }`, nil)
			durations <- time.Since(start)
			if err != nil {
				t.Error(err)
				return
			}
			results <- res
		}()
	}
	time.Sleep(2 * time.Second)
	lock.Exec(context.Background(), `ROLLBACK`)
	lock.Release()
	wg.Wait()
	close(results)
	close(durations)
	busy := 0
	for r := range results {
		switch r.code() {
		case "":
		case "UNAVAILABLE":
			if r.Status != 503 {
				t.Errorf("UNAVAILABLE with HTTP %d", r.Status)
			}
			if msg := r.Errors[0].Message; msg != "the hub is busy: no database connection was free within 500ms; retry shortly" {
				t.Errorf("unclear message: %q", msg)
			}
			busy++
		default:
			t.Errorf("unexpected outcome %s: %s", r.code(), r.Body)
		}
	}
	for d := range durations {
		if d > bound {
			t.Errorf("a request took %s with the pool exhausted", d)
		}
	}
	if busy == 0 {
		t.Error("no request was refused for want of a connection: the pool was not exhausted")
	}
}
