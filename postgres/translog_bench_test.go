package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
	"github.com/lindung/lindung/translog"
)

// BenchmarkRecordAccess measures a request's audit write path — start the transaction, write the access
// records of 1, 20 and 100 victims (a page), commit — as the hub did before the transparency log ("current audit")
// and as it does now (leaf hashes at insert, the records in one pipeline with the COMMIT), alternating the two transaction by transaction so that both
// see the same machine, with the sequencer running every second beside them as in a served hub (a
// two-second horizon: the benchmark's transactions last milliseconds, and a hub's first minute is not
// its steady state). It reports each variant's median and 99th percentile and their ratios, and the
// sequencer's time per record sequenced; bench/results.md has the numbers.
func BenchmarkRecordAccess(b *testing.B) {
	url := pgtest.NewDemo(b)
	db, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	// The victims are read as the superuser: the runtime login sees none without a request's scope.
	su, err := pgx.Connect(ctx, pgtest.SuperuserURL(url))
	if err != nil {
		b.Fatal(err)
	}
	defer su.Close(ctx)
	var partner string
	if err := su.QueryRow(ctx, `SELECT id::text FROM partners WHERE slug = $1`, demo.SlugKPWKM).Scan(&partner); err != nil {
		b.Fatal(err)
	}
	rows, _ := su.Query(ctx, `SELECT id::text FROM victims WHERE owner_partner_id = $1 ORDER BY id LIMIT 100`, partner)
	victims, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(victims) < 100 {
		b.Fatalf("%d victims of %s (%v), want 100", len(victims), demo.SlugKPWKM, err)
	}
	key, _, err := translog.NewKey("bench.local/access-log")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Sequence(ctx, key, time.Hour, true); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 20, 100} {
		b.Run(fmt.Sprintf("victims=%d", n), func(b *testing.B) {
			access := &lindung.RequestAccess{Accessor: lindung.Accessor{RequestID: "bench",
				Username: demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM), PartnerID: partner,
				Roles: []string{demo.RoleProtectionOfficer}, Purpose: lindung.PurposeCaseManagement,
				PolicyVersion: "bench", OperationName: "CaseFile"}}
			for _, v := range victims[:n] {
				access.Victims = append(access.Victims, lindung.VictimAccess{VictimID: v,
					Disclosed: lindung.SetOf(lindung.Identity, lindung.Case, lindung.Health), Withheld: lindung.SetOf(lindung.Counselling)})
			}
			sctx, stop := context.WithCancel(ctx)
			var seqTime time.Duration
			var sequenced int
			done := make(chan struct{})
			go func() {
				defer close(done)
				t := time.NewTicker(time.Second)
				defer t.Stop()
				for {
					select {
					case <-sctx.Done():
						return
					case <-t.C:
						start := time.Now()
						if res, err := db.Sequence(sctx, key, 2*time.Second, false); err == nil {
							seqTime += time.Since(start)
							sequenced += res.Sequenced
						}
					}
				}
			}()
			var before, with []time.Duration
			write := func(withLog bool) {
				start := time.Now()
				s := db.NewSession(postgres.SessionRequest{PartnerSlug: demo.SlugKPWKM, Username: access.Username,
					Scope: lindung.Scope{Rows: lindung.ScopePartner, Purpose: lindung.PurposeCaseManagement}})
				if _, err := s.Start(ctx); err != nil {
					b.Fatal(err)
				}
				var err error
				if withLog {
					err = s.CommitWithAccess(ctx, access)
				} else if err = s.RecordAccessBeforeLog(ctx, access); err == nil {
					err = s.Commit(ctx)
				}
				if err != nil {
					b.Fatal(err)
				}
				if withLog {
					with = append(with, time.Since(start))
				} else {
					before = append(before, time.Since(start))
				}
			}
			i := 0
			for b.Loop() {
				write(i%2 == 1)
				i++
			}
			stop()
			<-done
			q := func(d []time.Duration, p float64) float64 {
				if len(d) == 0 {
					return 0
				}
				slices.Sort(d)
				return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
			}
			b50, w50, b99, w99 := q(before, 0.5), q(with, 0.5), q(before, 0.99), q(with, 0.99)
			b.ReportMetric(b50, "p50-ms-current")
			b.ReportMetric(w50, "p50-ms-log")
			b.ReportMetric(b99, "p99-ms-current")
			b.ReportMetric(w99, "p99-ms-log")
			if b50 > 0 && b99 > 0 {
				b.ReportMetric(w50/b50, "p50-ratio")
				b.ReportMetric(w99/b99, "p99-ratio")
			}
			if sequenced > 0 {
				b.ReportMetric(float64(seqTime.Microseconds())/float64(sequenced), "sequencer-µs/record")
			}
		})
	}
}
