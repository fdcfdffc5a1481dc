package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
	"github.com/lindung/lindung/translog"
)

// BenchmarkRecordAccess measures a request's audit write path — start the transaction, write the access
// records of 1 and of 20 victims, commit — as the hub did before the transparency log and as it does now
// (leaf hashes at insert, with the sequencer running every second beside it, past its first full sweep). Run the two in alternation
// (-count) on a quiet machine and compare medians; bench/results.md has the numbers.
func BenchmarkRecordAccess(b *testing.B) {
	url := pgtest.NewDemo(b)
	db, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	var partner string
	var victims []string
	rows, err := db.Pool.Query(ctx, `SELECT owner_partner_id::text, id::text FROM victims ORDER BY id LIMIT 20`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&partner, &v); err != nil {
			b.Fatal(err)
		}
		victims = append(victims, v)
	}
	key, _, err := translog.NewKey("bench.local/access-log")
	if err != nil {
		b.Fatal(err)
	}
	write := func(b *testing.B, n int, withLog bool) {
		records := make([]*lindung.AccessRecord, n)
		for i := range records {
			records[i] = &lindung.AccessRecord{RequestID: "bench", Username: demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM),
				PartnerID: partner, Roles: []string{demo.RoleProtectionOfficer}, Purpose: lindung.PurposeCaseManagement, VictimID: victims[i],
				Disclosed: lindung.SetOf(lindung.Identity, lindung.Case, lindung.Health), Withheld: lindung.SetOf(lindung.Counselling),
				PolicyVersion: "bench", OperationName: "CaseFile"}
		}
		if withLog {
			sctx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			defer func() { stop(); <-done }()
			go func() {
				defer close(done)
				for t := time.NewTicker(time.Second); ; {
					select {
					case <-sctx.Done():
						t.Stop()
						return
					case <-t.C:
						// The benchmark's transactions last milliseconds: a horizon of two seconds
						// measures the steady state, not a hub's first minute.
						db.Sequence(sctx, key, 2*time.Second, false)
					}
				}
			}()
		}
		for b.Loop() {
			s := db.NewSession(postgres.SessionRequest{PartnerSlug: demo.SlugKPWKM, Username: records[0].Username,
				Scope: lindung.Scope{Rows: lindung.ScopePartner, Purpose: lindung.PurposeCaseManagement}})
			if _, err := s.Start(ctx); err != nil {
				b.Fatal(err)
			}
			var err error
			if withLog {
				err = s.RecordAccess(ctx, records)
			} else {
				err = s.RecordAccessBeforeLog(ctx, records)
			}
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, n := range []int{1, 20} {
		b.Run(fmt.Sprintf("victims=%d/current-audit", n), func(b *testing.B) { write(b, n, false) })
		b.Run(fmt.Sprintf("victims=%d/with-log", n), func(b *testing.B) { write(b, n, true) })
	}
}
