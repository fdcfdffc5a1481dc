package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// TestAuditUnderLoad runs 8 clients for 3 seconds reading pages of victims of varying size, and checks that
// the access records of every request name exactly the victims its response disclosed: one record per
// victim, none missing, none extra, whatever the concurrency.
func TestAuditUnderLoad(t *testing.T) {
	db := seed(t, pgtest.NewDemo(t), -1, postgres.Options{})
	h := newTestHub(t, db)
	officer := h.token(t, demo.SlugKPWKM, demo.RoleProtectionOfficer)
	type seen struct {
		requestID string
		ids       map[string]bool
	}
	var (
		mu   sync.Mutex
		all  []seen
		wg   sync.WaitGroup
		end  = time.Now().Add(3 * time.Second)
		errs atomic.Int64
	)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(end); i++ {
				n := 1 + (c*7+i*13)%40
				res, err := post(h.client, h.URL, officer, `query($n: Int!) { victims(first: $n) { edges { node { id caseRef legalName } } } }`,
					map[string]any{"n": n})
				if err != nil || res.code() != "" {
					errs.Add(1)
					continue
				}
				var d struct {
					Victims struct {
						Edges []struct{ Node struct{ ID string } }
					}
				}
				json.Unmarshal(res.Data, &d)
				ids := map[string]bool{}
				for _, e := range d.Victims.Edges {
					ids[e.Node.ID] = true
				}
				mu.Lock()
				all = append(all, seen{res.RequestID, ids})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if errs.Load() > 0 {
		t.Errorf("%d requests failed under load", errs.Load())
	}
	recorded := map[string]map[string]int{}
	rows, _ := db.Pool.Query(context.Background(), `SELECT request_id, victim_id::text FROM access_records`)
	for _, r := range must(pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ R, V string }])) {
		if recorded[r.R] == nil {
			recorded[r.R] = map[string]int{}
		}
		recorded[r.R][r.V]++
	}
	disclosures := 0
	for _, s := range all {
		disclosures += len(s.ids)
		got := recorded[s.requestID]
		if len(got) != len(s.ids) {
			t.Errorf("request %s disclosed %d victims, its access records name %d", s.requestID, len(s.ids), len(got))
			continue
		}
		for id, n := range got {
			if !s.ids[id] || n != 1 {
				t.Errorf("request %s: access records for %s: %d (disclosed: %v)", s.requestID, id, n, s.ids[id])
			}
		}
	}
	t.Logf("%d requests, %d disclosures, each with exactly one access record", len(all), disclosures)
	if len(all) < 8 {
		t.Fatalf("only %d requests completed", len(all))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestSoak drives the hub at a fixed rate with mixed reads and writes for LINDUNG_SOAK (a duration; 8 s
// when unset, the CI run) and checks that no request failed with a 5xx and that the heap and the
// goroutines stay flat: measured after a warm-up and at the end, each after a GC, with room for noise.
func TestSoak(t *testing.T) {
	length := 8 * time.Second
	if v := os.Getenv("LINDUNG_SOAK"); v != "" {
		length = must(time.ParseDuration(v))
	}
	db := seed(t, pgtest.NewDemo(t), -1, postgres.Options{})
	h := newTestHub(t, db)
	officer := h.token(t, demo.SlugKPWKM, demo.RoleProtectionOfficer)
	ngo := h.token(t, demo.SlugNGOHarapan, demo.RoleNGOCaseworker)
	const rate = 40 // requests a second
	sample := func() (uint64, int) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc, runtime.NumGoroutine()
	}
	var (
		wg       sync.WaitGroup
		n, fives atomic.Int64
		seq      atomic.Int64
		heap0    uint64
		gor0     int
	)
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	start := time.Now()
	warm := start.Add(length / 4)
	for time.Since(start) < length {
		<-tick.C
		if heap0 == 0 && time.Now().After(warm) {
			wg.Wait()
			heap0, gor0 = sample()
		}
		i := n.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res *result
			var err error
			switch i % 4 {
			case 0:
				res, err = post(h.client, h.URL, officer, createVictim, map[string]any{"in": map[string]any{
					"caseRef": fmt.Sprintf("SOK-2099-%06d", seq.Add(1)), "legalName": "Soak"}})
			case 1:
				res, err = post(h.client, h.URL, ngo, `{ victims(first: 10) { edges { node { caseRef languages } } } referrals { status } }`, nil)
			default:
				res, err = post(h.client, h.URL, officer, `{ victims(first: 20) { totalCount edges { node { caseRef legalName placements { fromDate } protectionOrders { type } } } } }`, nil)
			}
			if err != nil || res.Status >= 500 {
				fives.Add(1)
			}
		}()
	}
	wg.Wait()
	h.client.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(200 * time.Millisecond)
	heap1, gor1 := sample()
	t.Logf("%d requests in %s; heap %d -> %d KiB, goroutines %d -> %d", n.Load(), length, heap0>>10, heap1>>10, gor0, gor1)
	if fives.Load() > 0 {
		t.Errorf("%d requests failed with a 5xx or no answer", fives.Load())
	}
	if heap1 > 2*heap0+16<<20 {
		t.Errorf("heap grew from %d to %d KiB", heap0>>10, heap1>>10)
	}
	if gor1 > gor0+20 {
		t.Errorf("goroutines grew from %d to %d", gor0, gor1)
	}
}

// TestBackupRestore dumps a hub's database with pg_dump -Fc, restores it with pg_restore into a fresh
// database (created here and dropped after), and queries the restored copy through a hub: the README's
// backup and restore steps, run once.
func TestBackupRestore(t *testing.T) {
	for _, p := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required in CI", p)
			}
			t.Skipf("no %s", p)
		}
	}
	src := pgtest.NewDemo(t)
	dump := t.TempDir() + "/lindung.dump"
	if out, err := exec.Command("pg_dump", "-Fc", "-f", dump, "--dbname", src).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	restored := blankDatabase(t)
	if out, err := exec.Command("pg_restore", "--exit-on-error", "--no-owner", "--dbname", restored, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	db := seed(t, restored, -1, postgres.Options{})
	h := newTestHub(t, db)
	officer := h.token(t, demo.SlugKPWKM, demo.RoleProtectionOfficer)
	res, err := post(h.client, h.URL, officer, `{ victims(first: 1) { totalCount } }`, nil)
	if err != nil || res.code() != "" {
		t.Fatalf("query the restored hub: %v %s", err, res.Body)
	}
	var d struct{ Victims struct{ TotalCount int } }
	json.Unmarshal(res.Data, &d)
	var want int
	srcDB := seed(t, src, -1, postgres.Options{})
	srcDB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM victims v JOIN partners p ON p.id = v.owner_partner_id WHERE p.slug = 'kpwkm'`).Scan(&want)
	if d.Victims.TotalCount != want || want == 0 {
		t.Errorf("restored hub shows %d of the officer's victims, the original %d", d.Victims.TotalCount, want)
	}
}

// blankDatabase creates a database with nothing in it on the test server, dropped when the test ends: the
// target of a restore.
func blankDatabase(t *testing.T) string {
	t.Helper()
	server := os.Getenv("LINDUNG_TEST_DATABASE_URL")
	if server == "" {
		server = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u := must(url.Parse(server))
	admin, err := pgx.Connect(context.Background(), server)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	name := fmt.Sprintf("lindung_restore_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := admin.Exec(context.Background(), `CREATE DATABASE `+name+` TEMPLATE template0`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), server)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		conn.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	})
	u.Path = "/" + name
	return u.String()
}
