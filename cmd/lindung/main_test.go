package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
	"github.com/lindung/lindung/translog"
)

// build builds the lindung binary into dir.
func build(t *testing.T, dir string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(dir, "lindung")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// TestServeDemo runs the README's quick start against a fresh database: `lindung serve --demo`, given the
// local superuser as DATABASE_URL (the default), seeds the demo data through it and serves through a
// runtime login of its own; /readyz answers within 60 s, GraphiQL loads, and a protection officer's token
// from `lindung token` lists victims with nested relations; a request without a token gets 401.
func TestServeDemo(t *testing.T) {
	dbURL := pgtest.SuperuserURL(pgtest.New(t))
	dir := t.TempDir()
	bin := build(t, dir)
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "LINDUNG_KEY_FILE="+filepath.Join(dir, "jwt-secret"),
		"LINDUNG_JWT_SECRET=", "LINDUNG_MIGRATE_DATABASE_URL=")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve := exec.CommandContext(ctx, bin, "serve", "--demo", "--addr", "127.0.0.1:0")
	serve.Env = env
	stdout, _ := serve.StdoutPipe()
	serve.Stderr = io.Discard
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		serve.Process.Signal(os.Interrupt) // graceful shutdown
		serve.Wait()
	}()

	// The banner names the address once the demo data is loaded and the listener is open.
	base := ""
	scanner := bufio.NewScanner(stdout)
	deadline := time.Now().Add(60 * time.Second)
	for base == "" && time.Now().Before(deadline) && scanner.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(scanner.Text()), "GraphiQL: "); ok {
			base = strings.TrimSuffix(rest, "/")
		}
	}
	if base == "" {
		t.Fatal("serve --demo printed no address within 60 s")
	}
	go io.Copy(io.Discard, stdout)

	for {
		res, err := http.Get(base + "/readyz")
		if err == nil && res.StatusCode == 200 {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 within 60 s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	res, err := http.Get(base + "/")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GraphiQL: %v %v", err, res)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(page), "Lindung GraphQL") || strings.Contains(string(page), "https://") {
		t.Fatalf("GraphiQL page unexpected or loads external URLs:\n%s", page)
	}

	tokenCmd := exec.Command(bin, "token", "--partner", "kpwkm", "--role", "protection_officer")
	tokenCmd.Env = env
	out, err := tokenCmd.Output()
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	token := strings.TrimSpace(string(out))

	query := `{"query":"{ victims(first: 10) { totalCount edges { node { caseRef currentShelter { name } referrals { status } consents { status } } } } }"}`
	status, body := post(t, base, token, query)
	if status != 200 {
		t.Fatalf("victims: HTTP %d: %s", status, body)
	}
	var got struct {
		Data struct {
			Victims struct {
				TotalCount int
				Edges      []struct{ Node struct{ CaseRef string } }
			}
		}
		Errors []any
	}
	if err := json.Unmarshal(body, &got); err != nil || len(got.Errors) > 0 {
		t.Fatalf("victims: %v %s", err, body)
	}
	if got.Data.Victims.TotalCount != 500 || len(got.Data.Victims.Edges) != 10 {
		t.Fatalf("victims: totalCount %d, %d edges; want 500 and 10", got.Data.Victims.TotalCount, len(got.Data.Victims.Edges))
	}

	// Every token command the README shows gives a token the demo serves: each names a registered user.
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	commands := regexp.MustCompile(`go run \./cmd/lindung token --partner ([a-z0-9-]+) --role ([a-z_]+)`).FindAllStringSubmatch(string(readme), -1)
	if len(commands) < 11 {
		t.Fatalf("the README shows %d token commands, want every demo role", len(commands))
	}
	for _, c := range commands {
		cmd := exec.Command(bin, "token", "--partner", c[1], "--role", c[2])
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", c[0], err)
		}
		status, body := post(t, base, strings.TrimSpace(string(out)), `{"query":"{ viewer { username roles } }"}`)
		if status != 200 || !strings.Contains(string(body), `"username":"`+c[2]+"@"+c[1]+`"`) {
			t.Errorf("%s: HTTP %d %s", c[0], status, body)
		}
	}

	if status, body := post(t, base, "", query); status != 401 || !strings.Contains(string(body), "UNAUTHENTICATED") || strings.Contains(string(body), "caseRef") {
		t.Fatalf("without a token: HTTP %d: %s", status, body)
	}

	// The demo served through its own runtime login, not the superuser it was given.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT DISTINCT usename::text FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	users, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(users) != 1 || users[0] != demoRole {
		t.Errorf("serve --demo is connected as %v (%v), want only %s", users, err, demoRole)
	}
}

