// Command scopeab serves the peer benchmark's queries (b) and (c) in-process as one role, and prints the
// median time of the request and of the hub's page and referrals statements (timed by a pgx tracer, as the
// hub runs them: generic plans, its own connection settings). Run two builds of it alternately against
// two databases holding the same data for an A/B comparison of a store or migration change.
//
//	go run ./bench/scopeab -db postgres://runtime@127.0.0.1/hub -role enforcement_officer -partner pdrm
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/bench"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/server"
)

var secret = []byte("lindung-scope-bench-secret-0123456789abcdef")

// markers name the statements timed, by a substring of their SQL.
var markers = []struct{ name, sub string }{{"page", "ORDER BY v.id"}, {"referrals", "FROM referrals x"}}

type tracer struct {
	mu    sync.Mutex
	times map[string][]time.Duration
	all   []string
}

type startKey struct{}

type started struct {
	name string
	at   time.Time
}

func (t *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	t.mu.Lock()
	t.all = append(t.all, d.SQL)
	t.mu.Unlock()
	for _, m := range markers {
		if strings.Contains(d.SQL, m.sub) {
			return context.WithValue(ctx, startKey{}, started{m.name, time.Now()})
		}
	}
	return ctx
}

func (t *tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	if s, ok := ctx.Value(startKey{}).(started); ok {
		t.mu.Lock()
		t.times[s.name] = append(t.times[s.name], time.Since(s.at))
		t.mu.Unlock()
	}
}

func main() {
	url := flag.String("db", "", "database URL (a runtime login)")
	partner := flag.String("partner", "pdrm", "partner slug")
	role := flag.String("role", "enforcement_officer", "role")
	n := flag.Int("n", 200, "requests per query measured")
	warm := flag.Int("warm", 20, "requests per query before measuring")
	list := flag.Bool("list", false, "print the statements of one request of each query and its answer's size")
	flag.Parse()
	ctx := context.Background()
	token, err := auth.NewIssuer(secret).Issue(auth.Claims{Subject: demo.DemoUsername(*role, *partner), Partner: *partner,
		Roles: []string{*role}}, 2*time.Hour)
	check(err)
	tr := &tracer{times: map[string][]time.Duration{}}
	db, err := postgres.Open(ctx, *url, postgres.Options{Tracer: tr})
	check(err)
	defer db.Close()
	pol, err := policy.Load("")
	check(err)
	h, err := server.New(server.Config{DB: db, Policy: pol, Verifier: auth.NewHS256Verifier(secret),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RateLimits: server.RateLimits{UserRate: 1e9, UserBurst: 1 << 30, PartnerRate: 1e9, PartnerBurst: 1 << 30,
			EligibilityRate: 1e9, EligibilityBurst: 1 << 30}})
	check(err)
	post := func(q string) (time.Duration, []byte) {
		body, _ := json.Marshal(map[string]any{"query": q})
		r := httptest.NewRequest("POST", "/graphql", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, r)
		el := time.Since(start)
		var out struct{ Errors []any }
		json.Unmarshal(w.Body.Bytes(), &out)
		if w.Code != http.StatusOK || len(out.Errors) > 0 {
			fmt.Fprintf(os.Stderr, "%d %s\n", w.Code, w.Body.String())
			os.Exit(1)
		}
		return el, w.Body.Bytes()
	}
	queries := []struct{ name, q string }{
		{"b", bench.PeerQueryB},
		{"c", bench.PeerQueryC},
	}
	for _, q := range queries {
		if *list {
			tr.all = nil
			_, body := post(q.q)
			fmt.Printf("--- %s: %d bytes, %d victims\n", q.name, len(body), strings.Count(string(body), `"caseRef"`))
			os.Stdout.Write(append(body[:min(len(body), 300)], '\n'))
			for _, sql := range tr.all {
				fmt.Println(strings.Join(strings.Fields(sql), " "))
			}
			continue
		}
		for range *warm {
			post(q.q)
		}
		tr.times = map[string][]time.Duration{}
		var reqs []time.Duration
		for range *n {
			el, _ := post(q.q)
			reqs = append(reqs, el)
		}
		fmt.Printf("%s request %.3f\n", q.name, median(reqs))
		for _, m := range markers {
			if ts := tr.times[m.name]; len(ts) > 0 {
				fmt.Printf("%s %s %.3f\n", q.name, m.name, median(ts))
			}
		}
	}
}

func median(ds []time.Duration) float64 {
	fs := make([]float64, len(ds))
	for i, d := range ds {
		fs[i] = float64(d.Microseconds()) / 1000
	}
	sort.Float64s(fs)
	return fs[len(fs)/2]
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
