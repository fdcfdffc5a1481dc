package postgres_test

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// statsFixture is a small hub whose every count below was worked out by hand from these rows (not by
// running the statistics SQL another way):
//
//	case  gender  status        exploitation           sector        citizenship  identified  state (why)
//	v1    F       CONFIRMED     FORCED_LABOUR          PLANTATION    IDN          2025-01-10  SABAH (shelter S1)
//	v2    F       PRESUMED      SEXUAL_EXPL., F._LAB.  -             IDN, MYS     2025-01-20  SABAH (shelter S1)
//	v3    M       PRESUMED      -                      CONSTRUCTION  -            2025-02-05  SARAWAK (shelter S2)
//	v4    M       CONFIRMED     FORCED_LABOUR          PLANTATION    BGD          2025-03-01  SELANGOR (owner)
//	v5    -       NOT_A_VICTIM  OTHER                  OTHER         BGD          2025-03-15  SELANGOR (stay ended)
//
// Orders: v1 IPO ends in 5 days, v2 IPO in 30, v3 PO in 60; v4's PO ended early, v5's IPO is over.
// Services delivered: v1 HEALTH (ngo, 2025-02-01), v2 HEALTH (ngo, 2025-02-02), v3 COUNSELLING (agency,
// 2025-03-01); v4 HEALTH only requested. Referrals to the ngo: v1 ACCEPTED after 2 days, v2 ACCEPTED after 4,
// v3 COMPLETED after 10, v4 REJECTED. Consent: v1 grants DEMOGRAPHIC to GOVERNMENT for STATISTICS; v2 did
// too but withdrew; v3 granted it for another purpose.
func statsFixture(t *testing.T) *postgres.DB {
	t.Helper()
	db := open(t, pgtest.New(t))
	mustExec(t, db, `
	WITH p AS (INSERT INTO partners (slug, name, type, state) VALUES
		('ministry', 'Ministry', 'GOVERNMENT', 'PUTRAJAYA'), ('agency', 'Agency', 'GOVERNMENT', 'SELANGOR'),
		('ngo', 'NGO', 'NGO', 'SABAH') RETURNING id, slug),
	u AS (INSERT INTO users (partner_id, username, roles) SELECT id, 'officer@agency', '{protection_officer}'
		FROM p WHERE slug = 'agency' RETURNING id),
	s AS (INSERT INTO shelters (name, operator_partner_id, state, category, order_type, capacity)
		SELECT x.name, p.id, x.state::malaysian_state, 'WOMEN', x.ot::order_type, x.cap
		FROM p, (VALUES ('S1', 'SABAH', 'IPO', 10), ('S2', 'SARAWAK', 'PO', 5)) x(name, state, ot, cap)
		WHERE p.slug = 'ngo' RETURNING id, name),
	v AS (INSERT INTO victims (case_ref, owner_partner_id, gender, trafficking_status, exploitation_types, sector,
			citizenship, identified_on)
		SELECT x.ref, p.id, x.g::gender, x.st::trafficking_status, x.ex::exploitation_type[], x.sec::sector,
			x.cit::text[], x.ident::date
		FROM p, (VALUES
			('TST-2025-000001', 'FEMALE', 'CONFIRMED', '{FORCED_LABOUR}', 'PLANTATION', '{IDN}', '2025-01-10'),
			('TST-2025-000002', 'FEMALE', 'PRESUMED', '{SEXUAL_EXPLOITATION,FORCED_LABOUR}', NULL, '{IDN,MYS}', '2025-01-20'),
			('TST-2025-000003', 'MALE', 'PRESUMED', '{}', 'CONSTRUCTION', '{}', '2025-02-05'),
			('TST-2025-000004', 'MALE', 'CONFIRMED', '{FORCED_LABOUR}', 'PLANTATION', '{BGD}', '2025-03-01'),
			('TST-2025-000005', NULL, 'NOT_A_VICTIM', '{OTHER}', 'OTHER', '{BGD}', '2025-03-15')
		) x(ref, g, st, ex, sec, cit, ident)
		WHERE p.slug = 'agency' RETURNING id, right(case_ref, 1) AS n),
	pl AS (INSERT INTO placements (victim_id, shelter_id, from_date, to_date)
		SELECT v.id, s.id, '2025-01-01', x.until::date
		FROM (VALUES ('1', 'S1', NULL), ('2', 'S1', NULL), ('3', 'S2', NULL), ('5', 'S2', '2025-04-01')) x(n, shelter, until)
		JOIN v ON v.n = x.n JOIN s ON s.name = x.shelter),
	po AS (INSERT INTO protection_orders (victim_id, type, court, order_number, starts_on, ends_on, ended_on)
		SELECT v.id, x.t::order_type, 'Court', 'ORD-' || v.n, current_date - 10, current_date + x.days,
			CASE WHEN x.ended THEN current_date - 1 END
		FROM (VALUES ('1', 'IPO', 5, false), ('2', 'IPO', 30, false), ('3', 'PO', 60, false), ('4', 'PO', 60, true),
			('5', 'IPO', -2, false)) x(n, t, days, ended) JOIN v ON v.n = x.n),
	sr AS (INSERT INTO service_records (victim_id, service_code, provider_partner_id, status, requested_on, delivered_on)
		SELECT v.id, x.code::service_code, p.id, x.st::service_status, '2025-01-15', x.d::date
		FROM (VALUES ('1', 'HEALTH', 'ngo', 'DELIVERED', '2025-02-01'), ('2', 'HEALTH', 'ngo', 'DELIVERED', '2025-02-02'),
			('3', 'COUNSELLING', 'agency', 'DELIVERED', '2025-03-01'), ('4', 'HEALTH', 'ngo', 'REQUESTED', NULL))
			x(n, code, provider, st, d) JOIN v ON v.n = x.n JOIN p ON p.slug = x.provider),
	rf AS (INSERT INTO referrals (victim_id, from_partner_id, to_partner_id, service_code, categories, status,
			rejection_reason, due_on, created_at, updated_at)
		SELECT v.id, a.id, n.id, 'HEALTH', '{CASE}', x.st::referral_status, x.why, '2025-06-01',
			x.created::timestamptz, x.created::timestamptz + make_interval(days => x.days)
		FROM (VALUES ('1', 'ACCEPTED', NULL, '2025-01-11', 2), ('2', 'ACCEPTED', NULL, '2025-01-21', 4),
			('3', 'COMPLETED', NULL, '2025-02-06', 10), ('4', 'REJECTED', 'full', '2025-03-02', 1))
			x(n, st, why, created, days) JOIN v ON v.n = x.n, p a, p n WHERE a.slug = 'agency' AND n.slug = 'ngo'),
	c AS (INSERT INTO consents (victim_id, grantor_victim_id, grantor_relation, recorded_by_user_id, language,
			method, recorded_at, withdrawn_at, document_ref)
		SELECT v.id, v.id, 'SELF', u.id, 'en', 'VERBAL', now() - interval '2 days', x.withdrawn::timestamptz,
			'recording-' || x.n
		FROM (VALUES ('1', NULL), ('2', now()::text), ('3', NULL)) x(n, withdrawn) JOIN v ON v.n = x.n, u
		RETURNING id, victim_id)
	INSERT INTO consent_provisions (consent_id, position, grantee_type, categories, purposes, period_start)
		SELECT c.id, 0, 'GOVERNMENT', '{DEMOGRAPHIC}',
			CASE WHEN v.n = '3' THEN '{CASE_MANAGEMENT}'::purpose[] ELSE '{STATISTICS}'::purpose[] END,
			now() - interval '1 day'
		FROM c JOIN v ON v.id = c.victim_id`)
	// The analyst is a registered user: the database takes the most a statistics query may count from
	// the user's roles (statistics_bases), whatever bases the caller passes. ministry-officer's user
	// holds a role with no statistics bases, ministry-nobody has no user at all, and ministry-consent's
	// user holds a role that the database opens CASE to on a legal basis and DEMOGRAPHIC only on consent.
	mustExec(t, db, `
	WITH p AS (INSERT INTO partners (slug, name, type, state) VALUES
		('ministry-officer', 'Ministry 2', 'GOVERNMENT', 'PUTRAJAYA'), ('ministry-nobody', 'Ministry 3', 'GOVERNMENT', 'PUTRAJAYA'),
		('ministry-consent', 'Ministry 4', 'GOVERNMENT', 'PUTRAJAYA') RETURNING id, slug),
	b AS (INSERT INTO statistics_bases (role, legal, consent) VALUES ('consent_analyst', category_bits('{CASE}'), category_bits('{DEMOGRAPHIC}')))
	INSERT INTO users (partner_id, username, roles)
		SELECT id, 'test@ministry', '{ministry_analyst}'::text[] FROM partners WHERE slug = 'ministry'
		UNION ALL SELECT id, 'test@' || slug, '{protection_officer}' FROM p WHERE slug = 'ministry-officer'
		UNION ALL SELECT id, 'test@' || slug, '{consent_analyst}' FROM p WHERE slug = 'ministry-consent'`)
	return db
}

