package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lindung/lindung/postgres/pgtest"
)

// TestServeDemo runs the README's quick start against a fresh database: `lindung serve --demo` seeds the
// demo data, /readyz answers within 60 s, GraphiQL loads, and a protection officer's token from
// `lindung token` lists victims with nested relations; a request without a token gets 401.
func TestServeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dbURL := pgtest.New(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "lindung")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "LINDUNG_KEY_FILE="+filepath.Join(dir, "jwt-secret"), "LINDUNG_JWT_SECRET=")

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

	if status, body := post(t, base, "", query); status != 401 || !strings.Contains(string(body), "UNAUTHENTICATED") || strings.Contains(string(body), "caseRef") {
		t.Fatalf("without a token: HTTP %d: %s", status, body)
	}
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
