-- Statistics (issue 5): aggregates for the ministry dashboard, computed here so that no case row ever
-- reaches the hub for them. An analyst's row scope is none, so row-level security hides every victim from
-- lindung_app; the functions below run with their owner's rights (SECURITY DEFINER) and return only counts
-- per cell. Disclosure control (suppression of small cells) is applied by the hub to what they return.
--
-- Which cases are counted: a panel needs some data categories (e.g. CASE and DEMOGRAPHIC for victims by
-- gender). A case is counted when each of those categories is open to the caller for STATISTICS on a legal
-- basis, or on consent and the victim's active consent grants it to the caller's partner or partner type for
-- STATISTICS now. The caller passes its policy's legal and consent category bits; a category on neither
-- counts no case at all (fail closed).
--
-- The state of a case is the state of its current shelter, else the state of the agency that owns it.
-- Every function refuses unless the transaction's purpose is STATISTICS.

-- statistics_check refuses a transaction whose declared purpose is not STATISTICS.
CREATE FUNCTION statistics_check() RETURNS void
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
BEGIN
    IF lindung_setting('lindung.purpose') IS DISTINCT FROM 'STATISTICS' THEN
        RAISE EXCEPTION 'statistics are served only for the STATISTICS purpose'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END $$;

-- statistics_counted is the population of every panel about cases: the counted cases and the state each
-- is counted in. It returns victim ids, so it is never granted to anyone: only the SECURITY DEFINER
-- functions below call it (it is a plain SQL function, so the planner inlines it into them).
CREATE FUNCTION statistics_counted(need integer, legal integer, consent integer)
RETURNS TABLE (id uuid, state malaysian_state, identified_on date, trafficking_status trafficking_status,
    exploitation_types exploitation_type[], sector sector, gender gender, age_band age_band, citizenship text[])
LANGUAGE sql STABLE AS $$
    SELECT v.id, coalesce(s.state, o.state), v.identified_on, v.trafficking_status, v.exploitation_types,
           v.sector, v.gender, v.age_band, v.citizenship
    FROM victims v
    JOIN partners o ON o.id = v.owner_partner_id
    LEFT JOIN placements p ON p.victim_id = v.id AND p.to_date IS NULL
    LEFT JOIN shelters s ON s.id = p.shelter_id
    WHERE need & ~(legal | consent) = 0
      AND (need & ~legal = 0 OR need & ~legal = need & ~legal & coalesce((
            SELECT bit_or(cp.category_bits)
            FROM consents c JOIN consent_provisions cp ON cp.consent_id = c.id
            WHERE c.victim_id = v.id
              AND c.withdrawn_at IS NULL
              AND cp.period_start <= now() AND (cp.period_end IS NULL OR now() < cp.period_end)
              AND 'STATISTICS' = ANY (cp.purposes)
              AND (cp.grantee_partner_id = lindung_setting('lindung.partner_id')::uuid
                   OR cp.grantee_type = lindung_setting('lindung.partner_type')::partner_type)), 0))
$$;
REVOKE ALL ON FUNCTION statistics_counted(integer, integer, integer) FROM PUBLIC;

-- statistics_cases counts the cases identified in [date_from, date_to] (either end open when NULL) by one
-- dimension. Rows: ('cell', key, n) per key; ('total', NULL, n), the cases counted; and, when in_state is
-- given, ('state', state, n) per state without the state filter, so the hub can keep the filtered totals
-- consistent with the suppression of the national breakdown by state. Exploitation types and citizenship
-- are multi-valued: a case counts once under each of its values, and under UNKNOWN when it has none; the
-- total counts each case once (its first value). One pass over the cases: grouping sets, no materialising.
CREATE FUNCTION statistics_cases(dimension text, need integer, legal integer, consent integer,
    date_from date, date_to date, in_state malaysian_state)
RETURNS TABLE (kind text, key text, n bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM statistics_check();
    IF dimension NOT IN ('TRAFFICKING_STATUS', 'EXPLOITATION_TYPE', 'SECTOR', 'GENDER', 'AGE_BAND',
            'CITIZENSHIP', 'STATE', 'MONTH') THEN
        RAISE EXCEPTION 'unknown statistics dimension %', dimension USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF dimension IN ('EXPLOITATION_TYPE', 'CITIZENSHIP') THEN
        RETURN QUERY
        SELECT CASE WHEN grouping(k.key) = 0 THEN 'cell' ELSE 'total' END, k.key,
               CASE WHEN grouping(k.key) = 0 THEN count(*) ELSE count(*) FILTER (WHERE k.ord = 1) END
        FROM statistics_counted(need, legal, consent) c
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
              FROM statistics_counted(need, legal, consent) c
              WHERE (date_from IS NULL OR c.identified_on >= date_from) AND (date_to IS NULL OR c.identified_on <= date_to)
                AND (in_state IS NULL OR c.state = in_state)) k
        GROUP BY GROUPING SETS ((k.key), ());
    END IF;
    RETURN QUERY
    SELECT 'state', c.state::text, count(*)
    FROM statistics_counted(need, legal, consent) c
    WHERE in_state IS NOT NULL
      AND (date_from IS NULL OR c.identified_on >= date_from) AND (date_to IS NULL OR c.identified_on <= date_to)
    GROUP BY c.state;
END $$;

-- statistics_orders counts the protection orders in force today, by type ('active' cells, 'active_total'),
-- and those of them ending within the next days ('expiring' cells, 'expiring_total'), of counted cases.
-- The period filter does not apply: orders in force are a picture of today. 'state' rows as above, for the
-- orders in force. One pass over the orders.
CREATE FUNCTION statistics_orders(need integer, legal integer, consent integer, within_days integer,
    in_state malaysian_state)
