-- The statistics functions are planned for the caller's bases again.
--
-- Since 007 statistics_counted takes the caller's bases from statistics_caller, a row it joins to every
-- victim. The planner cannot know that row, so every plan kept the consent test, a subquery per victim,
-- even for a caller whose bases are all legal (the analyst), for whom it never runs; and it charged that
-- subquery to every victim. At 100,000 victims the estimates went past jit_above_cost, and each call
-- compiled its statements before running them: with the connection's generic plans, the case panels'
-- 'state' statement, which a call without a state filter does not even run (27 to 36 ms of compiling);
-- with plans per call, the counting statement, with inlining and optimisation (0.7 to 1.2 s). The case
-- panels (gender, state, month) took 1.3× to 1.7× the hand-written SQL, which has no such test (bench
-- BenchmarkStatistics100k); 004, which took the bases as arguments, folded the test away and took 1.03×
-- to 1.07×. It was not the victims' wider rows of 012: both sides read the same rows.
--
-- Each function now reads the caller's bases once, into variables, and counts with statistics_counted_for,
-- which takes them as arguments; each statement is planned for the call's values (force_custom_plan), so a
-- legal basis folds the consent test away, and the dimension, period and state filters fold to what the
-- call asks. The bases are statistics_caller's, as before: the bases passed, narrowed by the caller's
-- user's roles. A partner the hub does not know has no row; its bases are NULL and no case counts.

-- statistics_counted_for is statistics_counted for bases already resolved by statistics_caller. Like it,
-- it returns victim ids: granted to no one, inlined into the SECURITY DEFINER functions that call it.
-- PARALLEL SAFE (it reads no setting and writes nothing; workers run with the caller's user and
-- snapshot): PostgreSQL decides whether a statement may run in parallel before it inlines the functions
-- the statement names, and one not so marked kept the services and referrals panels on one core while
-- the same SQL by hand ran on two.
CREATE FUNCTION statistics_counted_for(need integer, legal_bits integer, consent_bits integer,
    partner_id uuid, partner_type partner_type)
RETURNS TABLE (id uuid, state malaysian_state, identified_on date, trafficking_status trafficking_status,
    exploitation_types exploitation_type[], sector sector, gender gender, age_band age_band, citizenship text[])
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT v.id, coalesce(s.state, o.state), v.identified_on, v.trafficking_status, v.exploitation_types,
           v.sector, v.gender, v.age_band, v.citizenship
    FROM victims v
    JOIN partners o ON o.id = v.owner_partner_id
    LEFT JOIN placements p ON p.victim_id = v.id AND p.to_date IS NULL
    LEFT JOIN shelters s ON s.id = p.shelter_id
    WHERE $1 & ~($2 | $3) = 0
      AND ($1 & ~$2 = 0 OR $1 & ~$2 = $1 & ~$2 & coalesce((
            SELECT bit_or(g.category_bits)
            FROM consent_grants('STATISTICS', $4, $5) g
            WHERE g.victim_id = v.id), 0))
$$;
REVOKE ALL ON FUNCTION statistics_counted_for(integer, integer, integer, uuid, partner_type) FROM PUBLIC;

-- statistics_counted as in 010, by way of statistics_counted_for: one definition of who is counted. The
-- functions below no longer call it; it stays for the checks that read the population directly.
CREATE OR REPLACE FUNCTION statistics_counted(need integer, legal integer, consent integer)
RETURNS TABLE (id uuid, state malaysian_state, identified_on date, trafficking_status trafficking_status,
    exploitation_types exploitation_type[], sector sector, gender gender, age_band age_band, citizenship text[])
LANGUAGE sql STABLE AS $$
    SELECT c.* FROM statistics_caller($2, $3) k
    CROSS JOIN LATERAL statistics_counted_for($1, k.legal_bits, k.consent_bits, k.partner_id, k.partner_type) c
$$;

-- statistics_cases, _orders, _services and _referrals as in 004, counting statistics_counted_for with the
-- caller's bases read once. CREATE OR REPLACE keeps their grants.
CREATE OR REPLACE FUNCTION statistics_cases(dimension text, need integer, legal integer, consent integer,
    date_from date, date_to date, in_state malaysian_state)
