-- The case panels (gender, state, month, ... of statistics_cases) are planned for the caller's bases again.
--
-- Since 007 statistics_counted takes the caller's bases from statistics_caller, a row it joins to every
-- victim. The planner cannot know that row, so every plan keeps the consent test, a subquery per victim,
-- even for a caller whose bases are all legal (the analyst), for whom it never runs; and it charges that
-- subquery to every victim. At 100,000 victims the estimates went past jit_above_cost, and each call
-- compiled its statements before running them: with the connection's generic plans, the 'state' statement
-- that a call without a state filter does not run (35 to 110 ms a call); with plans per call, the counting
-- statement, with inlining and optimisation (several hundred ms). The panels took 1.3× to 1.7× the
-- hand-written SQL, which has no such test (bench BenchmarkStatistics100k; 004, which took the bases as
-- arguments, folded the test away and took 1.03× to 1.07×).
--
-- statistics_cases now reads the caller's bases once, into variables, and counts with
-- statistics_counted_for, which takes them as arguments; each statement is planned for the call's values
-- (force_custom_plan), so a legal basis folds the consent test away and the dimension, period and state
-- filters to what the call asks. The bases are statistics_caller's, as before: the caller's arguments
-- narrowed by its user's roles; a partner the hub does not know has no row, its bases are NULL, and no case
-- counts. statistics_counted is the same population, so the other panels and every test of it keep theirs.

-- statistics_counted_for is statistics_counted for bases already resolved by statistics_caller. Like it,
-- it returns victim ids: granted to no one, inlined into the SECURITY DEFINER functions that call it.
CREATE FUNCTION statistics_counted_for(need integer, legal_bits integer, consent_bits integer,
    partner_id uuid, partner_type partner_type)
RETURNS TABLE (id uuid, state malaysian_state, identified_on date, trafficking_status trafficking_status,
    exploitation_types exploitation_type[], sector sector, gender gender, age_band age_band, citizenship text[])
LANGUAGE sql STABLE AS $$
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

-- statistics_counted as in 010, by way of statistics_counted_for: one definition of who is counted.
CREATE OR REPLACE FUNCTION statistics_counted(need integer, legal integer, consent integer)
RETURNS TABLE (id uuid, state malaysian_state, identified_on date, trafficking_status trafficking_status,
    exploitation_types exploitation_type[], sector sector, gender gender, age_band age_band, citizenship text[])
LANGUAGE sql STABLE AS $$
    SELECT c.* FROM statistics_caller($2, $3) k
    CROSS JOIN LATERAL statistics_counted_for($1, k.legal_bits, k.consent_bits, k.partner_id, k.partner_type) c
$$;

-- statistics_cases as in 004, counting statistics_counted_for with the caller's bases read once.
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

-- Plans for each call's values, whatever the connection says (postgres.Open: force_generic_plan). Not
-- auto: the generic plans' guesses for the NULL-or-equal filters make them look cheaper than the plans
-- per call, so after five calls auto would keep the generic ones, consent test, compilation and all.
-- Planning a call costs about a millisecond; counting 100,000 cases about a hundred.
ALTER FUNCTION statistics_cases(text, integer, integer, integer, date, date, malaysian_state)
    SET plan_cache_mode = force_custom_plan;
