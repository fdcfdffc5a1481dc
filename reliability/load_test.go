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
	"strings"
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
	url := pgtest.NewDemo(t)
	db := openStore(t, url, postgres.Options{})
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
	admin, err := pgx.Connect(context.Background(), pgtest.SuperuserURL(url)) // outside a request, the runtime login sees no record
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	rows, _ := admin.Query(context.Background(), `SELECT request_id, victim_id::text FROM access_records`)
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
	db := openStore(t, pgtest.NewDemo(t), postgres.Options{})
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

// TestBackupRestore runs docs/operating.md's backup and restore steps once, onto a fresh cluster (a private instance
// started by the test): the cluster's roles with pg_dumpall --roles-only, the database with pg_dump -Fc as
// the owner login; then, on the new cluster, the roles, a database for the owner, and pg_restore keeping
// owners and grants, and ANALYZE. The restored hub serves the same victims through its runtime login, which
// still owns nothing (serve's start-up check passes), the owner can still migrate it, and the planner has
// the tables' statistics.
func TestBackupRestore(t *testing.T) {
	for _, p := range []string{"pg_dump", "pg_restore", "pg_dumpall", "psql"} {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required in CI", p)
			}
			t.Skipf("no %s", p)
		}
	}
	src := pgtest.NewDemo(t)
	dir := t.TempDir()
	roles, dump := dir+"/lindung-roles.sql", dir+"/lindung.dump"
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		return string(out)
	}
	run("pg_dumpall", "--roles-only", "-f", roles, "--dbname", serverURL("postgres"))
	run("pg_dump", "-Fc", "-f", dump, "--dbname", pgtest.OwnerURL(src))

	pg := newPrivatePG(t)
	out := run("psql", "-q", "-f", roles, "--dbname", pg.url("postgres"))
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "ERROR") && !strings.Contains(line, `role "postgres" already exists`) {
			t.Fatalf("psql -f roles:\n%s", out)
		}
	}
	owner, runtime := loginOf(t, pgtest.OwnerURL(src)), loginOf(t, src)
	conn, err := pgx.Connect(context.Background(), pg.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `CREATE DATABASE lindung TEMPLATE template0 OWNER `+owner); err != nil {
		t.Fatal(err)
	}
	run("pg_restore", "--exit-on-error", "--dbname", pg.url("lindung"), dump)
	run("psql", "--dbname", pg.url("lindung"), "--command", "ANALYZE") // a dump carries no planner statistics

	db := openStore(t, pg.roleURL(runtime, "lindung"), postgres.Options{}) // fails if the runtime login owns anything
	if err := postgres.Migrate(context.Background(), pg.roleURL(owner, "lindung")); err != nil {
		t.Errorf("the owner cannot migrate the restored database: %v", err)
	}
	h := newTestHub(t, db)
	officer := h.token(t, demo.SlugKPWKM, demo.RoleProtectionOfficer)
	res, err := post(h.client, h.URL, officer, `{ victims(first: 1) { totalCount } }`, nil)
	if err != nil || res.code() != "" {
		t.Fatalf("query the restored hub: %v %v", err, res)
	}
	var d struct{ Victims struct{ TotalCount int } }
	json.Unmarshal(res.Data, &d)
	var want int
	srcConn, err := pgx.Connect(context.Background(), pgtest.SuperuserURL(src))
	if err != nil {
		t.Fatal(err)
	}
	defer srcConn.Close(context.Background())
	srcConn.QueryRow(context.Background(), `SELECT count(*) FROM victims v JOIN partners p ON p.id = v.owner_partner_id WHERE p.slug = 'kpwkm'`).Scan(&want)
	if d.Victims.TotalCount != want || want == 0 {
		t.Errorf("restored hub shows %d of the officer's victims, the original %d", d.Victims.TotalCount, want)
	}
	// The planner's column statistics: without them it guesses how many victims a partner owns.
	newConn, err := pgx.Connect(context.Background(), pg.url("lindung"))
	if err != nil {
		t.Fatal(err)
	}
	defer newConn.Close(context.Background())
	var analyzed bool
	if err := newConn.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_stats
		WHERE schemaname = 'public' AND tablename = 'victims' AND attname = 'owner_partner_id')`).Scan(&analyzed); err != nil {
		t.Fatal(err)
	}
	if !analyzed {
		t.Error("after the restore steps the planner has no statistics of the victims: the tables were not analyzed")
	}
}

// loginOf is the login named in a database URL.
func loginOf(t *testing.T, databaseURL string) string {
	t.Helper()
	u := must(url.Parse(databaseURL))
	if u.User == nil {
		t.Fatalf("no login in %s", databaseURL)
	}
	return u.User.Username()
}

// serverURL is the shared test server's URL (as its superuser), for database name.
func serverURL(name string) string {
	server := os.Getenv("LINDUNG_TEST_DATABASE_URL")
	if server == "" {
		server = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u := must(url.Parse(server))
	u.Path = "/" + name
	return u.String()
}
