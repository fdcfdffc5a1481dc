package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
	"github.com/lindung/lindung/resolvers"
	"github.com/lindung/lindung/server"
)

var secret = []byte("lindung-bench-secret-0123456789abcdef")

// unlimited lifts the rate limits, which a benchmark would otherwise hit at once.
var unlimited = server.RateLimits{UserRate: 1e9, UserBurst: 1 << 30, PartnerRate: 1e9, PartnerBurst: 1 << 30,
	EligibilityRate: 1e9, EligibilityBurst: 1 << 30}

// The reference operations: one victim with nested fields, and a page of 100 victims with nested fields.
const (
	oneVictim = `query One($id: ID!) { victim(id: $id) { caseRef legalName dateOfBirth ageBand gender citizenship
		languages phone traffickingStatus medicalNeeds counsellingNotes
		currentShelter { name state } placements { fromDate toDate shelter { name } }
		protectionOrders { type startsOn endsOn } referrals { status dueOn to { name } }
		consents { status provisions { granteeType categories purposes } } } }`
	hundredVictims = `query Page { victims(first: 100) { totalCount edges { node { caseRef legalName ageBand gender
		citizenship phone medicalNeeds counsellingNotes currentShelter { name }
		protectionOrders { type endsOn } referrals { status to { name } } } } } }`
)

// variant is one way of serving the same operation on the same data.
type variant struct {
	name    string
	handler http.Handler
}

// variants returns the hub with the policy on; with an allow-all policy on the same code path (every
// category legal for the role, so the guard runs and passes everything); and with no guard at all.
func variants(b testing.TB, dbURL string) []variant {
	b.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, dbURL, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	pol, err := policy.Load("")
	if err != nil {
		b.Fatal(err)
	}
	allowAll, err := policy.Load(allowAllPolicy(b))
	if err != nil {
		b.Fatal(err)
	}
	mk := func(p *policy.Policy, schema graphql.ExecutableSchema) http.Handler {
		h, err := server.New(server.Config{DB: db, Policy: p, Verifier: auth.NewHS256Verifier(secret),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Schema: schema, RateLimits: unlimited})
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	return []variant{
		{"policy", mk(pol, nil)},
		{"allow-all", mk(allowAll, nil)},
		{"no-guard", mk(pol, resolvers.NewUnguardedSchema())},
	}
}

// allowAllPolicy writes a policy in which the protection officer has every category on a legal basis.
func allowAllPolicy(b testing.TB) string {
	dir := b.TempDir()
	model, err := os.ReadFile("../policy/model.conf")
	if err != nil {
		b.Fatal(err)
	}
	var rules strings.Builder
	rules.WriteString("p2, protection_officer, CASE_MANAGEMENT, default\np3, protection_officer, scope, partner\n")
	for _, c := range []string{"IDENTITY", "CONTACT", "DEMOGRAPHIC", "CASE", "LOCATION", "HEALTH", "COUNSELLING", "LEGAL", "FAMILY", "EMPLOYMENT"} {
		rules.WriteString("p, protection_officer, " + c + ", CASE_MANAGEMENT, legal\n")
	}
	os.WriteFile(filepath.Join(dir, "model.conf"), model, 0o600)
	os.WriteFile(filepath.Join(dir, "policy.csv"), []byte(rules.String()), 0o600)
	return dir
}

func BenchmarkPolicyOverhead(b *testing.B) {
	dbURL := pgtest.NewDemo(b)
	vs := variants(b, dbURL)
	token, err := auth.NewIssuer(secret).Issue(auth.Claims{Subject: demo.DemoUsername("protection_officer", "kpwkm"),
		Partner: "kpwkm", Roles: []string{"protection_officer"}}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	// The victim of the single-victim operation: the first of the officer's caseload.
	first := post(b, vs[0].handler, token, `{ victims(first: 1) { edges { node { id } } } }`, nil)
	var page struct {
		Data struct {
			Victims struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
	}
	json.Unmarshal(first, &page)
	id := page.Data.Victims.Edges[0].Node.ID

	ops := []struct {
		name  string
		query string
		vars  map[string]any
	}{
		{"one-victim", oneVictim, map[string]any{"id": id}},
		{"100-victims", hundredVictims, nil},
	}
	for _, op := range ops {
		for _, v := range vs {
			b.Run(op.name+"/"+v.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					post(b, v.handler, token, op.query, op.vars)
				}
			})
		}
	}
}

// post serves one request in-process and fails the benchmark on any error in the response.
func post(b testing.TB, h http.Handler, token, query string, vars map[string]any) []byte {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest("POST", "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || bytes.Contains(rec.Body.Bytes(), []byte(`"errors"`)) {
		b.Fatalf("HTTP %d: %s", rec.Code, rec.Body.Bytes())
	}
	return rec.Body.Bytes()
}
