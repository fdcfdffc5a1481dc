package postgres_test

import (
	"sync"
	"testing"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
	"github.com/lindung/lindung/translog"
)

// officerSession starts a protection officer's session at kpwkm, the owner of every demo case.
func officerSession(t *testing.T, db *postgres.DB) *postgres.Session {
	t.Helper()
	s := db.NewSession(postgres.SessionRequest{PartnerSlug: demo.SlugKPWKM, Username: demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM),
		Scope: lindung.Scope{Rows: lindung.ScopePartner, Purpose: lindung.PurposeCaseManagement}})
	if _, err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Rollback(ctx) })
	return s
}

// recordFor writes one access record of victim in s, as a request would, and leaves s open.
func recordFor(t *testing.T, s *postgres.Session, partnerID, victim, requestID string) {
	t.Helper()
	err := s.RecordAccessForTest(ctx, &lindung.RequestAccess{Accessor: lindung.Accessor{RequestID: requestID,
		Username: "officer <&> \"quoted\"", PartnerID: partnerID, Roles: []string{demo.RoleProtectionOfficer},
		Purpose: lindung.PurposeCaseManagement, PolicyVersion: "test", OperationName: "Q\nwith a newline"},
		Victims: []lindung.VictimAccess{{VictimID: victim,
			Disclosed: lindung.SetOf(lindung.Identity, lindung.Health), Withheld: lindung.SetOf(lindung.Counselling)}}})
	if err != nil {
		t.Fatal(err)
	}
}

func sequence(t *testing.T, db *postgres.DB, key *translog.Key, full bool) *postgres.SequenceResult {
	t.Helper()
	res, err := db.Sequence(ctx, key, time.Hour, full)
	if err != nil {
		t.Fatalf("sequence: %v", err)
	}
	return res
}

