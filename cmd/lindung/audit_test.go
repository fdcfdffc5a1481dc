package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
	"github.com/lindung/lindung/translog"
)

// logFixture is a database whose access log has two checkpoints: the first, which a partner kept in a
// file, covers the first ten records; the latest covers fifteen.
type logFixture struct {
	url   string
	db    *postgres.DB
	key   *translog.Key
	kept  string // the file holding the first checkpoint
	first translog.Checkpoint
}

func newLogFixture(t *testing.T) *logFixture {
	t.Helper()
	ctx := context.Background()
	f := &logFixture{url: pgtest.NewDemo(t)}
	var err error
	if f.db, err = postgres.Open(ctx, f.url, postgres.Options{MaxConns: 4}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.db.Close)
	if f.key, _, err = translog.NewKey("test.example/access-log"); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, pgtest.SuperuserURL(f.url))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for i, n := range []int{10, 5} {
		// Written as the administrator: the runtime login writes records only in a request's name.
		if _, err := admin.Exec(ctx, `INSERT INTO access_records (request_id, username, partner_id, roles, purpose, victim_id,
			disclosed, withheld, policy_version)
			SELECT 'req-' || $1::int || '-' || id, 'officer', owner_partner_id, '{protection_officer}', 'CASE_MANAGEMENT', id, '{CASE,HEALTH}', '{}', 'test'
			FROM victims ORDER BY id OFFSET $2 LIMIT $3`, i, i*10, n); err != nil {
			t.Fatal(err)
		}
		res, err := f.db.Sequence(ctx, f.key, time.Hour, true)
		if err != nil || res.Checkpoint == nil {
			t.Fatalf("sequence: %+v %v", res, err)
		}
		if i == 0 {
			f.kept = filepath.Join(t.TempDir(), "checkpoint")
			if err := os.WriteFile(f.kept, []byte(res.Checkpoint.Note), 0o600); err != nil {
				t.Fatal(err)
			}
			f.first, _ = translog.Open([]byte(res.Checkpoint.Note), f.key.Verifier())
		}
	}
	return f
}

// verify runs `lindung audit verify` with the kept checkpoint against url and returns its output.
func (f *logFixture) verify(t *testing.T, url string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := auditVerify(context.Background(), []string{"--database-url", url, "--public-key", f.key.PublicKey, "--checkpoint", f.kept}, &out)
	if err != nil && !errors.Is(err, errLogNotIntact) {
		t.Fatalf("audit verify: %v", err)
	}
	return out.String(), err
}