// statsSession is the ministry analyst's session: no rows, STATISTICS.
func statsSession(t *testing.T, db *postgres.DB, purpose lindung.Purpose) *postgres.Session {
	return session(t, db, scopeCase{"ministry", "ministry", lindung.ScopeNone, purpose})
}

// counts renders the rows of one kind as key -> count ("" is the key of totals).
func counts(rows []lindung.StatisticsRow, kind string) map[string]int64 {
	out := map[string]int64{}
	for _, r := range rows {
		if r.Kind == kind {
			out[r.Key] = r.Count
		}
	}
	return out
}

func day(s string) *time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &d
}

var analystLegal = lindung.SetOf(lindung.Case, lindung.Demographic, lindung.Legal)

func TestStatisticsCountsByHand(t *testing.T) {
	db := statsFixture(t)
	type m = map[string]int64
	for _, tc := range []struct {
		name   string
		q      lindung.StatisticsQuery
		kind   string
		want   m
		states m // the national by-state counts returned with a state filter
	}{
		{"gender", lindung.StatisticsQuery{Panel: lindung.PanelGender}, "cell", m{"FEMALE": 2, "MALE": 2, "UNKNOWN": 1}, nil},
		{"gender total", lindung.StatisticsQuery{Panel: lindung.PanelGender}, "total", m{"": 5}, nil},
		{"status", lindung.StatisticsQuery{Panel: lindung.PanelTraffickingStatus}, "cell", m{"CONFIRMED": 2, "PRESUMED": 2, "NOT_A_VICTIM": 1}, nil},
		{"exploitation is multi-valued", lindung.StatisticsQuery{Panel: lindung.PanelExploitationType}, "cell",
			m{"FORCED_LABOUR": 3, "SEXUAL_EXPLOITATION": 1, "OTHER": 1, "UNKNOWN": 1}, nil},
		{"sector", lindung.StatisticsQuery{Panel: lindung.PanelSector}, "cell", m{"PLANTATION": 2, "CONSTRUCTION": 1, "OTHER": 1, "UNKNOWN": 1}, nil},
		{"citizenship", lindung.StatisticsQuery{Panel: lindung.PanelCitizenship}, "cell", m{"IDN": 2, "MYS": 1, "BGD": 2, "UNKNOWN": 1}, nil},
		{"state: shelter, else owner", lindung.StatisticsQuery{Panel: lindung.PanelState}, "cell", m{"SABAH": 2, "SARAWAK": 1, "SELANGOR": 2}, nil},
		{"month", lindung.StatisticsQuery{Panel: lindung.PanelMonth}, "cell", m{"2025-01": 2, "2025-02": 1, "2025-03": 2}, nil},
		{"age band unknown", lindung.StatisticsQuery{Panel: lindung.PanelAgeBand}, "cell", m{"UNKNOWN": 5}, nil},
		{"period", lindung.StatisticsQuery{Panel: lindung.PanelGender, From: day("2025-02-01"), To: day("2025-03-10")}, "cell", m{"MALE": 2}, nil},
		{"state filter", lindung.StatisticsQuery{Panel: lindung.PanelGender, State: ptr("SABAH")}, "cell", m{"FEMALE": 2},
			m{"SABAH": 2, "SARAWAK": 1, "SELANGOR": 2}},
		{"orders in force", lindung.StatisticsQuery{Panel: lindung.PanelOrders, ExpiringWithinDays: 14}, "active", m{"IPO": 2, "PO": 1}, nil},
		{"orders expiring", lindung.StatisticsQuery{Panel: lindung.PanelOrders, ExpiringWithinDays: 14}, "expiring", m{"IPO": 1, "PO": 0}, nil},
		{"orders expiring within 60", lindung.StatisticsQuery{Panel: lindung.PanelOrders, ExpiringWithinDays: 60}, "expiring_total", m{"": 3}, nil},
		{"services by service", lindung.StatisticsQuery{Panel: lindung.PanelServices}, "service", m{"HEALTH": 2, "COUNSELLING": 1}, nil},
		{"services by provider", lindung.StatisticsQuery{Panel: lindung.PanelServices}, "provider", m{"ngo": 2, "agency": 1}, nil},
		{"services in February", lindung.StatisticsQuery{Panel: lindung.PanelServices, From: day("2025-02-01"), To: day("2025-02-28")}, "service", m{"HEALTH": 2}, nil},
		{"referrals accepted", lindung.StatisticsQuery{Panel: lindung.PanelReferrals}, "accepted", m{"ngo": 2}, nil},
		{"referrals completed", lindung.StatisticsQuery{Panel: lindung.PanelReferrals}, "completed", m{"ngo": 1}, nil},
		{"occupancy by state", lindung.StatisticsQuery{Panel: lindung.PanelOccupancy}, "state_cell", m{"SABAH": 2, "SARAWAK": 1}, nil},
		{"occupancy by order type", lindung.StatisticsQuery{Panel: lindung.PanelOccupancy}, "order_cell", m{"IPO": 2, "PO": 1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := statsSession(t, db, lindung.PurposeStatistics)
			q := tc.q
			q.Legal = analystLegal
			rows, err := s.Statistics(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if got := counts(rows, tc.kind); !maps.Equal(got, tc.want) {
				t.Errorf("%s = %v, want %v", tc.kind, got, tc.want)
			}
			if got := counts(rows, "state"); (tc.states != nil || len(got) > 0) && !maps.Equal(got, tc.states) {
				t.Errorf("state rows = %v, want %v", got, tc.states)
			}
		})
	}
}

func TestStatisticsMediansAndCapacity(t *testing.T) {
	db := statsFixture(t)
	s := statsSession(t, db, lindung.PurposeStatistics)
	rows, err := s.Statistics(ctx, lindung.StatisticsQuery{Panel: lindung.PanelReferrals, Legal: analystLegal})
	if err != nil {
		t.Fatal(err)
	}
	medians := map[string]float64{}
	for _, r := range rows {
		if r.MedianDays != nil {
			medians[r.Kind+"/"+r.Key] = *r.MedianDays
		}
	}
	want := map[string]float64{"accepted/ngo": 3, "accepted_total/": 3, "completed/ngo": 10, "completed_total/": 10}
	if !maps.Equal(medians, want) {
		t.Errorf("medians = %v, want %v", medians, want)
	}
	rows, err = s.Statistics(ctx, lindung.StatisticsQuery{Panel: lindung.PanelOccupancy})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Kind == "total" && (r.Count != 3 || r.Capacity != 15 || r.Shelters != 2) {
			t.Errorf("occupancy total = %+v, want 3 residents, 15 places, 2 shelters", r)
		}
	}
}