RETURNS TABLE (kind text, key text, n bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    caller_legal integer;
    caller_consent integer;
    caller_partner uuid;
    caller_type partner_type;
BEGIN
    PERFORM statistics_check();
    IF dimension NOT IN ('TRAFFICKING_STATUS', 'EXPLOITATION_TYPE', 'SECTOR', 'GENDER', 'AGE_BAND',
            'CITIZENSHIP', 'STATE', 'MONTH') THEN
        RAISE EXCEPTION 'unknown statistics dimension %', dimension USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- No row (a partner the hub does not know) leaves every variable NULL: no case passes the bases' test.
    SELECT k.legal_bits, k.consent_bits, k.partner_id, k.partner_type
        INTO caller_legal, caller_consent, caller_partner, caller_type
        FROM statistics_caller(legal, consent) k;
    IF dimension IN ('EXPLOITATION_TYPE', 'CITIZENSHIP') THEN
        RETURN QUERY
        SELECT CASE WHEN grouping(k.key) = 0 THEN 'cell' ELSE 'total' END, k.key,
               CASE WHEN grouping(k.key) = 0 THEN count(*) ELSE count(*) FILTER (WHERE k.ord = 1) END
        FROM statistics_counted_for(need, caller_legal, caller_consent, caller_partner, caller_type) c
        CROSS JOIN LATERAL unnest(CASE dimension
            WHEN 'EXPLOITATION_TYPE' THEN CASE WHEN cardinality(c.exploitation_types) = 0 THEN ARRAY['UNKNOWN']
                                           ELSE c.exploitation_types::text[] END
            ELSE CASE WHEN cardinality(c.citizenship) = 0 THEN ARRAY['UNKNOWN'] ELSE c.citizenship END
            END) WITH ORDINALITY AS k(key, ord)
        WHERE (date_from IS NULL OR c.identified_on >= date_from) AND (date_to IS NULL OR c.identified_on <= date_to)
          AND (in_state IS NULL OR c.state = in_state)
        GROUP BY GROUPING SETS ((k.key), ());
    ELSE
        -- Single-valued: one key per case, no unnesting (which costs a function scan per case).
        RETURN QUERY
        SELECT CASE WHEN grouping(k.key) = 0 THEN 'cell' ELSE 'total' END, k.key, count(*)
        FROM (SELECT CASE dimension
                  WHEN 'TRAFFICKING_STATUS' THEN c.trafficking_status::text
                  WHEN 'SECTOR' THEN coalesce(c.sector::text, 'UNKNOWN')
                  WHEN 'GENDER' THEN coalesce(c.gender::text, 'UNKNOWN')
                  WHEN 'AGE_BAND' THEN coalesce(c.age_band::text, 'UNKNOWN')
                  WHEN 'STATE' THEN c.state::text
                  WHEN 'MONTH' THEN to_char(c.identified_on, 'YYYY-MM')
                  END AS key
              FROM statistics_counted_for(need, caller_legal, caller_consent, caller_partner, caller_type) c
              WHERE (date_from IS NULL OR c.identified_on >= date_from) AND (date_to IS NULL OR c.identified_on <= date_to)
                AND (in_state IS NULL OR c.state = in_state)) k
        GROUP BY GROUPING SETS ((k.key), ());
    END IF;
    RETURN QUERY
    SELECT 'state', c.state::text, count(*)
    FROM statistics_counted_for(need, caller_legal, caller_consent, caller_partner, caller_type) c
    WHERE in_state IS NOT NULL
      AND (date_from IS NULL OR c.identified_on >= date_from) AND (date_to IS NULL OR c.identified_on <= date_to)
    GROUP BY c.state;
END $$;

CREATE OR REPLACE FUNCTION statistics_orders(need integer, legal integer, consent integer, within_days integer,
    in_state malaysian_state)
RETURNS TABLE (kind text, key text, n bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    caller_legal integer;
    caller_consent integer;
    caller_partner uuid;
    caller_type partner_type;
BEGIN
    PERFORM statistics_check();
    SELECT k.legal_bits, k.consent_bits, k.partner_id, k.partner_type
        INTO caller_legal, caller_consent, caller_partner, caller_type
        FROM statistics_caller(legal, consent) k;
    RETURN QUERY
    SELECT x.kind, g.key, x.n
    FROM (SELECT po.type::text AS key, grouping(po.type) AS total, count(*) AS active,
                 count(*) FILTER (WHERE po.ends_on <= current_date + within_days) AS expiring
          FROM statistics_counted_for(need, caller_legal, caller_consent, caller_partner, caller_type) c
          JOIN protection_orders po ON po.victim_id = c.id
          WHERE po.starts_on <= current_date AND po.ends_on >= current_date AND po.ended_on IS NULL
            AND (in_state IS NULL OR c.state = in_state)
          GROUP BY GROUPING SETS ((po.type), ())) g
    CROSS JOIN LATERAL (VALUES (CASE WHEN g.total = 0 THEN 'active' ELSE 'active_total' END, g.active),
                               (CASE WHEN g.total = 0 THEN 'expiring' ELSE 'expiring_total' END, g.expiring)) x(kind, n)
    UNION ALL
    SELECT 'state', c.state::text, count(*)
    FROM statistics_counted_for(need, caller_legal, caller_consent, caller_partner, caller_type) c
    JOIN protection_orders po ON po.victim_id = c.id
    WHERE in_state IS NOT NULL
      AND po.starts_on <= current_date AND po.ends_on >= current_date AND po.ended_on IS NULL
    GROUP BY c.state;
END $$;

CREATE OR REPLACE FUNCTION statistics_services(need integer, legal integer, consent integer,
    date_from date, date_to date, in_state malaysian_state)
RETURNS TABLE (kind text, key text, n bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    caller_legal integer;
    caller_consent integer;
    caller_partner uuid;
    caller_type partner_type;
BEGIN
    PERFORM statistics_check();
    SELECT k.legal_bits, k.consent_bits, k.partner_id, k.partner_type
        INTO caller_legal, caller_consent, caller_partner, caller_type
        FROM statistics_caller(legal, consent) k;
    RETURN QUERY
    WITH d AS MATERIALIZED (
        SELECT r.service_code, r.provider_partner_id, c.state
        FROM statistics_counted_for(need, caller_legal, caller_consent, caller_partner, caller_type) c
        JOIN service_records r ON r.victim_id = c.id
        WHERE r.status = 'DELIVERED'
          AND (date_from IS NULL OR r.delivered_on >= date_from) AND (date_to IS NULL OR r.delivered_on <= date_to)
    ), f AS (
        SELECT * FROM d WHERE in_state IS NULL OR d.state = in_state
    )
    SELECT 'service'::text, f.service_code::text, count(*) FROM f GROUP BY f.service_code
    UNION ALL
    SELECT 'provider', p.slug, count(*) FROM f JOIN partners p ON p.id = f.provider_partner_id GROUP BY p.slug
    UNION ALL SELECT 'total', NULL, count(*) FROM f
    UNION ALL SELECT 'state', d.state::text, count(*) FROM d WHERE in_state IS NOT NULL GROUP BY d.state;
END $$;

CREATE OR REPLACE FUNCTION statistics_referrals(need integer, legal integer, consent integer,
    date_from date, date_to date, in_state malaysian_state)
RETURNS TABLE (kind text, key text, n bigint, median_days double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    caller_legal integer;
    caller_consent integer;
    caller_partner uuid;
    caller_type partner_type;
BEGIN
    PERFORM statistics_check();
    SELECT k.legal_bits, k.consent_bits, k.partner_id, k.partner_type
        INTO caller_legal, caller_consent, caller_partner, caller_type
        FROM statistics_caller(legal, consent) k;
    RETURN QUERY
    WITH r AS MATERIALIZED (
        SELECT lower(x.status::text) AS status, x.to_partner_id, c.state,
               extract(epoch FROM x.updated_at - x.created_at) / 86400 AS days
        FROM statistics_counted_for(need, caller_legal, caller_consent, caller_partner, caller_type) c
        JOIN referrals x ON x.victim_id = c.id
        WHERE x.status IN ('ACCEPTED', 'COMPLETED')
          AND (date_from IS NULL OR x.created_at::date >= date_from) AND (date_to IS NULL OR x.created_at::date <= date_to)
    ), f AS (
        SELECT * FROM r WHERE in_state IS NULL OR r.state = in_state
    )
    SELECT f.status, p.slug, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY f.days)
    FROM f JOIN partners p ON p.id = f.to_partner_id GROUP BY f.status, p.slug
    UNION ALL
    SELECT f.status || '_total', NULL, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY f.days)
    FROM f GROUP BY f.status
    UNION ALL
    SELECT 'state', r.state::text, count(*), NULL FROM r WHERE in_state IS NOT NULL GROUP BY r.state;
END $$;

-- Plans for each call's values, whatever the connection says (postgres.Open: force_generic_plan), for the
-- four (014's auto for orders and services was reset by CREATE OR REPLACE). Not auto: the generic plans'
-- guesses for the NULL-or-equal filters can make them look cheaper than the plans per call, and after
-- five calls auto would keep them, consent test and compilation included. Planning a call costs about a
-- millisecond; counting 100,000 cases about a hundred.
ALTER FUNCTION statistics_cases(text, integer, integer, integer, date, date, malaysian_state)
    SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION statistics_orders(integer, integer, integer, integer, malaysian_state)
    SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION statistics_services(integer, integer, integer, date, date, malaysian_state)
    SET plan_cache_mode = force_custom_plan;
ALTER FUNCTION statistics_referrals(integer, integer, integer, date, date, malaysian_state)
    SET plan_cache_mode = force_custom_plan;
