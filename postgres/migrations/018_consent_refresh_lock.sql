-- victims_consent_refresh (migration 012) locks the victims whose consent it rewrites with FOR NO KEY
-- UPDATE instead of FOR UPDATE, as victims_scope_refresh (017) does. FOR UPDATE conflicts with the
-- key-share lock that inserting a referral, a case link, a placement or a consent takes on its victim
-- through the foreign key: a consent change waited for any open transaction that merely referred to the
-- victim, and deadlocked with it if that transaction then changed the victim's consent or scope itself.
-- FOR NO KEY UPDATE is the lock the UPDATE takes anyway; two consent changes of one victim still queue on
-- it, which is what keeps the second from writing back a consent the first withdrew.
CREATE OR REPLACE FUNCTION victims_consent_refresh(ids uuid[]) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT 1 FROM victims WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE;
    UPDATE victims v SET consent_grants = coalesce((
        SELECT array_agg(ROW(u.purpose, p.grantee_partner_id, p.grantee_type, p.category_bits,
                p.period_start, p.period_end)::consent_grant ORDER BY c.id, p.position, u.purpose)
        FROM consents c JOIN consent_provisions p ON p.consent_id = c.id
        CROSS JOIN LATERAL (SELECT DISTINCT unnest(p.purposes) AS purpose) u
        WHERE c.victim_id = v.id AND c.withdrawn_at IS NULL
          AND (NOT c.needs_confirmation OR c.confirmed_at IS NOT NULL)), '{}')
    WHERE v.id = ANY (ids);
$$;
