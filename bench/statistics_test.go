package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// statsSize is the number of victims of the statistics benchmark's data set.
const statsSize = 100_000

// handSQL is each panel's aggregate written by hand, as plain SQL run by the database owner: what the
// statistics functions do, minus the function call, the basis check and the purpose check. The benchmark
// reports each panel's time through the store as a ratio to it (target: at most 1.3).
var handSQL = map[lindung.StatisticsPanel]string{
	lindung.PanelGender: `SELECT coalesce(v.gender::text, 'UNKNOWN') AS key, count(*) FROM victims v JOIN partners o ON o.id = v.owner_partner_id
		LEFT JOIN placements p ON p.victim_id = v.id AND p.to_date IS NULL LEFT JOIN shelters s ON s.id = p.shelter_id
		GROUP BY GROUPING SETS ((1), ())`,
	lindung.PanelExploitationType: `SELECT k.key, CASE WHEN grouping(k.key) = 0 THEN count(*) ELSE count(*) FILTER (WHERE k.ord = 1) END
		FROM victims v JOIN partners o ON o.id = v.owner_partner_id
		LEFT JOIN placements p ON p.victim_id = v.id AND p.to_date IS NULL LEFT JOIN shelters s ON s.id = p.shelter_id
		CROSS JOIN LATERAL unnest(CASE WHEN cardinality(v.exploitation_types) = 0 THEN ARRAY['UNKNOWN']
			ELSE v.exploitation_types::text[] END) WITH ORDINALITY k(key, ord)
		GROUP BY GROUPING SETS ((k.key), ())`,
	lindung.PanelState: `SELECT coalesce(s.state, o.state)::text, count(*) FROM victims v JOIN partners o ON o.id = v.owner_partner_id
		LEFT JOIN placements p ON p.victim_id = v.id AND p.to_date IS NULL LEFT JOIN shelters s ON s.id = p.shelter_id
		GROUP BY GROUPING SETS ((1), ())`,
	lindung.PanelMonth: `SELECT to_char(v.identified_on, 'YYYY-MM'), count(*) FROM victims v JOIN partners o ON o.id = v.owner_partner_id
		LEFT JOIN placements p ON p.victim_id = v.id AND p.to_date IS NULL LEFT JOIN shelters s ON s.id = p.shelter_id
		GROUP BY GROUPING SETS ((1), ())`,
	lindung.PanelOrders: `SELECT po.type::text, count(*), count(*) FILTER (WHERE po.ends_on <= current_date + 14)
		FROM victims v JOIN partners o ON o.id = v.owner_partner_id
		LEFT JOIN placements p ON p.victim_id = v.id AND p.to_date IS NULL LEFT JOIN shelters s ON s.id = p.shelter_id
		JOIN protection_orders po ON po.victim_id = v.id
		WHERE po.starts_on <= current_date AND po.ends_on >= current_date AND po.ended_on IS NULL
		GROUP BY GROUPING SETS ((po.type), ())`,
	lindung.PanelServices: `WITH d AS MATERIALIZED (SELECT r.service_code, r.provider_partner_id FROM victims v
		JOIN partners o ON o.id = v.owner_partner_id
		LEFT JOIN placements p ON p.victim_id = v.id AND p.to_date IS NULL LEFT JOIN shelters s ON s.id = p.shelter_id
		JOIN service_records r ON r.victim_id = v.id WHERE r.status = 'DELIVERED')
		SELECT service_code::text, count(*) FROM d GROUP BY 1
		UNION ALL SELECT p.slug, count(*) FROM d JOIN partners p ON p.id = d.provider_partner_id GROUP BY p.slug
		UNION ALL SELECT NULL, count(*) FROM d`,
	lindung.PanelReferrals: `WITH r AS MATERIALIZED (SELECT x.status, x.to_partner_id,
			extract(epoch FROM x.updated_at - x.created_at) / 86400 AS days FROM victims v
		JOIN partners o ON o.id = v.owner_partner_id
		LEFT JOIN placements p ON p.victim_id = v.id AND p.to_date IS NULL LEFT JOIN shelters s ON s.id = p.shelter_id
		JOIN referrals x ON x.victim_id = v.id WHERE x.status IN ('ACCEPTED', 'COMPLETED'))
		SELECT r.status::text, p.slug, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY days)
		FROM r JOIN partners p ON p.id = r.to_partner_id GROUP BY 1, 2
		UNION ALL SELECT status::text, NULL, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY days) FROM r GROUP BY 1`,
	lindung.PanelOccupancy: `WITH s AS MATERIALIZED (SELECT s.state, s.order_type, s.capacity, o.occupancy
		FROM shelters s JOIN shelter_occupancy o ON o.shelter_id = s.id)
		SELECT state::text, sum(occupancy), sum(capacity), count(*) FROM s GROUP BY state
		UNION ALL SELECT order_type::text, sum(occupancy), sum(capacity), count(*) FROM s GROUP BY order_type
		UNION ALL SELECT NULL, sum(occupancy), sum(capacity), count(*) FROM s`,
}

