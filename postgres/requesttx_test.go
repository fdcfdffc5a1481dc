package postgres_test

import (
	"testing"

	"github.com/lindung/lindung"
)

// TestRequestTransactionControlTakesNoRoundTrip: a request's BEGIN travels with its first statement and its
// COMMIT with its access records, and a failed commit leaves nothing behind: no record written, no
// connection held, no transaction left open on a pooled connection. (A failed start, an unknown partner,
// is TestUnknownPartnerIsUnauthenticated's.)
func TestRequestTransactionControlTakesNoRoundTrip(t *testing.T) {
	t.Parallel()
	db, counter := openCounted(t)
	sc := scopeCases[1] // the protection officer's partner scope
	held := func(when string) {
		t.Helper()
		if n := db.Pool.Stat().AcquiredConns(); n != 0 {
			t.Errorf("%s: %d connections still held, want 0", when, n)
		}
	}

	before, trips := counter.Statements(), counter.RoundTrips()
	s := session(t, db, sc)
	if n, rt := counter.Statements()-before, counter.RoundTrips()-trips; n != 3 || rt != 1 {
		t.Errorf("start: %d statements in %d round trips, want BEGIN, the caller's name and the start in 1", n, rt)
	}
	ids, err := s.QueryForTest(ctx, `SELECT id::text FROM victims ORDER BY id LIMIT 2`)
	if err != nil || len(ids) != 2 {
		t.Fatalf("victims: %v, %v", ids, err)
	}
	partner, err := s.QueryForTest(ctx, `SELECT current_setting('lindung.partner_id')`)
	if err != nil {
		t.Fatal(err)
	}
	access := func(request string, victims ...string) *lindung.RequestAccess {
		a := &lindung.RequestAccess{Accessor: lindung.Accessor{RequestID: request, Username: "test@" + sc.slug,
			PartnerID: partner[0], Purpose: sc.purpose, PolicyVersion: "pv-1"}}
		for _, v := range victims {
			a.Victims = append(a.Victims, lindung.VictimAccess{VictimID: v, Disclosed: lindung.SetOf(lindung.Identity)})
		}
		return a
	}
	records := func(request string) (n int) {
		t.Helper()
		mustScan(t, db, []any{&n}, `SELECT count(*) FROM access_records WHERE request_id = $1`, request)
		return n
	}

	// A record that fails (an id that is no UUID) aborts the pipeline before its COMMIT: the records
	// written earlier in the request are rolled back with it, and the connection goes back clean.
	if err := s.RecordAccessForTest(ctx, access("pipe-1", ids[0])); err != nil {
		t.Fatal(err)
	}
	err = s.CommitWithAccess(ctx, access("pipe-1", ids[1], "not-a-uuid"))
	if err == nil {
		t.Fatal("a commit whose records cannot be written succeeded")
	}
	if n := records("pipe-1"); n != 0 {
		t.Errorf("after a failed commit: %d records of the request, want 0", n)
	}
	held("after a failed commit")
	if err := s.Commit(ctx); err != nil {
		t.Errorf("commit after the request ended: %v, want a no-op", err)
	}

	// The records and the commit of a request that succeeds.
	s = session(t, db, sc)
	if err := s.CommitWithAccess(ctx, access("pipe-2", ids...)); err != nil {
		t.Fatal(err)
	}
	if n := records("pipe-2"); n != 2 {
		t.Errorf("after a commit: %d records of the request, want 2", n)
	}
	held("after a commit")
	if idle := db.Pool.Stat().IdleConns(); idle == 0 {
		t.Error("no idle connection after the requests: a connection was closed rather than returned clean")
	}
}
