package reliability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/policy"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/server"
)

var testSecret = []byte("lindung-reliability-secret-0123456789")

// pgBin is where Debian installs PostgreSQL 15's server programs.
const pgBin = "/usr/lib/postgresql/15/bin"

// privatePG is a PostgreSQL instance of one test: its own data directory, port on 127.0.0.1 and socket
// directory, removed when the test ends. Tests stop and start it at will; the machine's shared cluster,
// which other test packages use at the same time, is never touched.
type privatePG struct {
	t    testing.TB
	dir  string
	port int
	asPG bool // run the server programs as the postgres user (initdb refuses root)
}

func newPrivatePG(t testing.TB) *privatePG {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL 15 server programs are required in CI: %v", err)
		}
		t.Skip("no PostgreSQL 15 server programs")
	}
	dir, err := os.MkdirTemp("", "lindung-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p := &privatePG{t: t, dir: dir, port: freePort(t), asPG: os.Geteuid() == 0}
	if p.asPG {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chmod(dir, 0o755)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		p.run("pg_ctl", "-D", p.data(), "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	if out, err := p.run("initdb", "-D", p.data(), "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.start()
	return p
}

func (p *privatePG) data() string { return filepath.Join(p.dir, "data") }

func (p *privatePG) run(name string, args ...string) ([]byte, error) {
	bin := filepath.Join(pgBin, name)
	var cmd *exec.Cmd
	if p.asPG {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	return cmd.CombinedOutput()
}

// start starts the instance and waits until it accepts connections.
func (p *privatePG) start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60", p.port, p.dir)
	if out, err := p.run("pg_ctl", "-D", p.data(), "-o", opts, "-l", filepath.Join(p.dir, "log"), "-w", "-t", "30", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		p.t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}

// stop shuts the instance down (fast: sessions are disconnected, as a restart for maintenance does).
func (p *privatePG) stop() {
	p.t.Helper()
	if out, err := p.run("pg_ctl", "-D", p.data(), "-m", "fast", "-w", "-t", "30", "stop"); err != nil {
		p.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// url is the URL of database name on the instance.
func (p *privatePG) url(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, name)
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// roleURL is the URL of database name on the instance, logging in as role (trust authentication).
func (p *privatePG) roleURL(role, name string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", role, p.port, name)
}

// setUp makes the instance a hub's as docs/deploying.md says: it runs the guide's SQL for the two
// logins and the database as the superuser, migrates and (size >= 0) loads a demo data set of size victims
// through the owner login, and returns the store opened as the runtime login, which serve's start-up
// check accepts.
func (p *privatePG) setUp(size int, opts postgres.Options) *postgres.DB {
	p.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, p.url("postgres"))
	if err != nil {
		p.t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range readmeLoginSQL(p.t) {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			p.t.Fatalf("docs/deploying.md's SQL: %s: %v", stmt, err)
		}
	}
	owner, err := postgres.Open(ctx, p.roleURL("lindung_owner", "lindung"), postgres.Options{MigrateURL: p.roleURL("lindung_owner", "lindung")})
	if err != nil {
		p.t.Fatal(err)
	}
	defer owner.Close()
	if size >= 0 {
		if err := owner.Import(ctx, demo.Generate(size, time.Now()), nil); err != nil {
			p.t.Fatal(err)
		}
	}
	return openStore(p.t, p.roleURL("lindung_runtime", "lindung"), opts)
}

// readmeLoginSQL returns the statements of the SQL block of docs/deploying.md that creates the owner and
// runtime logins,
// so that the reliability tests set up their instances with exactly what operators are told to run.
func readmeLoginSQL(t testing.TB) []string {
	t.Helper()
	readme, err := os.ReadFile("../docs/deploying.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```sql\n-- the hub's logins")
	_, rest, _ = strings.Cut(rest, "\n") // the rest of the comment line
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/deploying.md has no sql block starting with \"-- the hub's logins\"")
	}
	var out []string
	for _, stmt := range strings.Split(block, ";") {
		var lines []string
		for _, l := range strings.Split(stmt, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			out = append(out, strings.Join(lines, " "))
		}
	}
	return out
}

// openStore opens the store at url (a runtime login's), refusing a login serve would refuse, closed when
// the test ends.
func openStore(t testing.TB, url string, opts postgres.Options) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.CheckLogin(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// testHub is an in-process hub for the reliability tests: rate limits off (the load is the point).
type testHub struct {
	URL    string
	DB     *postgres.DB
	issuer *auth.Issuer
	client *http.Client
}

func newTestHub(t testing.TB, db *postgres.DB) *testHub {
	t.Helper()
	pol, err := policy.Load("")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{DB: db, Policy: pol, Verifier: auth.NewHS256Verifier(testSecret),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		RateLimits: server.RateLimits{UserRate: -1, PartnerRate: -1, EligibilityRate: -1}, RequestTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &testHub{URL: ts.URL, DB: db, issuer: auth.NewIssuer(testSecret), client: &http.Client{Timeout: 30 * time.Second}}
}

func (h *testHub) token(t testing.TB, partner, role string) string {
	tok, err := h.issuer.Issue(auth.Claims{Subject: demo.DemoUsername(role, partner), Partner: partner, Roles: []string{role}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// result is one GraphQL exchange as the reliability tests read it.
type result struct {
	Status    int
	RequestID string
	Body      []byte
	Data      json.RawMessage `json:"data"`
	Errors    []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (r *result) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// post sends one GraphQL request; a transport error (no answer within the client's timeout) is returned.
func post(client *http.Client, url, token, query string, vars map[string]any) (*result, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out := &result{Status: res.StatusCode, RequestID: res.Header.Get("X-Request-Id")}
	out.Body, _ = io.ReadAll(res.Body)
	if err := json.Unmarshal(out.Body, out); err != nil {
		return nil, fmt.Errorf("not JSON (%d): %s", res.StatusCode, out.Body)
	}
	return out, nil
}

const createVictim = `mutation($in: CreateVictimInput!) { createVictim(input: $in) { id caseRef } }`