// TestStatisticsCountOnlyWhatTheBasisAllows: a category open only on consent counts only the cases whose
// active consent grants it for STATISTICS to the caller; a category open on no basis counts nothing.
func TestStatisticsCountOnlyWhatTheBasisAllows(t *testing.T) {
	db := statsFixture(t)
	for _, tc := range []struct {
		name           string
		legal, consent lindung.CategorySet
		want           map[string]int64
		slug           string // the caller's partner; "" for the ministry's analyst
	}{
		{"legal", analystLegal, 0, map[string]int64{"": 5}, ""},
		// v1 consented; v2 withdrew; v3 consented for another purpose.
		{"consent", lindung.SetOf(lindung.Case), lindung.SetOf(lindung.Demographic), map[string]int64{"": 1}, ""},
		{"no basis", lindung.SetOf(lindung.Case), 0, map[string]int64{"": 0}, ""},
		// The bases passed only narrow what the database holds for the caller's roles: a caller that
		// claims more counts what its roles allow, a caller without statistics roles counts nothing.
		{"every category claimed legal", lindung.SetOf(lindung.Categories()...), 0, map[string]int64{"": 5}, ""},
		{"claimed legal, held on consent", analystLegal, 0, map[string]int64{"": 1}, "ministry-consent"},
		{"claimed legal, role without bases", analystLegal, 0, map[string]int64{"": 0}, "ministry-officer"},
		{"claimed legal, no registered user", analystLegal, 0, map[string]int64{"": 0}, "ministry-nobody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := statsSession(t, db, lindung.PurposeStatistics)
			if tc.slug != "" {
				s = session(t, db, scopeCase{tc.slug, tc.slug, lindung.ScopeNone, lindung.PurposeStatistics})
			}
			rows, err := s.Statistics(ctx, lindung.StatisticsQuery{Panel: lindung.PanelGender, Legal: tc.legal, Consent: tc.consent})
			if err != nil {
				t.Fatal(err)
			}
			if got := counts(rows, "total"); !maps.Equal(got, tc.want) {
				t.Errorf("total = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestStatisticsWalls: the functions answer only under the STATISTICS purpose, and the helper that sees
// case ids is not callable by the app role at all.
func TestStatisticsWalls(t *testing.T) {
	db := statsFixture(t)
	s := statsSession(t, db, lindung.PurposeCaseManagement)
	if _, err := s.Statistics(ctx, lindung.StatisticsQuery{Panel: lindung.PanelGender, Legal: analystLegal}); lindung.CodeOf(err) != lindung.EFORBIDDEN {
		t.Errorf("statistics under CASE_MANAGEMENT: %v, want FORBIDDEN", err)
	}
	tx, err := db.Pool.Begin(ctx) // the runtime login
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT * FROM statistics_counted(8, 8, 0)`); err == nil {
		t.Error("the runtime login may call statistics_counted, which returns case ids")
	}
}

// TestStatisticsPlanForTheCallersBases: the statistics functions are planned for each call's bases, so a
// caller whose bases are all legal counts without the consent test, while a caller counting on consent
// keeps it. The test is a subquery per case that never runs for the first caller, but a plan that keeps it
// charges it to every case: at 100,000 cases that charge pushed the panels past jit_above_cost, and every
// call compiled its statements first (bench BenchmarkStatistics100k, migration 016). The plans are those
// PostgreSQL runs inside the functions, read with auto_explain on a connection that asks for generic
// plans, as the hub's do.
func TestStatisticsPlanForTheCallersBases(t *testing.T) {
	db := statsFixture(t)
	cfg := admin(t, db).Pool.Config().ConnConfig.Copy()
	var notices []string
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Message) }
	cfg.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `LOAD 'auto_explain'`); err != nil {
		t.Fatalf("auto_explain, which this test reads the plans with: %v", err)
	}
	const (
		cases     = `statistics_cases($1::text, $2, $3, $4, NULL, NULL, NULL)`
		orders    = `statistics_orders($2, $3, $4, 14, NULL) WHERE $1::text IS NOT NULL`
		services  = `statistics_services($2, $3, $4, NULL, NULL, NULL) WHERE $1::text IS NOT NULL`
		referrals = `statistics_referrals($2, $3, $4, NULL, NULL, NULL) WHERE $1::text IS NOT NULL`
	)
	consentOnly := lindung.SetOf(lindung.Case, lindung.Demographic, lindung.Legal) // as the consent basis, no legal one
	type call struct {
		name           string
		query          string
		panel          lindung.StatisticsPanel
		legal, consent lindung.CategorySet
		total          int64 // the 'total' row, or -1 for none
		consentTest    bool
	}
	var calls []call
	for _, panel := range []lindung.StatisticsPanel{lindung.PanelGender, lindung.PanelAgeBand, lindung.PanelCitizenship} { // each needs DEMOGRAPHIC
		calls = append(calls,
			call{"legal", "SELECT kind, n FROM " + cases, panel, analystLegal, 0, 5, false},
			call{"consent", "SELECT kind, n FROM " + cases, panel, lindung.SetOf(lindung.Case), lindung.SetOf(lindung.Demographic), 1, true})
	}
	calls = append(calls,
		call{"legal", "SELECT kind, n FROM " + orders, lindung.PanelOrders, analystLegal, 0, -1, false},
		call{"consent", "SELECT kind, n FROM " + orders, lindung.PanelOrders, 0, consentOnly, -1, true},
		call{"legal", "SELECT kind, n FROM " + services, lindung.PanelServices, analystLegal, 0, 3, false},
		call{"consent", "SELECT kind, n FROM " + services, lindung.PanelServices, 0, consentOnly, 0, true},
		call{"legal", "SELECT kind, n FROM " + referrals, lindung.PanelReferrals, analystLegal, 0, -1, false},
		call{"consent", "SELECT kind, n FROM " + referrals, lindung.PanelReferrals, 0, consentOnly, -1, true},
	)
	calls = append(calls, calls...) // again, on the same connection: no plan is kept from one call to the next
	for _, c := range calls {
		t.Run(c.name+"/"+string(c.panel), func(t *testing.T) {
			notices = nil
			total := int64(-1)
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				for _, stmt := range []string{`SELECT set_config('lindung.partner_id', p.id::text, true),
						set_config('lindung.partner_type', p.type::text, true), set_config('lindung.user_id', u.id::text, true),
						set_config('lindung.purpose', 'STATISTICS', true)
					FROM partners p JOIN users u ON u.partner_id = p.id WHERE p.slug = 'ministry'`,
					`SET LOCAL auto_explain.log_min_duration = 0`, `SET LOCAL auto_explain.log_nested_statements = on`,
					`SET LOCAL auto_explain.log_level = notice`, `SET LOCAL client_min_messages = notice`} {
					if _, err := tx.Exec(ctx, stmt); err != nil {
						return err
					}
				}
				rows, err := tx.Query(ctx, c.query, string(c.panel), int32(c.panel.Needs()), int32(c.legal), int32(c.consent))
				if err != nil {
					return err
				}
				for rows.Next() {
					var kind string
					var n int64
					if err := rows.Scan(&kind, &n); err != nil {
						return err
					}
					if kind == "total" {
						total = n
					}
				}
				return rows.Err()
			})
			if err != nil {
				t.Fatal(err)
			}
			if total != c.total {
				t.Errorf("total = %d, want %d", total, c.total)
			}
			counting, withTest := 0, 0
			for _, n := range notices {
				if strings.Contains(n, "statistics_counted_for(") {
					counting++
					if strings.Contains(n, "SubPlan") {
						withTest++
					}
				}
			}
			if counting == 0 {
				t.Fatalf("no counting statement explained: %q", notices)
			}
			if got := withTest > 0; got != c.consentTest {
				t.Errorf("consent test in the plans: %v, want %v\n%s", got, c.consentTest, strings.Join(notices, "\n"))
			}
		})
	}
}
