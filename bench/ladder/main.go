// Command ladder runs a bounded load ladder against the hub on loopback: at each of a few fixed request
// rates (an open model: requests are sent on schedule whether or not earlier ones have answered) it
// attacks the hub with the policy on and with no field guard, side by side, and reports the latency
// percentiles and errors of each. It creates its own database with the demo data on the local PostgreSQL
// server, drops it afterwards, and sends traffic to 127.0.0.1 only. The access log's sequencer runs
// throughout, every -checkpoint-interval, as it does in a served hub.
//
//	go run ./bench/ladder                       # rates 10,20,40,80 per second, 5 s each
//	go run ./bench/ladder -rates 20,40 -duration 10s -out bench/results/ladder.md
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jackc/pgx/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/resolvers"
	"github.com/lindung/lindung/server"
	"github.com/lindung/lindung/translog"
)

func main() {
	rates := flag.String("rates", "10,20,40,80", "request rates per second, comma-separated")
	duration := flag.Duration("duration", 5*time.Second, "how long each step lasts")
	out := flag.String("out", "bench/results/ladder.md", "file the results are written to")
	serverURL := flag.String("server", env("LINDUNG_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server to create the ladder's database on")
	interval := flag.Duration("checkpoint-interval", server.DefaultCheckpointInterval, "how often the access log's sequencer runs during the ladder")
	flag.Parse()
	if err := run(*rates, *duration, *out, *serverURL, *interval); err != nil {
		fmt.Fprintln(os.Stderr, "ladder:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(rateList string, duration time.Duration, out, serverURL string, interval time.Duration) error {
	var rates []int
	for _, r := range strings.Split(rateList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("rates: %q is not a rate from 1 to 1000 per second", r)
		}
		rates = append(rates, n)
	}
	if duration < time.Second || duration > time.Minute {
		return fmt.Errorf("duration must be between 1s and 1m")
	}
	ctx := context.Background()

	// A database of our own, dropped at the end.
	var b [6]byte
	rand.Read(b[:])
	name := "lindung_ladder_" + hex.EncodeToString(b[:])
	u, err := url.Parse(serverURL)
	if err != nil {
		return err
	}
	u.Path = "/" + name
	db, err := postgres.Open(ctx, u.String(), postgres.Options{MigrateURL: u.String()}) // the superuser migrates and loads
	if err != nil {
		return err
	}
	defer func() {
		db.Close()
		if admin, err := pgx.Connect(ctx, serverURL); err == nil {
			admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			admin.Close(ctx)
		}
	}()
	fmt.Println("loading demo data into", name)
	if err := db.Import(ctx, demo.Generate(500, time.Now()), nil); err != nil {
		return err
	}
	var victimID string
	if err := db.Pool.QueryRow(ctx, `SELECT id::text FROM victims ORDER BY id LIMIT 1`).Scan(&victimID); err != nil {
		return err
	}
	// The hub serves through a runtime login, as in production: row-level security applies to it.
	runtimeURL, err := postgres.CreateRuntimeLogin(ctx, u.String(), "lindung_ladder")
	if err != nil {
		return err
	}
	hubDB, err := postgres.Open(ctx, runtimeURL, postgres.Options{})
	if err != nil {
		return err
	}
	defer hubDB.Close()
	if err := hubDB.CheckLogin(ctx); err != nil {
		return err
	}

	logKey, _, err := translog.NewKey("ladder.local/access-log")
	if err != nil {
		return err
	}
	seqCtx, stopSequencer := context.WithCancel(ctx)
	defer stopSequencer()
	go (&server.Sequencer{DB: hubDB, Key: logKey, Interval: interval, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Run(seqCtx)

	secret := []byte("lindung-ladder-secret-0123456789abcdef")
	pol, err := policy.Load("")
	if err != nil {
		return err
	}
	unlimited := server.RateLimits{UserRate: 1e9, UserBurst: 1 << 30, PartnerRate: 1e9, PartnerBurst: 1 << 30,
		EligibilityRate: 1e9, EligibilityBurst: 1 << 30}
	start := func(schema graphql.ExecutableSchema) (string, func(), error) {
		h, err := server.New(server.Config{DB: hubDB, Policy: pol, Verifier: auth.NewHS256Verifier(secret),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RateLimits: unlimited, Schema: schema,
			UnguardedBenchmark: schema != nil})
		if err != nil {
			return "", nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, err
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		return "http://" + ln.Addr().String() + "/graphql", func() { srv.Close() }, nil
	}
	onURL, stopOn, err := start(nil)
	if err != nil {
		return err
	}
	defer stopOn()
	offURL, stopOff, err := start(resolvers.NewUnguardedSchema())
	if err != nil {
		return err
	}
	defer stopOff()

	token, err := auth.NewIssuer(secret).Issue(auth.Claims{Subject: demo.DemoUsername("protection_officer", "kpwkm"),
		Partner: "kpwkm", Roles: []string{"protection_officer"}}, time.Hour)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{
		"query": `query One($id: ID!) { victim(id: $id) { caseRef legalName ageBand gender phone medicalNeeds
			currentShelter { name } protectionOrders { type endsOn } referrals { status to { name } } } }`,
		"variables": map[string]any{"id": victimID},
	})
	header := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + token}}

	var report bytes.Buffer
	fmt.Fprintf(&report, "# Load ladder\n\n`go run ./bench/ladder -rates %s -duration %s` on %s, %d cores, Go %s.\n\n",
		rateList, duration, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), strings.TrimPrefix(runtime.Version(), "go"))
	fmt.Fprintf(&report, "One victim with nested relations, as a protection officer, at fixed rates (open model); the access log\n"+
		"is sequenced and a checkpoint signed every %s.\n\n", interval)
	fmt.Fprintf(&report, "| rate/s | variant | requests | success | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|\n")
	for _, rate := range rates {
		for _, v := range []struct{ name, url string }{{"policy on", onURL}, {"no guard", offURL}} {
			targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: "POST", URL: v.url, Body: body, Header: header})
			attacker := vegeta.NewAttacker(vegeta.Timeout(10*time.Second), vegeta.MaxWorkers(256), vegeta.KeepAlive(true))
			var m vegeta.Metrics
			for res := range attacker.Attack(targeter, vegeta.Rate{Freq: rate, Per: time.Second}, duration, v.name) {
				m.Add(res)
			}
			m.Close()
			ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
			line := fmt.Sprintf("| %d | %s | %d | %.1f %% | %s | %s | %s | %s |\n", rate, v.name, m.Requests,
				m.Success*100, ms(m.Latencies.P50), ms(m.Latencies.P95), ms(m.Latencies.P99), ms(m.Latencies.Max))
			fmt.Print(line)
			report.WriteString(line)
			if len(m.Errors) > 0 {
				fmt.Printf("  errors: %v\n", m.Errors)
			}
		}
	}
	if err := os.MkdirAll(dirOf(out), 0o755); err != nil {
		return err
	}
	fmt.Println("results written to", out)
	return os.WriteFile(out, report.Bytes(), 0o644)
}

func dirOf(path string) string {
	if i := strings.LastIndex(path, "/"); i > 0 {
		return path[:i]
	}
	return "."
}