// auditLog runs the whole-log audit on the database, as `lindung audit verify` does.
func auditLog(t *testing.T, url string, key *translog.Key) *translog.Report {
	t.Helper()
	snap, err := postgres.ReadLog(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	var cps []translog.Checkpoint
	for _, n := range snap.Checkpoints {
		c, err := translog.Open([]byte(n), key.Verifier())
		if err != nil {
			t.Fatalf("stored checkpoint: %v", err)
		}
		cps = append(cps, c)
	}
	return translog.Audit(snap.Leaves, snap.Records, cps, snap.Now, time.Hour)
}

// TestSequencerLogsCommittedRecords: every committed access record gets exactly one leaf, also one that
// committed after records with higher ids were sequenced, and none that was rolled back; replicas
// sequencing at once neither skip nor duplicate a record; the whole log then audits clean, and the
// proofs served to a request verify against the signed checkpoints.
func TestSequencerLogsCommittedRecords(t *testing.T) {
	url := pgtest.NewDemo(t)
	db := open(t, url)
	mustExec(t, db, `INSERT INTO access_records (request_id, username, partner_id, roles, purpose, victim_id, disclosed, withheld, policy_version)
		SELECT 'seed', 'seed', owner_partner_id, '{protection_officer}', 'CASE_MANAGEMENT', id, '{CASE}', '{}', 'test' FROM victims`)
	key, _, err := translog.NewKey("test.example/access-log")
	if err != nil {
		t.Fatal(err)
	}
	var kpwkm, victim string
	mustScan(t, db, []any{&kpwkm, &victim}, `SELECT owner_partner_id::text, id::text FROM victims ORDER BY id LIMIT 1`)

	// The seed records, written without leaf hashes (as before the log existed), are taken in whole.
	first := sequence(t, db, key, true)
	var records int
	mustScan(t, db, []any{&records}, `SELECT count(*) FROM access_records`)
	if !first.Locked || first.Sequenced != records || first.Checkpoint == nil || first.Checkpoint.TreeSize != int64(records) {
		t.Fatalf("first run: %+v, want all %d records", first, records)
	}

	// A request still open holds a lower record id than one that commits after it.
	slow := officerSession(t, db)
	recordFor(t, slow, kpwkm, victim, "slow")
	fast := officerSession(t, db)
	recordFor(t, fast, kpwkm, victim, "fast")
	if err := fast.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if res := sequence(t, db, key, false); res.Sequenced != 1 || len(res.Changed) != 0 {
		t.Fatalf("with one request open: %+v, want the committed record alone", res)
	}
	rolledBack := officerSession(t, db)
	recordFor(t, rolledBack, kpwkm, victim, "rolled back")
	rolledBack.Rollback(ctx)
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	// More records, and four replicas sequencing at once.
	for i := range 20 {
		s := officerSession(t, db)
		recordFor(t, s, kpwkm, victim, "more-"+string(rune('a'+i)))
		if err := s.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := db.Sequence(ctx, key, time.Hour, false); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	sequence(t, db, key, false)
	var leaves, distinct, unlogged int
	mustScan(t, db, []any{&leaves, &distinct}, `SELECT count(*), count(DISTINCT record_id) FROM log_leaves`)
	mustScan(t, db, []any{&unlogged}, `SELECT count(*) FROM access_records a WHERE NOT EXISTS (SELECT 1 FROM log_leaves l WHERE l.record_id = a.id)`)
	if want := records + 22; leaves != want || distinct != want || unlogged != 0 {
		t.Errorf("%d leaves (%d records), %d records without a leaf; want %d", leaves, distinct, unlogged, want)
	}
	if rep := auditLog(t, url, key); len(rep.Problems) != 0 || rep.Leaves != records+22 || len(rep.Checkpoints) < 3 {
		t.Errorf("audit of an untouched log: %d leaves, %d checkpoints, problems %v", rep.Leaves, len(rep.Checkpoints), rep.Problems)
	}

	// What a request is served verifies against the signed checkpoints.
	s := officerSession(t, db)
	cp, err := s.LatestCheckpoint(ctx)
	if err != nil || cp == nil {
		t.Fatalf("latest checkpoint: %v %v", cp, err)
	}
	signed, err := translog.Open([]byte(cp.Note), key.Verifier())
	if err != nil || signed.Size != uint64(cp.TreeSize) || string(signed.Root) != string(cp.RootHash) {
		t.Fatalf("the served checkpoint does not verify: %v", err)
	}
	entries, err := s.FindAuditEntries(ctx, victim)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 22 {
		t.Fatalf("%d audit entries of the victim, want at least 22", len(entries))
	}
	for _, e := range entries {
		if e.LeafIndex == nil {
			t.Fatalf("entry of record %d has no leaf", e.RecordID)
		}
		p, err := s.AuditInclusionProof(ctx, *e.LeafIndex, cp.TreeSize)
		if err != nil {
			t.Fatal(err)
		}
		if err := translog.VerifyInclusion(uint64(*e.LeafIndex), uint64(cp.TreeSize), translog.HashLeaf(e.Leaf), p.Hashes, signed.Root); err != nil {
			t.Errorf("inclusion proof of leaf %d: %v", *e.LeafIndex, err)
		}
	}
	c, err := s.AuditConsistencyProof(ctx, first.Checkpoint.TreeSize, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := translog.VerifyConsistency(uint64(first.Checkpoint.TreeSize), uint64(cp.TreeSize), c.Hashes, first.Checkpoint.RootHash, signed.Root); err != nil {
		t.Errorf("consistency proof from the first checkpoint: %v", err)
	}
	if _, err := s.AuditConsistencyProof(ctx, 1, cp.TreeSize+1); err == nil {
		t.Error("a consistency proof beyond the latest checkpoint was served")
	}

	// The sequencer's tables are append-only, for the hub's login and for the administrator.
	s.Rollback(ctx)
	for _, stmt := range []string{`UPDATE log_nodes SET hash = hash`, `DELETE FROM log_leaves`, `TRUNCATE log_checkpoints`,
		`UPDATE log_checkpoints SET note = ''`} {
		for who, pool := range map[string]*postgres.DB{"the hub's login": db, "the administrator": admin(t, db)} {
			if _, err := pool.Pool.Exec(ctx, stmt); err == nil {
				t.Errorf("%s ran %q", who, stmt)
			}
		}
	}
}