// BenchmarkStatistics100k times every panel on 100,000 generated victims, through the store (one round
// trip, as the analyst, under row-level security and the basis check) and by hand, and reports the ratio.
// Run: go test ./bench -run '^$' -bench Statistics -benchtime 20x
func BenchmarkStatistics100k(b *testing.B) {
	ctx := context.Background()
	dbURL := statisticsDB(b)
	db, err := postgres.Open(ctx, dbURL, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	super, err := postgres.Open(ctx, pgtest.SuperuserURL(dbURL), postgres.Options{}) // the hand-written SQL reads every case
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(super.Close)
	legal := lindung.SetOf(lindung.Case, lindung.Demographic, lindung.Legal)
	for _, p := range []lindung.StatisticsPanel{lindung.PanelGender, lindung.PanelExploitationType, lindung.PanelState,
		lindung.PanelMonth, lindung.PanelOrders, lindung.PanelServices, lindung.PanelReferrals, lindung.PanelOccupancy} {
		b.Run(string(p), func(b *testing.B) {
			var store, hand time.Duration
			for b.Loop() {
				s := db.NewSession(postgres.SessionRequest{PartnerSlug: demo.SlugKPWKM,
					Username: demo.DemoUsername(demo.RoleMinistryAnalyst, demo.SlugKPWKM), // the database caps statistics by the user's roles
					Scope:    lindung.Scope{Rows: lindung.ScopeNone, Purpose: lindung.PurposeStatistics}})
				if _, err := s.Start(ctx); err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if _, err := s.Statistics(ctx, lindung.StatisticsQuery{Panel: p, Legal: legal, ExpiringWithinDays: 14}); err != nil {
					b.Fatal(err)
				}
				store += time.Since(t0)
				s.Rollback(ctx)

				t0 = time.Now()
				rows, err := super.Pool.Query(ctx, handSQL[p])
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				hand += time.Since(t0)
			}
			b.ReportMetric(float64(store.Microseconds())/float64(b.N)/1000, "ms/panel")
			b.ReportMetric(float64(hand.Microseconds())/float64(b.N)/1000, "ms/hand")
			b.ReportMetric(float64(store)/float64(hand), "ratio")
		})
	}
}

// statisticsDB returns a fresh database holding demo.Generate(statsSize, today), cloned from a template
// built once per schema and day (the import takes a while; the clone a second), dropped when b ends.
func statisticsDB(b *testing.B) string {
	b.Helper()
	ctx := context.Background()
	empty := pgtest.New(b) // skips without PostgreSQL (fails under CI=true), and tells the schema version
	probe, err := pgx.Connect(ctx, empty)
	if err != nil {
		b.Fatal(err)
	}
	var migrations string
	// The migrations' names and what they define (functions, columns), so an edited migration gets a
	// new template too.
	err = probe.QueryRow(ctx, `SELECT (SELECT string_agg(name, ',' ORDER BY version) FROM schema_migrations)
		|| (SELECT string_agg(md5(proname || prosrc), ',' ORDER BY proname, md5(prosrc)) FROM pg_proc
			WHERE pronamespace = 'public'::regnamespace)
		|| (SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, column_name)
			FROM information_schema.columns WHERE table_schema = 'public')`).Scan(&migrations)
	probe.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256([]byte(migrations))
	today := pgtest.Today()
	tmpl := fmt.Sprintf("lindung_tmpl_stats%d_%s_%s", statsSize, hex.EncodeToString(sum[:4]), today.Format("20060102"))

	super := pgtest.SuperuserURL(empty)
	admin, err := pgx.Connect(ctx, withDB(super, "postgres"))
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock(hashtext($1))`, tmpl); err != nil {
		b.Fatal(err)
	}
	defer admin.Exec(ctx, `SELECT pg_advisory_unlock(hashtext($1))`, tmpl)
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)`, tmpl).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		wip := tmpl + "_wip"
		admin.Exec(ctx, "DROP DATABASE IF EXISTS "+wip+" WITH (FORCE)")
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+wip); err != nil {
			b.Fatal(err)
		}
		db, err := postgres.Open(ctx, withDB(super, wip), postgres.Options{MigrateURL: withDB(super, wip)})
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "building the %d-victim template %s (once per schema and day)\n", statsSize, tmpl)
		err = db.Import(ctx, demo.Generate(statsSize, today), nil)
		db.Close()
		if err != nil {
			b.Fatal(err)
		}
		for _, stmt := range []string{"ALTER DATABASE " + wip + " RENAME TO " + tmpl, "ALTER DATABASE " + tmpl + " WITH IS_TEMPLATE true"} {
			if _, err := admin.Exec(ctx, stmt); err != nil {
				b.Fatal(err)
			}
		}
	}
	name := fmt.Sprintf("lindung_bench_stats_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tmpl); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), withDB(super, "postgres"))
		if err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	return pgtest.RuntimeURL(withDB(empty, name))
}

// withDB returns u naming another database.
func withDB(u, name string) string {
	p, _ := url.Parse(u)
	p.Path = "/" + name
	return p.String()
}