// TestServeRefusesUnsafeLogins: serve refuses to start, saying what to change, when DATABASE_URL is a
// superuser, a login that can bypass row security (the owner's), or one that owns a table; and it does not
// migrate through its runtime login.
func TestServeRefusesUnsafeLogins(t *testing.T) {
	dir := t.TempDir()
	bin := build(t, dir)
	runtime := pgtest.New(t)
	login := mustUser(t, runtime)
	// A table the runtime login owns, in a database of its own.
	owning := pgtest.New(t)
	oc, err := pgx.Connect(ctx, pgtest.SuperuserURL(owning))
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close(ctx)
	if _, err := oc.Exec(ctx, `ALTER TABLE family_contacts OWNER TO `+pgx.Identifier{login}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	// A database that exists but was never migrated: serve does not migrate through DATABASE_URL.
	bare := dbName(t, runtime) + "_bare"
	if _, err := oc.Exec(ctx, `CREATE DATABASE `+bare); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, pgtest.SuperuserURL(runtime))
		if err == nil {
			c.Exec(ctx, `DROP DATABASE IF EXISTS `+bare+` WITH (FORCE)`)
			c.Close(ctx)
		}
	})
	unmigrated := strings.Replace(runtime, "/"+dbName(t, runtime), "/"+bare, 1)
	for _, tc := range []struct{ name, url, want string }{
		{"superuser", pgtest.SuperuserURL(runtime), "a superuser"},
		{"owner (BYPASSRLS)", pgtest.OwnerURL(runtime), "NOBYPASSRLS"},
		{"table owner", owning, "owns (or is a member of the owner of) table family_contacts"},
		{"no schema", unmigrated, "run `lindung migrate`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
			cmd.Env = append(os.Environ(), "DATABASE_URL="+tc.url, "LINDUNG_MIGRATE_DATABASE_URL=",
				"LINDUNG_JWT_SECRET=0123456789abcdef0123456789abcdef")
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("serve started:\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("serve said:\n%s\nwant it to say %q", out, tc.want)
			}
		})
	}
}

