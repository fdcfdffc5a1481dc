package reliability_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung/auth"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres/pgtest"
	"github.com/lindung/lindung/translog"
)

const recordConsent = `mutation($v: ID!) { recordConsent(input: {victimId: $v, grantor: SELF, language: "ms",
	method: VERBAL, provisions: [
		{granteeSlug: "ngo-suara", categories: [CONTACT, COUNSELLING], purposes: [SERVICE_DELIVERY]},
		{granteeType: GOVERNMENT, categories: [IDENTITY], purposes: [PROSECUTION]},
		{granteeSlug: "kpwkm", categories: [HEALTH], purposes: [CASE_MANAGEMENT]}]}) { id } }`

// TestKilledMidWriteLeavesNoPartialRecords runs the real binary, has eight clients register victims and
// record three-provision consents as fast as it answers, and kills it with SIGKILL in the middle. Every
// write it acknowledged is there afterwards, and nothing is half-written: no victim without its audit
// and change records, no consent without all its provisions and its change record.
func TestKilledMidWriteLeavesNoPartialRecords(t *testing.T) {
	url := pgtest.NewDemo(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "lindung")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/lindung").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	_, logKey, err := translog.NewKey("test.example/access-log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "LINDUNG_JWT_SECRET="+string(testSecret), "LINDUNG_LOG_KEY="+logKey,
		"LINDUNG_KEY_FILE="+filepath.Join(dir, "key"), "LINDUNG_USER_RATE=-1", "LINDUNG_PARTNER_RATE=-1")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
		}
		cmd.Wait()
	}()
	base := ""
	scanner := bufio.NewScanner(stdout)
	for base == "" && scanner.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(scanner.Text()), "GraphiQL: "); ok {
			base = strings.TrimSuffix(rest, "/")
		}
	}
	if base == "" {
		t.Fatal("the hub printed no address")
	}
	go io.Copy(io.Discard, stdout)

	token, err := auth.NewIssuer(testSecret).Issue(auth.Claims{Subject: demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM),
		Partner: demo.SlugKPWKM, Roles: []string{demo.RoleProtectionOfficer}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var (
		mu            sync.Mutex
		ackedVictims  []string
		ackedConsents []string
		seq           atomic.Int64
		wg            sync.WaitGroup
		stop          = make(chan struct{})
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ref := fmt.Sprintf("KIL-2026-%06d", seq.Add(1))
				r, err := post(client, base, token, createVictim, map[string]any{"in": map[string]any{
					"caseRef": ref, "legalName": "Killed Mid-Write (fictional)", "medicalNeeds": "fictional"}})
				if err != nil || r.Status != 200 || len(r.Errors) > 0 {
					continue // the hub is gone, or refused: nothing was acknowledged
				}
				var id string
				if _, after, ok := strings.Cut(string(r.Data), `"id":"`); ok {
					id, _, _ = strings.Cut(after, `"`)
				}
				mu.Lock()
				ackedVictims = append(ackedVictims, id)
				mu.Unlock()
				r, err = post(client, base, token, recordConsent, map[string]any{"v": id})
				if err != nil || r.Status != 200 || len(r.Errors) > 0 {
					continue
				}
				if _, after, ok := strings.Cut(string(r.Data), `"id":"`); ok {
					cid, _, _ := strings.Cut(after, `"`)
					mu.Lock()
					ackedConsents = append(ackedConsents, cid)
					mu.Unlock()
				}
			}
		}()
	}
	// Let the writes run, then kill the hub in the middle of them.
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(ackedConsents)
		mu.Unlock()
		if n >= 40 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no deferred commits
		t.Fatal(err)
	}
	killed = true
	cmd.Wait()
	close(stop)
	wg.Wait()
	if len(ackedConsents) == 0 {
		t.Fatal("no write was acknowledged before the kill: the test proves nothing")
	}

	ctx := context.Background()
	db, err := pgx.Connect(ctx, pgtest.SuperuserURL(url)) // every partner's records, outside any request
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	// The killed hub's backends end when PostgreSQL notices the closed sockets; wait for their transactions.
	for range 100 {
		var open int
		db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&open)
		if open == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	count := func(sql string, args ...any) int {
		var n int
		if err := db.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM victims WHERE id = ANY($1::uuid[])`, ackedVictims); n != len(ackedVictims) {
		t.Errorf("%d of %d acknowledged victims are there", n, len(ackedVictims))
	}
	if n := count(`SELECT count(*) FROM consents WHERE id = ANY($1::uuid[])`, ackedConsents); n != len(ackedConsents) {
		t.Errorf("%d of %d acknowledged consents are there", n, len(ackedConsents))
	}
	checks := []struct{ what, sql string }{
		{"victims without their change record", `SELECT count(*) FROM victims v WHERE v.case_ref LIKE 'KIL-%'
			AND NOT EXISTS (SELECT 1 FROM change_records c WHERE c.victim_id = v.id AND c.entity = 'victim')`},
		{"victims without their access record", `SELECT count(*) FROM victims v WHERE v.case_ref LIKE 'KIL-%'
			AND NOT EXISTS (SELECT 1 FROM access_records a WHERE a.victim_id = v.id)`},
		{"consents without all three provisions", `SELECT count(*) FROM consents c JOIN victims v ON v.id = c.victim_id
			WHERE v.case_ref LIKE 'KIL-%' AND (SELECT count(*) FROM consent_provisions p WHERE p.consent_id = c.id) <> 3`},
		{"consents without their change record", `SELECT count(*) FROM consents c JOIN victims v ON v.id = c.victim_id
			WHERE v.case_ref LIKE 'KIL-%' AND NOT EXISTS (SELECT 1 FROM change_records r WHERE r.record_id = c.id::text)`},
	}
	for _, c := range checks {
		if n := count(c.sql); n != 0 {
			t.Errorf("%d %s", n, c.what)
		}
	}
	t.Logf("killed after %d acknowledged victims and %d acknowledged consents; %d victims and %d consents stored",
		len(ackedVictims), len(ackedConsents), count(`SELECT count(*) FROM victims WHERE case_ref LIKE 'KIL-%'`),
		count(`SELECT count(*) FROM consents c JOIN victims v ON v.id = c.victim_id WHERE v.case_ref LIKE 'KIL-%'`))
}