RETURNS TABLE (kind text, key text, n bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM statistics_check();
    RETURN QUERY
    SELECT x.kind, g.key, x.n
    FROM (SELECT po.type::text AS key, grouping(po.type) AS total, count(*) AS active,
                 count(*) FILTER (WHERE po.ends_on <= current_date + within_days) AS expiring
          FROM statistics_counted(need, legal, consent) c
          JOIN protection_orders po ON po.victim_id = c.id
          WHERE po.starts_on <= current_date AND po.ends_on >= current_date AND po.ended_on IS NULL
            AND (in_state IS NULL OR c.state = in_state)
          GROUP BY GROUPING SETS ((po.type), ())) g
    CROSS JOIN LATERAL (VALUES (CASE WHEN g.total = 0 THEN 'active' ELSE 'active_total' END, g.active),
                               (CASE WHEN g.total = 0 THEN 'expiring' ELSE 'expiring_total' END, g.expiring)) x(kind, n)
    UNION ALL
    SELECT 'state', c.state::text, count(*)
    FROM statistics_counted(need, legal, consent) c
    JOIN protection_orders po ON po.victim_id = c.id
    WHERE in_state IS NOT NULL
      AND po.starts_on <= current_date AND po.ends_on >= current_date AND po.ended_on IS NULL
    GROUP BY c.state;
END $$;

-- statistics_services counts the services delivered in [date_from, date_to] (by delivered_on) to counted
-- cases, by service ('service' cells) and by providing partner ('provider' cells, keyed by slug), with
-- 'total' and 'state' rows as above.
CREATE FUNCTION statistics_services(need integer, legal integer, consent integer,
    date_from date, date_to date, in_state malaysian_state)
RETURNS TABLE (kind text, key text, n bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM statistics_check();
    RETURN QUERY
    WITH d AS MATERIALIZED (
        SELECT r.service_code, r.provider_partner_id, c.state
        FROM statistics_counted(need, legal, consent) c
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

-- statistics_referrals gives, per receiving partner (keyed by slug), the referrals made in [date_from,
-- date_to] (by created_at) of counted cases that are ACCEPTED ('accepted' cells) or COMPLETED ('completed'
-- cells), with the median days from creation to that status. The referrals table records no acceptance or
-- completion time, so the time of the last change (updated_at) stands in for it: for an ACCEPTED referral
-- that is when it was accepted, for a COMPLETED one when it was completed. Totals carry the overall median.
CREATE FUNCTION statistics_referrals(need integer, legal integer, consent integer,
    date_from date, date_to date, in_state malaysian_state)
RETURNS TABLE (kind text, key text, n bigint, median_days double precision)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM statistics_check();
    RETURN QUERY
    WITH r AS MATERIALIZED (
        SELECT lower(x.status::text) AS status, x.to_partner_id, c.state,
               extract(epoch FROM x.updated_at - x.created_at) / 86400 AS days
        FROM statistics_counted(need, legal, consent) c
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

-- statistics_occupancy gives current residents and capacity by state ('state_cell') and by the order type
-- shelters take ('order_cell'), and 'total'. A place of refuge's occupancy counts every resident whatever
-- their consent: it is a fact about the shelter, as in the shelter_occupancy view. 'state' rows as above.
CREATE FUNCTION statistics_occupancy(in_state malaysian_state)
RETURNS TABLE (kind text, key text, n bigint, capacity bigint, shelters bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM statistics_check();
    RETURN QUERY
    WITH s AS MATERIALIZED (
        SELECT s.state, s.order_type, s.capacity, o.occupancy
        FROM shelters s JOIN shelter_occupancy o ON o.shelter_id = s.id
    ), f AS (
        SELECT * FROM s WHERE in_state IS NULL OR s.state = in_state
    )
    SELECT 'state_cell'::text, f.state::text, sum(f.occupancy)::bigint, sum(f.capacity)::bigint, count(*)
    FROM f GROUP BY f.state
    UNION ALL
    SELECT 'order_cell', f.order_type::text, sum(f.occupancy)::bigint, sum(f.capacity)::bigint, count(*)
    FROM f GROUP BY f.order_type
    UNION ALL
    SELECT 'total', NULL, coalesce(sum(f.occupancy), 0)::bigint, coalesce(sum(f.capacity), 0)::bigint, count(*) FROM f
    UNION ALL
    SELECT 'state', s.state::text, sum(s.occupancy)::bigint, NULL, NULL FROM s WHERE in_state IS NOT NULL GROUP BY s.state;
END $$;

REVOKE ALL ON FUNCTION statistics_check() FROM PUBLIC;
REVOKE ALL ON FUNCTION statistics_cases(text, integer, integer, integer, date, date, malaysian_state) FROM PUBLIC;
REVOKE ALL ON FUNCTION statistics_orders(integer, integer, integer, integer, malaysian_state) FROM PUBLIC;
REVOKE ALL ON FUNCTION statistics_services(integer, integer, integer, date, date, malaysian_state) FROM PUBLIC;
REVOKE ALL ON FUNCTION statistics_referrals(integer, integer, integer, date, date, malaysian_state) FROM PUBLIC;
REVOKE ALL ON FUNCTION statistics_occupancy(malaysian_state) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION statistics_cases(text, integer, integer, integer, date, date, malaysian_state) TO lindung_app;
GRANT EXECUTE ON FUNCTION statistics_orders(integer, integer, integer, integer, malaysian_state) TO lindung_app;
GRANT EXECUTE ON FUNCTION statistics_services(integer, integer, integer, date, date, malaysian_state) TO lindung_app;
GRANT EXECUTE ON FUNCTION statistics_referrals(integer, integer, integer, date, date, malaysian_state) TO lindung_app;
GRANT EXECUTE ON FUNCTION statistics_occupancy(malaysian_state) TO lindung_app;