// TestMigrateStoresTheStatisticsBases: migration 007's copy of the statistics bases is the embedded
// policy's, and `lindung migrate` keeps the copy in step with the policy it is given.
func TestMigrateStoresTheStatisticsBases(t *testing.T) {
	url := pgtest.New(t)
	pol, err := loadPolicy("")
	if err != nil {
		t.Fatal(err)
	}
	want := statisticsBases(pol)
	if len(want) == 0 {
		t.Fatal("the embedded policy opens statistics to no role")
	}
	stored := func() map[string]postgres.StatisticsBases {
		conn, err := pgx.Connect(ctx, pgtest.SuperuserURL(url))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, _ := conn.Query(ctx, `SELECT role, legal, consent FROM statistics_bases`)
		out := map[string]postgres.StatisticsBases{}
		for rows.Next() {
			var role string
			var legal, consent int32
			if err := rows.Scan(&role, &legal, &consent); err != nil {
				t.Fatal(err)
			}
			out[role] = postgres.StatisticsBases{Legal: lindung.CategorySet(legal), Consent: lindung.CategorySet(consent)}
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		return out
	}
	if got := stored(); !maps.Equal(got, want) {
		t.Errorf("migration 007 stores %v, the embedded policy says %v: a policy change to STATISTICS needs the migration's seed to follow", got, want)
	}
	conn, err := pgx.Connect(ctx, pgtest.SuperuserURL(url))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE statistics_bases SET legal = 0`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if err := migrate(ctx, []string{"--database-url", pgtest.OwnerURL(url)}); err != nil {
		t.Fatal(err)
	}
	if got := stored(); !maps.Equal(got, want) {
		t.Errorf("after lindung migrate: %v, want %v", got, want)
	}
}

var ctx = context.Background()

// mustUser is the login named in a database URL.
func mustUser(t *testing.T, databaseURL string) string {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil || u.User == nil {
		t.Fatalf("no user in %q", databaseURL)
	}
	return u.User.Username()
}

// dbName is the database named in a database URL.
func dbName(t *testing.T, databaseURL string) string {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

func post(t *testing.T, base, token, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestServeRefusesJWKSWithoutIssuerAndAudience: an identity provider signs tokens for many tenants and
// services; serve does not start with a JWKS URL unless it knows which issuer and audience to accept, and
// says which settings are missing.
func TestServeRefusesJWKSWithoutIssuerAndAudience(t *testing.T) {
	base := tokenConfig{jwksURL: "https://idp.example.my/jwks", leeway: 30 * time.Second, maxLifetime: 12 * time.Hour}
	for _, c := range []tokenConfig{base, {jwksURL: base.jwksURL, issuer: "https://idp.example.my", leeway: base.leeway, maxLifetime: base.maxLifetime},
		{jwksURL: base.jwksURL, audience: "lindung", leeway: base.leeway, maxLifetime: base.maxLifetime}} {
		_, err := newVerifier(c, false)
		if err == nil || !strings.Contains(err.Error(), "--jwks-issuer (LINDUNG_JWKS_ISSUER) and --jwks-audience (LINDUNG_JWKS_AUDIENCE)") {
			t.Errorf("newVerifier(%+v) = %v, want a refusal naming the settings", c, err)
		}
	}
	ok := base
	ok.issuer, ok.audience = "https://idp.example.my", "lindung"
	if _, err := newVerifier(ok, false); err != nil {
		t.Errorf("newVerifier with issuer and audience: %v", err)
	}
	for _, bad := range []tokenConfig{{leeway: -time.Second, maxLifetime: time.Hour}, {leeway: time.Hour, maxLifetime: time.Hour}, {leeway: time.Second}} {
		if _, err := newVerifier(bad, false); err == nil {
			t.Errorf("newVerifier(%+v) accepted a leeway or lifetime out of range", bad)
		}
	}
}

// TestTokenRefusesLifetimeOverMaximum: lindung token will not mint a token the hub would refuse.
func TestTokenRefusesLifetimeOverMaximum(t *testing.T) {
	// token never creates a key (a new key would sign tokens the hub refuses): give it one.
	t.Setenv("LINDUNG_KEY_FILE", filepath.Join(t.TempDir(), "jwt-secret"))
	t.Setenv("LINDUNG_JWT_SECRET", strings.Repeat("k", 64))
	err := token([]string{"--partner", "kpwkm", "--role", "protection_officer", "--ttl", "24h"})
	if err == nil || !strings.Contains(err.Error(), "maximum token lifetime of 12h0m0s") {
		t.Errorf("token --ttl 24h: %v", err)
	}
	t.Setenv("LINDUNG_TOKEN_MAX_LIFETIME", "48h")
	if err := token([]string{"--partner", "kpwkm", "--role", "protection_officer", "--ttl", "24h"}); err != nil {
		t.Errorf("token --ttl 24h under a 48h maximum: %v", err)
	}
}

// TestPolicyCheckFailsOnConflictGrant: a policy under which the operator and a case role together would
// see victim data (the operator's denies written for its own purpose only, as they once were) fails
// lindung policy check.
func TestPolicyCheckFailsOnConflictGrant(t *testing.T) {
	dir := t.TempDir()
	model, err := os.ReadFile(filepath.Join("..", "..", "policy", "model.conf"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(filepath.Join("..", "..", "policy", "policy.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := policyCmd([]string{"check", "--policy-dir", writePolicy(t, dir, model, rules)}); err != nil {
		t.Fatalf("policy check of the shipped policy: %v", err)
	}
	weak := strings.ReplaceAll(string(rules), "p, operator, HEALTH, *, deny", "p, operator, HEALTH, CASE_MANAGEMENT, deny")
	err = policyCmd([]string{"check", "--policy-dir", writePolicy(t, t.TempDir(), model, []byte(weak))})
	if err == nil || !strings.Contains(err.Error(), "p4, operator, protection_officer: the roles must never be held together") ||
		!strings.Contains(err.Error(), "HEALTH under SERVICE_DELIVERY") {
		t.Errorf("policy check of a policy granting operator and officer HEALTH: %v", err)
	}
}

func writePolicy(t *testing.T, dir string, model, rules []byte) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "model.conf"), model, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "policy.csv"), rules, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// run runs the binary with env and returns its combined output and whether it succeeded.
func run(t *testing.T, bin string, env []string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// TestInit: init registers the operator and its first user on a new hub, says how to sign in, and
// refuses a hub that has an operator; stray arguments are errors; directory apply reports a bad file.
func TestInit(t *testing.T) {
	dbURL := pgtest.New(t)
	dir := t.TempDir()
	bin := build(t, dir)
	env := append(os.Environ(), "LINDUNG_MIGRATE_DATABASE_URL="+pgtest.OwnerURL(dbURL), "DATABASE_URL="+dbURL)
	if out, ok := run(t, bin, env, "init", "--user", "admin@operator", "extra"); ok || !strings.Contains(out, `unexpected argument "extra"`) {
		t.Fatalf("init with a stray argument: %s", out)
	}
	out, ok := run(t, bin, env, "init", "--user", "admin@operator")
	if !ok || !strings.Contains(out, "lindung token --partner operator --role operator --user admin@operator") {
		t.Fatalf("init: %s", out)
	}
	if out, ok := run(t, bin, env, "init", "--user", "second@operator"); ok || !strings.Contains(out, "this hub already has an operator partner (operator)") {
		t.Fatalf("init again: %s", out)
	}
	file := filepath.Join(dir, "directory.yaml")
	os.WriteFile(file, []byte("partners:\n  - slug: ngo-a\n    name: NGO A\n    type: NGO\n    state: SABAH\nusers:\n  - username: a@ngo-a\n    partner: ngo-a\n    roles: [ngo_caseworker, operator]\n"), 0o600)
	if out, ok := run(t, bin, env, "directory", "apply", file); ok || !strings.Contains(out, file+":7: users[0] (a@ngo-a): the roles operator and ngo_caseworker must never be held together") {
		t.Fatalf("directory apply of a forbidden pair: %s", out)
	}
	if out, ok := run(t, bin, env, "directory", "apply", file, "more"); ok || !strings.Contains(out, "give exactly one directory file") {
		t.Fatalf("directory apply with two files: %s", out)
	}
	if out, ok := run(t, bin, env, "init", "--help"); !ok || !strings.Contains(out, "LINDUNG_MIGRATE_DATABASE_URL") || !strings.Contains(out, "-user") {
		t.Fatalf("init --help: %s", out)
	}
}

// TestErrorsNameTheFix: each error a new operator meets names what to change.
func TestErrorsNameTheFix(t *testing.T) {
	dir := t.TempDir()
	bin := build(t, dir)
	keyFile := filepath.Join(dir, "no-such-key")
	base := append(os.Environ(), "LINDUNG_KEY_FILE="+keyFile, "LINDUNG_JWT_SECRET=", "LINDUNG_MIGRATE_DATABASE_URL=")
	secret := "LINDUNG_JWT_SECRET=" + strings.Repeat("k", 64)
	for _, c := range []struct {
		name  string
		env   []string
		args  []string
		want  []string
		never string
	}{
		{"missing secret", nil, []string{"serve", "--db-wait", "0s"},
			[]string{"Set LINDUNG_JWT_SECRET or LINDUNG_KEY_FILE", "--jwks-url"}, "--demo"},
		{"token without a key", nil, []string{"token", "--partner", "kpwkm", "--role", "protection_officer"},
			[]string{"set the same LINDUNG_JWT_SECRET or LINDUNG_KEY_FILE as serve"}, ""},
		{"unreachable database", []string{secret, "DATABASE_URL=postgres://lindung_runtime@127.0.0.1:1/ministry_hub"}, []string{"serve", "--db-wait", "1s"},
			[]string{`DATABASE_URL: database "ministry_hub" on 127.0.0.1:1 as "lindung_runtime"`, "database not reachable; retrying", "gave up after", "LINDUNG_DB_WAIT"}, `"postgres"`},
		{"not a URL", []string{secret, "DATABASE_URL=postgres://%zz"}, []string{"serve", "--db-wait", "0s"},
			[]string{"DATABASE_URL is not a PostgreSQL URL"}, ""},
		{"stray argument", nil, []string{"token", "--partner", "kpwkm", "--role", "operator", "now"},
			[]string{`unexpected argument "now": token takes only flags`}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, ok := run(t, bin, append(append([]string{}, base...), c.env...), c.args...)
			if ok {
				t.Fatalf("succeeded: %s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if c.never != "" && strings.Contains(out, c.never) {
				t.Errorf("output says %q:\n%s", c.never, out)
			}
		})
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("a command created the key file %s: %v", keyFile, err)
	}
	if out, ok := run(t, bin, base, "--version"); !ok || !strings.HasPrefix(out, "lindung ") {
		t.Fatalf("--version: %s", out)
	}
	for _, cmd := range []string{"serve", "migrate", "seed", "token", "retention", "init"} {
		out, ok := run(t, bin, base, cmd, "--help")
		if !ok || !strings.Contains(out, "environment:") || !strings.Contains(out, "-") {
			t.Errorf("%s --help lists no environment:\n%s", cmd, out)
		}
	}
	if out, _ := run(t, bin, base, "serve", "--help"); !strings.Contains(out, "DATABASE_URL") || !strings.Contains(out, "LINDUNG_JWKS_URL") ||
		!strings.Contains(out, "LINDUNG_POLICY_DIR") || !strings.Contains(out, "LINDUNG_KEY_FILE") {
		t.Errorf("serve --help:\n%s", out)
	}
}

// TestDrain: on SIGTERM serve reports not ready for the drain period while it still serves, then exits.
func TestDrain(t *testing.T) {
	dbURL := pgtest.New(t)
	dir := t.TempDir()
	bin := build(t, dir)
	_, logKey, err := translog.NewKey("test.example/access-log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--drain", "3s")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "LINDUNG_JWT_SECRET="+strings.Repeat("k", 64), "LINDUNG_MIGRATE_DATABASE_URL=",
		"LINDUNG_LOG_KEY="+logKey)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := ""
	scanner := bufio.NewScanner(stdout)
	for base == "" && scanner.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(scanner.Text()), "GraphiQL: "); ok {
			base = strings.TrimSuffix(rest, "/")
		}
	}
	go io.Copy(io.Discard, stdout)
	get := func(path string) int {
		res, err := http.Get(base + path)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := get("/readyz"); code != 200 {
		t.Fatalf("/readyz before SIGTERM: %d", code)
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(500 * time.Millisecond)
	if code := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while draining: %d, want 503", code)
	}
	if code := get("/healthz"); code != 200 {
		t.Fatalf("/healthz while draining: %d, want it still served", code)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}
	if d := time.Since(start); d < 3*time.Second {
		t.Fatalf("serve stopped %s after SIGTERM, before its 3s drain", d)
	}
}

// TestPolicyTest: the shipped assertion file passes against the shipped policy, and a deliberately wrong
// edit of policy.csv (an NGO given legal proceedings on consent) fails `lindung policy test`, each failure
// naming the row of policy.csv, with its line, that decided.
func TestPolicyTest(t *testing.T) {
	model, err := os.ReadFile(filepath.Join("..", "..", "policy", "model.conf"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(filepath.Join("..", "..", "policy", "policy.csv"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("..", "..", "policy", "assertions.yaml")
	var out strings.Builder
	if err := policyTest([]string{"--policy-dir", writePolicy(t, t.TempDir(), model, rules), file}, &out); err != nil {
		t.Fatalf("policy test of the shipped policy: %v\n%s", err, out.String())
	}

	const from, to = "p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, deny\n", "p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, consent\n"
	i := strings.Index(string(rules), from)
	if i < 0 {
		t.Fatalf("policy.csv has no row %q", from)
	}
	line := 1 + strings.Count(string(rules[:i]), "\n")
	wrong := strings.Replace(string(rules), from, to, 1)
	out.Reset()
	err = policyTest([]string{"--policy-dir", writePolicy(t, t.TempDir(), model, []byte(wrong)), file}, &out)
	if err == nil {
		t.Fatalf("policy test passed a policy that gives an NGO legal proceedings:\n%s", out.String())
	}
	want := fmt.Sprintf("ngo_caseworker SERVICE_DELIVERY LEGAL: want never, got consent\n    decided by policy.csv:%d: %s",
		line, strings.TrimSuffix(to, "\n"))
	if !strings.Contains(out.String(), want) {
		t.Errorf("output does not hold %q:\n%s", want, out.String())
	}
}

// TestPolicyDiff: `lindung policy diff OLD NEW` prints the changed cell as a table and as JSON, and
// nothing changed for two copies of one policy.
func TestPolicyDiff(t *testing.T) {
	model, err := os.ReadFile(filepath.Join("..", "..", "policy", "model.conf"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(filepath.Join("..", "..", "policy", "policy.csv"))
	if err != nil {
		t.Fatal(err)
	}
	old := writePolicy(t, t.TempDir(), model, rules)
	var out strings.Builder
	if err := policyDiff([]string{old, writePolicy(t, t.TempDir(), model, rules)}, &out); err != nil ||
		!strings.Contains(out.String(), ": 0 change(s)") {
		t.Errorf("diff of one policy with itself: %v\n%s", err, out.String())
	}
	changed := strings.Replace(string(rules), "p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, deny",
		"p, ngo_caseworker, LEGAL, SERVICE_DELIVERY, consent", 1)
	new := writePolicy(t, t.TempDir(), model, []byte(changed))
	out.Reset()
	if err := policyDiff([]string{old, new}, &out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`ngo_caseworker +SERVICE_DELIVERY LEGAL: +never → consent`).MatchString(out.String()) ||
		!strings.Contains(out.String(), ": 1 change(s)") {
		t.Errorf("diff table:\n%s", out.String())
	}
	out.Reset()
	if err := policyDiff([]string{"--json", old, new}, &out); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Changes []struct{ Who, What, Old, New string }
	}
	if err := json.Unmarshal([]byte(out.String()), &doc); err != nil || len(doc.Changes) != 1 ||
		doc.Changes[0].Who != "ngo_caseworker" || doc.Changes[0].What != "SERVICE_DELIVERY LEGAL" ||
		doc.Changes[0].Old != "never" || doc.Changes[0].New != "consent" {
		t.Errorf("diff JSON: %v\n%s", err, out.String())
	}
}
