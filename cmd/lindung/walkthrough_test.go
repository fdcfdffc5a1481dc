package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lindung/lindung/postgres/pgtest"
)

// walkthroughBlocks reads the sh blocks of docs/care-walkthrough.md, in order.
func walkthroughBlocks(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "care-walkthrough.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	var cur *strings.Builder
	for _, line := range strings.Split(string(doc), "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh":
			cur = &strings.Builder{}
		case cur != nil && strings.HasPrefix(line, "```"):
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}

// TestCareWalkthrough runs docs/care-walkthrough.md's commands as a reader would, with bash, curl and jq,
// against `serve --demo` on a fresh database: the hub's address and the binary are the test's, every
// command is the document's. Each block's answer is checked for what the document says it shows.
func TestCareWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("the walkthrough needs %s", tool)
			}
			t.Skipf("the walkthrough needs %s", tool)
		}
	}
	dbURL := pgtest.SuperuserURL(pgtest.New(t))
	dir := t.TempDir()
	bin := build(t, dir)
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "LINDUNG_KEY_FILE="+filepath.Join(dir, "jwt-secret"),
		"LINDUNG_JWT_SECRET=", "LINDUNG_MIGRATE_DATABASE_URL=", "LINDUNG_JWKS_URL=", "LINDUNG="+bin)
	serve := exec.Command(bin, "serve", "--demo", "--addr", "127.0.0.1:0")
	serve.Env = env
	base := startServe(t, serve)

	blocks := walkthroughBlocks(t)
	var script strings.Builder
	script.WriteString("set -u\n")
	for i, b := range blocks {
		if !strings.Contains(b, "http://localhost:8080/graphql") && i == 0 {
			t.Fatalf("the walkthrough's first block no longer defines gql against localhost:8080:\n%s", b)
		}
		b = strings.ReplaceAll(b, "http://localhost:8080", base)
		b = strings.ReplaceAll(b, "go run ./cmd/lindung", `"$LINDUNG"`)
		fmt.Fprintf(&script, "echo '### block %d'\n%s", i, b)
	}
	script.WriteString("echo '### variables'\necho \"MOTHER=$MOTHER CHILD=$CHILD REFERRAL=$REFERRAL CODE=$CODE\"\n")
	cmd := exec.Command("bash", "-c", script.String())
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walkthrough's commands failed: %v\n%s", err, out)
	}
	parts := strings.Split(string(out), "### ")
	outputs := map[string]string{}
	for _, p := range parts[1:] {
		name, body, _ := strings.Cut(p, "\n")
		outputs[name] = body
	}

	// What each block answers, as the document describes it; "refused" blocks show an error, the others none.
	type expect struct {
		refused bool
		want    []string
		not     []string
	}
	expects := []expect{
		{},
		{want: []string{`"relationship":"MOTHER"`, `"caseRef":"KPW-2026-900001"`}},
		{want: []string{`"status":"ACTIVE"`, `"slug":"employer-ladang"`, `"name":"`}, not: []string{"ngo-suara"}},
		{want: []string{`"type":"IPO"`, `"orderType":"IPO"`, `"reason":"Rescued with her son"`}},
		{refused: true, want: []string{"CO_PLACEMENT"}},
		{want: []string{`"type":"PO"`, `"orderType":"PO"`}},
		{refused: true, want: []string{`"field":"endsOn"`}},
		{},
		{want: []string{`"status":"ACCEPTED"`, `"status":"DELIVERED"`, `"caseRef":"KPW-2026-900001"`}},
		{want: []string{`"decision":"ELIGIBLE"`, `"protectionOrderHeld":true`}},
		{want: []string{`"eligible":true`, `"eligible":false`}},
	}
	if len(blocks) != len(expects) {
		t.Fatalf("the walkthrough has %d sh blocks, the test knows %d: update the test with the document", len(blocks), len(expects))
	}
	for i, e := range expects {
		got := outputs[fmt.Sprintf("block %d", i)]
		if hasErrors := strings.Contains(got, `"errors"`); hasErrors != e.refused {
			t.Errorf("block %d: errors %v, want %v:\n%s\n%s", i, hasErrors, e.refused, blocks[i], got)
		}
		for _, w := range e.want {
			if !strings.Contains(got, w) {
				t.Errorf("block %d: the answer lacks %s:\n%s\n%s", i, w, blocks[i], got)
			}
		}
		for _, n := range e.not {
			if strings.Contains(got, n) {
				t.Errorf("block %d: the answer shows %s:\n%s\n%s", i, n, blocks[i], got)
			}
		}
	}
	vars := outputs["variables"]
	for _, v := range []string{"MOTHER", "CHILD", "REFERRAL", "CODE"} {
		if strings.Contains(vars, v+"= ") || strings.Contains(vars, v+"=null") || strings.HasSuffix(strings.TrimSpace(vars), v+"=") {
			t.Errorf("the walkthrough left %s empty: %s", v, vars)
		}
	}
}