// recordAt returns the id of the access record at a leaf.
func (f *logFixture) recordAt(t *testing.T, leaf int) int64 {
	t.Helper()
	var id int64
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT record_id FROM log_leaves WHERE leaf_index = $1`, leaf).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// asSuperuser runs statements as the database administrator with triggers off, as a DBA covering
// their tracks would.
func asSuperuser(t *testing.T, databaseURL string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.SuperuserURL(databaseURL))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range append([]string{`SET session_replication_role = replica`}, stmts...) {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestAuditVerifyDetectsTampering: a database administrator deletes, edits or reorders past access
// records with the append-only triggers off. `lindung audit verify` names each altered, removed or
// reordered leaf and fails. When the administrator then rewrites the log's tree state to match and has
// the hub sign it again, the database is self-consistent, but the checkpoint a partner kept still
// catches it: verify fails against it, and no consistency proof from it to the new tree verifies.
func TestAuditVerifyDetectsTampering(t *testing.T) {
	swap := `UPDATE access_records x SET (at, request_id, user_id, username, partner_id, roles, purpose, victim_id, disclosed,
		withheld, policy_version, operation_name, leaf_hash) = (SELECT at, request_id, user_id, username, partner_id, roles,
		purpose, victim_id, disclosed, withheld, policy_version, operation_name, leaf_hash FROM access_records y
		WHERE y.id = CASE x.id WHEN %[1]d THEN %[2]d ELSE %[1]d END) WHERE x.id IN (%[1]d, %[2]d)`
	for _, tc := range []struct {
		name   string
		tamper func(a, b int64) string // a and b are the records at leaves 2 and 5
		want   []string
	}{
		{"edit", func(a, _ int64) string {
			return fmt.Sprintf(`UPDATE access_records SET disclosed = '{CASE}' WHERE id = %d`, a)
		},
			[]string{`altered\s+leaf 2 \(access record \d+\)`}},
		{"edit the time", func(_, b int64) string {
			return fmt.Sprintf(`UPDATE access_records SET at = at - interval '1 second' WHERE id = %d`, b)
		}, []string{`altered\s+leaf 5 \(`}},
		{"delete", func(a, _ int64) string { return fmt.Sprintf(`DELETE FROM access_records WHERE id = %d`, a) },
			[]string{`removed\s+leaf 2 \(access record \d+\)`}},
		{"reorder", func(a, b int64) string { return fmt.Sprintf(swap, a, b) },
			[]string{`reordered\s+leaf 2 \(.*holds what leaf 5 holds`, `reordered\s+leaf 5 \(.*holds what leaf 2 holds`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newLogFixture(t)
			if out, err := f.verify(t, f.url); err != nil || !strings.Contains(out, "intact") {
				t.Fatalf("the untouched log does not verify: %v\n%s", err, out)
			}
			asSuperuser(t, f.url, tc.tamper(f.recordAt(t, 2), f.recordAt(t, 5)))

			out, err := f.verify(t, f.url)
			if err == nil {
				t.Fatalf("verify passed a tampered log:\n%s", out)
			}
			for _, w := range tc.want {
				if !regexp.MustCompile(w).MatchString(out) {
					t.Errorf("verify's report lacks %q:\n%s", w, out)
				}
			}
			if n := len(regexp.MustCompile(`(?m)^\w+\s+leaf \d+ `).FindAllString(out, -1)); n != len(tc.want) {
				t.Errorf("verify reports more leaves than were touched:\n%s", out)
			}

			// The administrator rewrites the tree state from the tampered records, and the hub signs it.
			asSuperuser(t, f.url, `TRUNCATE log_leaves, log_nodes, log_checkpoints`)
			res, err := f.db.Sequence(ctx, f.key, time.Hour, true)
			if err != nil || res.Checkpoint == nil {
				t.Fatalf("re-sequence: %+v %v", res, err)
			}
			out, err = f.verify(t, f.url)
			if err == nil || !strings.Contains(out, "do not reproduce the signed checkpoint of size 10") {
				t.Errorf("verify with the kept checkpoint passed a rewritten log (%v):\n%s", err, out)
			}
			latest, _ := translog.Open([]byte(res.Checkpoint.Note), f.key.Verifier())
			s := f.db.NewSession(postgres.SessionRequest{PartnerSlug: demo.SlugKPWKM, Username: demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM),
				Scope: lindung.Scope{Rows: lindung.ScopePartner, Purpose: lindung.PurposeCaseManagement}})
			if _, err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer s.Rollback(ctx)
			p, err := s.AuditConsistencyProof(ctx, int64(f.first.Size), int64(latest.Size))
			if err != nil {
				t.Fatal(err)
			}
			if err := translog.VerifyConsistency(f.first.Size, latest.Size, p.Hashes, f.first.Root, latest.Root); err == nil {
				t.Error("a consistency proof from the kept checkpoint to the rewritten log verified")
			}
		})
	}
}

// TestAuditVerifyConsistencyProofOfAnIntactLog is the control of the test above: without tampering, the
// consistency proof from the kept checkpoint to the latest verifies, and so does a new tree the hub
// builds on.
func TestAuditVerifyConsistencyProofOfAnIntactLog(t *testing.T) {
	ctx := context.Background()
	f := newLogFixture(t)
	s := f.db.NewSession(postgres.SessionRequest{PartnerSlug: demo.SlugKPWKM, Username: demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM),
		Scope: lindung.Scope{Rows: lindung.ScopePartner, Purpose: lindung.PurposeCaseManagement}})
	if _, err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Rollback(ctx)
	cp, err := s.LatestCheckpoint(ctx)
	if err != nil || cp == nil || cp.TreeSize != 15 {
		t.Fatalf("latest checkpoint: %+v %v", cp, err)
	}
	p, err := s.AuditConsistencyProof(ctx, int64(f.first.Size), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := translog.VerifyConsistency(f.first.Size, uint64(cp.TreeSize), p.Hashes, f.first.Root, cp.RootHash); err != nil {
		t.Errorf("consistency proof of an intact log: %v", err)
	}
}

// TestAuditVerifyRestoredDump: verify reads a database restored from a pg_dump as it is, finds it
// intact, and finds an edit made to the restored copy.
func TestAuditVerifyRestoredDump(t *testing.T) {
	if _, err := exec.LookPath("pg_dump"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pg_dump is not installed")
		}
		t.Skip("pg_dump is not installed")
	}
	ctx := context.Background()
	f := newLogFixture(t)
	u, err := url.Parse(pgtest.SuperuserURL(f.url))
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/") + "_restored"
	u.Path = "/" + name
	restored := u.String()
	admin, err := pgx.Connect(ctx, pgtest.SuperuserURL(f.url))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin, err := pgx.Connect(ctx, pgtest.SuperuserURL(f.url))
		if err == nil {
			admin.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
			admin.Close(ctx)
		}
	})
	dump := exec.Command("sh", "-c", `pg_dump --format=custom "$1" | pg_restore --exit-on-error --dbname="$2"`, "sh",
		pgtest.SuperuserURL(f.url), restored)
	if out, err := dump.CombinedOutput(); err != nil {
		t.Fatalf("pg_dump | pg_restore: %v\n%s", err, out)
	}
	if out, err := f.verify(t, restored); err != nil || !strings.Contains(out, "15 leaves") {
		t.Fatalf("the restored log does not verify (%v):\n%s", err, out)
	}
	asSuperuser(t, restored, fmt.Sprintf(`UPDATE access_records SET username = 'someone else' WHERE id = %d`, f.recordAt(t, 7)))
	if out, err := f.verify(t, restored); err == nil || !regexp.MustCompile(`altered\s+leaf 7 \(`).MatchString(out) {
		t.Errorf("an edit to the restored copy went unreported (%v):\n%s", err, out)
	}
}

// TestAuditKeyAndCheckpoint: `audit key --create` makes the log key once and prints its public half, the
// same on every call; `audit checkpoint` sequences the records and prints a checkpoint that opens with it.
func TestAuditKeyAndCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("LINDUNG_LOG_KEY", "")
	t.Setenv("LINDUNG_LOG_KEY_FILE", filepath.Join(dir, "log-key"))
	t.Setenv("LINDUNG_LOG_ORIGIN", "test.example/access-log")
	t.Setenv("DATABASE_URL", pgtest.NewDemo(t))
	var first, again, cp bytes.Buffer
	if err := auditCmd(ctx, []string{"key"}, &first); err == nil {
		t.Fatal("audit key without --create and without a key succeeded")
	}
	if err := auditCmd(ctx, []string{"key", "--create"}, &first); err != nil {
		t.Fatal(err)
	}
	if err := auditCmd(ctx, []string{"key"}, &again); err != nil || again.String() != first.String() {
		t.Fatalf("the key changed: %q then %q (%v)", first.String(), again.String(), err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "log-key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
	admin, err := pgx.Connect(ctx, pgtest.SuperuserURL(os.Getenv("DATABASE_URL")))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `INSERT INTO access_records (request_id, username, partner_id, roles, purpose, victim_id,
		disclosed, withheld, policy_version) SELECT 'r', 'u', owner_partner_id, '{}', 'CASE_MANAGEMENT', id, '{}', '{}', 'v'
		FROM victims LIMIT 3`); err != nil {
		t.Fatal(err)
	}
	if err := auditCmd(ctx, []string{"checkpoint"}, &cp); err != nil {
		t.Fatal(err)
	}
	v, err := translog.ReadVerifier(strings.TrimSpace(first.String()))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := translog.Open(cp.Bytes(), v); err != nil || c.Size != 3 {
		t.Errorf("audit checkpoint printed %q: %+v %v", cp.String(), c, err)
	}
}
