package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// BenchmarkBatching loads the placements of N victims three ways: naive, one query per victim (what a
// resolver without dataloaders does); batched, one query for all of them (what the dataloaders and the
// prefetch do); and a single JOIN of victims and placements. It reports the SQL round trips per operation
// and the modelled time with 0.12 ms and 1 ms of network round trip added per database call, since on
// loopback the round trip itself is nearly free.
func BenchmarkBatching(b *testing.B) {
	ctx := context.Background()
	url := pgtest.New(b)
	calls := &pgtest.Tracer{}
	db, err := postgres.Open(ctx, url, postgres.Options{Tracer: calls})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	owner, err := postgres.Open(ctx, pgtest.OwnerURL(url), postgres.Options{}) // loads across every scope
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(owner.Close)
	if err := owner.Import(ctx, demo.Generate(1200, pgtest.Today()), nil); err != nil {
		b.Fatal(err)
	}
	var ids []string
	rows, _ := owner.Pool.Query(ctx, `SELECT id::text FROM victims ORDER BY id LIMIT 1000`)
	ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(ids) < 1000 {
		b.Fatalf("%d victims, %v", len(ids), err)
	}
	session := func(b *testing.B) *postgres.Session {
		s := db.NewSession(postgres.SessionRequest{PartnerSlug: demo.SlugKPWKM,
			Username: demo.DemoUsername(demo.RoleProtectionOfficer, demo.SlugKPWKM),
			Scope:    lindung.Scope{Rows: lindung.ScopePartner, Purpose: lindung.PurposeCaseManagement}})
		if _, err := s.Start(ctx); err != nil {
			b.Fatal(err)
		}
		return s
	}
	// appTx is a transaction set up as a request's is (the runtime login, scope settings), for the JOIN
	// variant, which is SQL the store does not have: a join returns one row per victim and placement.
	appTx := func(b *testing.B) pgx.Tx {
		tx, err := db.Pool.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('lindung.partner_id', id::text, true),
			set_config('lindung.partner_type', 'GOVERNMENT', true), set_config('lindung.scope', 'partner', true),
			set_config('lindung.purpose', 'CASE_MANAGEMENT', true)
			FROM partners WHERE slug = 'kpwkm'`); err != nil {
			b.Fatal(err)
		}
		return tx
	}
	// loop is b.Loop, counting the round trips of the iterations alone: a variant's set-up (BEGIN, the
	// scope) and tear-down are not part of the operation.
	var inLoop bool
	var loopStart, loopCalls int64
	loop := func(b *testing.B) bool {
		if !inLoop {
			inLoop, loopStart = true, calls.RoundTrips()
		}
		if b.Loop() {
			return true
		}
		inLoop, loopCalls = false, calls.RoundTrips()-loopStart
		return false
	}
	variants := []struct {
		name string
		run  func(b *testing.B, ids []string)
	}{
		{"naive", func(b *testing.B, ids []string) {
			s := session(b)
			defer s.Rollback(ctx)
			for loop(b) {
				for _, id := range ids {
					if _, err := s.FindPlacementsByVictimIDs(ctx, []string{id}); err != nil {
						b.Fatal(err)
					}
				}
			}
		}},
		{"batched", func(b *testing.B, ids []string) {
			s := session(b)
			defer s.Rollback(ctx)
			for loop(b) {
				if _, err := s.FindPlacementsByVictimIDs(ctx, ids); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"join", func(b *testing.B, ids []string) {
			tx := appTx(b)
			defer tx.Rollback(ctx)
			for loop(b) {
				rows, err := tx.Query(ctx, `SELECT v.id::text, p.id::text, p.shelter_id::text, p.from_date, p.to_date,
					p.reason, bits.consented, bits.referred
					FROM victims v JOIN placements p ON p.victim_id = v.id
					CROSS JOIN LATERAL viewer_bits(v.consent_grants, v.id, 'CASE_MANAGEMENT', current_setting('lindung.partner_id')::uuid, 'GOVERNMENT') bits
					WHERE v.id = ANY($1::uuid[]) AND v.owner_partner_id = current_setting('lindung.partner_id')::uuid`, ids)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
				}
				if rows.Err() != nil {
					b.Fatal(rows.Err())
				}
			}
		}},
	}
	for _, n := range []int{10, 100, 1000} {
		for _, v := range variants {
			b.Run(fmt.Sprintf("n=%d/%s", n, v.name), func(b *testing.B) {
				v.run(b, ids[:n])
				perOp := float64(loopCalls) / float64(b.N)
				b.ReportMetric(perOp, "roundtrips/op")
				measured := float64(b.Elapsed().Microseconds()) / 1000 / float64(b.N)
				b.ReportMetric(measured+perOp*0.12, "ms-at-0.12ms-rtt/op")
				b.ReportMetric(measured+perOp*1, "ms-at-1ms-rtt/op")
			})
		}
	}
}
