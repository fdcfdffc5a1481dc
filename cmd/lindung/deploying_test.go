package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lindung/lindung/internal/oidctest"
	"github.com/lindung/lindung/postgres/pgtest"
)

// guideStep is one block of docs/deploying.md that the test runs: sh lines, or a file to write.
type guideStep struct {
	file  string   // for a yaml block: the file it is
	text  string   // the file's text
	lines []string // for a sh block: its commands
}

// guideSteps reads the blocks of docs/deploying.md marked "deploy", in order.
func guideSteps(t *testing.T) []guideStep {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "deploying.md"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []guideStep
	var cur *guideStep
	for _, line := range strings.Split(string(doc), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			info := strings.Fields(strings.TrimPrefix(line, "```"))
			if len(info) >= 2 && info[1] == "deploy" {
				cur = &guideStep{}
				if info[0] == "yaml" && len(info) == 3 {
					cur.file = info[2]
				}
			} else {
				cur = &guideStep{file: "-"} // a block the test skips
			}
		case cur != nil && strings.HasPrefix(line, "```"):
			if cur.file != "-" {
				steps = append(steps, *cur)
			}
			cur = nil
		case cur != nil && cur.file != "":
			cur.text += line + "\n"
		case cur != nil && strings.TrimSpace(line) != "" && !strings.HasPrefix(strings.TrimSpace(line), "#"):
			cur.lines = append(cur.lines, strings.TrimSpace(line))
		}
	}
	return steps
}

// shellWords splits a command line as sh would for the plain words and "double-quoted" strings the
// guide uses.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	quoted, any := false, false
	for _, c := range line {
		switch {
		case c == '"':
			quoted, any = !quoted, true
		case c == ' ' && !quoted:
			if any {
				words = append(words, w.String())
			}
			w.Reset()
			any = false
		default:
			w.WriteRune(c)
			any = true
		}
	}
	if any {
		words = append(words, w.String())
	}
	return words
}

// TestDeployingGuide runs docs/deploying.md's commands in order on a fresh database, with an OpenID
// Provider in place of the ministry's: the database URLs and the provider's key set and issuer are the
// test's, every other setting is the guide's. It ends with the operator and a user of each partner type
// signed in through the provider and served as the directory registered them; no demo data is involved.
func TestDeployingGuide(t *testing.T) {
	provider := oidctest.New(t)
	dbURL := pgtest.New(t)
	dir := t.TempDir()
	bin := build(t, dir)
	overrides := map[string]string{
		"LINDUNG_MIGRATE_DATABASE_URL": pgtest.OwnerURL(dbURL),
		"DATABASE_URL":                 dbURL,
		"LINDUNG_JWKS_URL":             provider.KeysURL(),
		"LINDUNG_JWKS_ISSUER":          provider.URL,
		"LINDUNG_LOG_KEY_FILE":         filepath.Join(dir, "log-key"),
	}
	env := append(os.Environ(), "LINDUNG_ADDR=127.0.0.1:0", "LINDUNG_JWT_SECRET=", "LINDUNG_KEY_FILE="+filepath.Join(dir, "none"))
	settings := map[string]string{}
	var outputs strings.Builder
	base := ""
	for _, step := range guideSteps(t) {
		if step.file != "" {
			if err := os.WriteFile(filepath.Join(dir, step.file), []byte(step.text), 0o600); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for _, line := range step.lines {
			if assign, ok := strings.CutPrefix(line, "export "); ok {
				name, value, _ := strings.Cut(assign, "=")
				if o, ok := overrides[name]; ok {
					value = o
				}
				settings[name] = value
				env = append(env, name+"="+value)
				continue
			}
			words := shellWords(line)
			if words[0] != "lindung" {
				t.Fatalf("the guide runs %q; the test runs only lindung commands", line)
			}
			cmd := exec.Command(bin, words[1:]...)
			cmd.Dir, cmd.Env = dir, env
			if words[1] == "serve" {
				base = startServe(t, cmd)
				continue
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", line, err, out)
			}
			outputs.WriteString("$ " + line + "\n" + string(out))
		}
	}
	log := outputs.String()
	for _, want := range []string{"migrations applied", "registered the operator partner operator and its first operator, hub-admin",
		"+ partner jtk-selangor (GOVERNMENT, SELANGOR", "+ user hr@kilang-elektronik of kilang-elektronik, roles employer_hr",
		"dry run: 7 changes, none made", "7 changes applied in one transaction"} {
		if !strings.Contains(log, want) {
			t.Errorf("the guide's commands did not print %q:\n%s", want, log)
		}
	}
	if base == "" {
		t.Fatal("the guide never starts serve")
	}

	signIn := func(user, partner, role, audience string) string {
		return provider.Issue(t, "opaque-"+user, audience, map[string]any{
			settings["LINDUNG_CLAIM_USER"]: user, settings["LINDUNG_CLAIM_PARTNER"]: partner,
			"resource_access": map[string]any{"lindung-hub": map[string]any{"roles": []string{role}}},
		})
	}
	if settings["LINDUNG_CLAIM_ROLES"] != "resource_access.lindung-hub.roles" {
		t.Fatalf("the guide's roles claim is %q; the test's provider puts roles at resource_access.lindung-hub.roles", settings["LINDUNG_CLAIM_ROLES"])
	}
	for _, u := range []struct{ user, partner, role, partnerType, query string }{
		{"hub-admin", "operator", "operator", "OPERATOR", `partners { slug }`},
		{"aminah@jtk-selangor", "jtk-selangor", "protection_officer", "GOVERNMENT", `victims { totalCount }`},
		{"siti@tenaganita", "tenaganita", "ngo_caseworker", "NGO", `victims { totalCount }`},
		{"hr@kilang-elektronik", "kilang-elektronik", "employer_hr", "PRIVATE", `victims { totalCount }`},
	} {
		status, body := post(t, base, signIn(u.user, u.partner, u.role, settings["LINDUNG_JWKS_AUDIENCE"]),
			`{"query":"{ viewer { username partnerType roles } `+u.query+` }"}`)
		var got struct {
			Data struct {
				Viewer struct {
					Username, PartnerType string
					Roles                 []string
				}
			}
			Errors []any
		}
		if err := json.Unmarshal(body, &got); err != nil || status != 200 || len(got.Errors) > 0 {
			t.Fatalf("%s: HTTP %d %s", u.user, status, body)
		}
		if v := got.Data.Viewer; v.Username != u.user || v.PartnerType != u.partnerType || len(v.Roles) != 1 || v.Roles[0] != u.role {
			t.Fatalf("%s served as %+v", u.user, v)
		}
	}
	// The same provider's token for another of its clients is refused.
	if status, body := post(t, base, signIn("aminah@jtk-selangor", "jtk-selangor", "protection_officer", "payroll"),
		`{"query":"{ viewer { username } }"}`); status != 401 || !bytes.Contains(body, []byte("audience")) {
		t.Fatalf("a token for another audience: HTTP %d %s", status, body)
	}
	// A role the directory did not give the user is refused, whatever the provider says.
	if status, body := post(t, base, signIn("siti@tenaganita", "tenaganita", "protection_officer", settings["LINDUNG_JWKS_AUDIENCE"]),
		`{"query":"{ viewer { username } }"}`); status < 400 {
		t.Fatalf("a role the hub's record does not hold: HTTP %d %s", status, body)
	}
}

// startServe starts serve and returns its base URL once it serves; it is stopped when the test ends.
func startServe(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	base := ""
	scanner := bufio.NewScanner(stdout)
	for base == "" && scanner.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(scanner.Text()), "GraphiQL: "); ok {
			base = strings.TrimSuffix(rest, "/")
		}
	}
	if base == "" {
		cmd.Wait()
		t.Fatalf("serve printed no address:\n%s", stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
