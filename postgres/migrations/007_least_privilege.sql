-- Least privilege (issue 13). The hub serves through a runtime login that owns nothing, is not superuser,
-- cannot bypass row security and is a member of lindung_app, the role that holds the grants below; this
-- migration runs through a separate owner login (README, Operating Lindung). Nothing here depends on the
-- runtime login's name: every grant is to lindung_app.
--
-- What changes: row-level security is split per command, so that reading a row no longer implies the right
-- to change it; no SECURITY DEFINER function lets an argument widen what it reads; and EXECUTE on every
-- function is granted explicitly, never left to PUBLIC.

-- Functions: nothing is executable by PUBLIC, now or later. The default privilege covers every function
-- that this owner creates in later migrations; each of them grants EXECUTE to lindung_app where the hub
-- calls it.
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
DO $$
DECLARE f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END $$;

-- lindung_partner_type is the transaction's partner type as the partners table records it for the
-- transaction's partner id, rather than as a separate setting: one value fewer that a caller asserts.
CREATE FUNCTION lindung_partner_type() RETURNS partner_type
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = public, pg_temp AS $$
    SELECT p.type FROM partners p WHERE p.id = lindung_setting('lindung.partner_id')::uuid
$$;
REVOKE ALL ON FUNCTION lindung_partner_type() FROM PUBLIC;

-- What the hub itself calls, in statements or in the row-security policies that run as the caller.
GRANT EXECUTE ON FUNCTION lindung_setting(text) TO lindung_app;
GRANT EXECUTE ON FUNCTION lindung_partner_type() TO lindung_app;
GRANT EXECUTE ON FUNCTION category_bits(data_category[]) TO lindung_app;
GRANT EXECUTE ON FUNCTION linked_to(uuid) TO lindung_app;
GRANT EXECUTE ON FUNCTION referred_to(uuid) TO lindung_app;
GRANT EXECUTE ON FUNCTION access_bits(uuid[]) TO lindung_app;
GRANT EXECUTE ON FUNCTION check_eligibility_code(bytea) TO lindung_app;
-- statistics_cases, _orders, _services, _referrals and _occupancy were granted in 004. Trigger functions,
-- statistics_check and statistics_counted are granted to no one: PostgreSQL does not check EXECUTE when a
-- trigger fires, and the others are called only from inside SECURITY DEFINER functions.

-- /readyz asks whether every migration is applied.
GRANT SELECT ON schema_migrations TO lindung_app;

-- Grants nothing in the hub uses: case links are written by the import only, family links never change.
REVOKE INSERT, UPDATE ON case_links FROM lindung_app;
REVOKE UPDATE ON family_links FROM lindung_app;
-- Changes are limited to the columns the hub's actions change, so that a party allowed to change a row
-- cannot rewrite what the row means: above all, a referral's receiver, who may answer it, must not be able
-- to widen the categories it was referred (which open the case's fields to it), nor redirect it; and no
-- row is moved to another case, nor a case given another reference.
REVOKE UPDATE ON victims, referrals, service_records, protection_orders, placements, work_eligibility FROM lindung_app;
GRANT UPDATE (legal_name, aliases, date_of_birth, age_band, gender, citizenship, languages, interpreter_needed,
    phone, trafficking_status, exploitation_types, sector, means_of_control, medical_needs, counselling_notes,
    updated_at) ON victims TO lindung_app;
GRANT UPDATE (status, rejection_reason, updated_at) ON referrals TO lindung_app;
GRANT UPDATE (status, scheduled_for, delivered_on) ON service_records TO lindung_app;
GRANT UPDATE (ends_on, ended_on) ON protection_orders TO lindung_app;
GRANT UPDATE (to_date) ON placements TO lindung_app;
GRANT UPDATE (protection_order_held, medical_screening_passed, risk_assessment_passed, decision, decided_on,
    valid_until) ON work_eligibility TO lindung_app;
-- The audit: INSERT and SELECT alone, said once more where it matters most.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON access_records FROM lindung_app, PUBLIC;

-- access_bits answered for any victim id it was given. It now answers only for victims the transaction
-- may see (the row scope of the victims policy, written out because a SECURITY DEFINER function does not
-- see through the caller's row security) and for victims of referrals the caller's partner sent or
-- received (the referrals it reads whatever the case's scope), and takes the partner's type from the
-- partners table.
CREATE OR REPLACE FUNCTION access_bits(ids uuid[]) RETURNS TABLE (victim_id uuid, consented integer, referred integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT i.id,
        coalesce((SELECT bit_or(p.category_bits)
            FROM consents c JOIN consent_provisions p ON p.consent_id = c.id
            WHERE c.victim_id = i.id
              AND c.withdrawn_at IS NULL
              AND p.period_start <= now() AND (p.period_end IS NULL OR now() < p.period_end)
              AND lindung_setting('lindung.purpose')::purpose = ANY (p.purposes)
              AND (p.grantee_partner_id = lindung_setting('lindung.partner_id')::uuid
                   OR p.grantee_type = lindung_partner_type())), 0),
        coalesce((SELECT bit_or(r.category_bits) FROM referrals r
            WHERE r.victim_id = i.id AND r.status = 'ACCEPTED'
              AND r.to_partner_id = lindung_setting('lindung.partner_id')::uuid), 0)
    FROM (SELECT DISTINCT unnest(ids) AS id) i
    JOIN victims v ON v.id = i.id
    WHERE (lindung_setting('lindung.scope') = 'partner' AND v.owner_partner_id = lindung_setting('lindung.partner_id')::uuid)
       OR (lindung_setting('lindung.scope') = 'linked' AND linked_to(v.id))
       OR (lindung_setting('lindung.scope') = 'referred' AND referred_to(v.id))
       OR EXISTS (SELECT 1 FROM referrals r WHERE r.victim_id = v.id
                  AND lindung_setting('lindung.partner_id')::uuid IN (r.from_partner_id, r.to_partner_id))
$$;

-- linked_to and referred_to (002) stay SECURITY DEFINER, so that the victims policy can ask them without
-- the policies of case_links and referrals leading back to victims; their argument cannot widen what they
-- read: they answer only whether the transaction's own partner is linked to, or has an accepted referral
-- of, the victim named.

-- check_eligibility_code trusted the partner type setting; it now reads the type of the partner.
CREATE OR REPLACE FUNCTION check_eligibility_code(h bytea) RETURNS TABLE (eligible boolean, valid_until date, victim_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH hit AS (
        SELECT w.valid_until, c.victim_id FROM eligibility_codes c
        JOIN work_eligibility w ON w.victim_id = c.victim_id
        WHERE c.code_hash = h
          AND c.revoked_at IS NULL AND now() < c.expires_at
          AND lindung_partner_type() = 'PRIVATE'
          AND (c.employer_partner_id IS NULL OR c.employer_partner_id = lindung_setting('lindung.partner_id')::uuid)
          AND w.decision = 'ELIGIBLE' AND w.valid_until >= current_date
          AND EXISTS (SELECT 1 FROM consents k JOIN consent_provisions p ON p.consent_id = k.id
              WHERE k.victim_id = c.victim_id AND k.withdrawn_at IS NULL
                AND p.period_start <= now() AND (p.period_end IS NULL OR now() < p.period_end)
                AND 'EMPLOYMENT' = ANY (p.categories) AND 'EMPLOYMENT_CHECK' = ANY (p.purposes)
                AND (p.grantee_partner_id = lindung_setting('lindung.partner_id')::uuid
                     OR p.grantee_type = 'PRIVATE'))
    )
    SELECT hit.victim_id IS NOT NULL, hit.valid_until, hit.victim_id
    FROM (VALUES (1)) one LEFT JOIN hit ON true
    LIMIT 1
$$;

-- Statistics. The functions of 004 took the caller's legal and consent category bits as arguments and
-- counted whatever they were told. The database now holds, per role, the most each basis may open for
-- STATISTICS (statistics_bases: a copy of the policy's STATISTICS rules that only the owner writes, kept in
-- step by `lindung migrate`), and the bits a caller passes can only narrow that: for the caller's
-- registered user, a category counts on a legal basis only where both the caller and one of the user's
-- roles say legal, and on consent where the caller opens it at all and one of the user's roles opens it on
-- either basis. A caller with no registered user, or whose roles open nothing, counts nothing.
CREATE TABLE statistics_bases (
    role    text PRIMARY KEY,
    legal   integer NOT NULL DEFAULT 0,
    consent integer NOT NULL DEFAULT 0
);
-- The embedded policy's STATISTICS rules when this migration was written (policy/policy.csv).
INSERT INTO statistics_bases (role, legal, consent) VALUES
    ('ministry_analyst', category_bits('{DEMOGRAPHIC,CASE,LEGAL}'), 0);

-- statistics_caller gives the bases a statistics function may use for the transaction's caller, from the
-- bits the caller passed ($1 legal, $2 consent), and the caller's partner and its type. No row for a
-- partner the hub does not know.
CREATE FUNCTION statistics_caller(integer, integer)
RETURNS TABLE (legal_bits integer, consent_bits integer, partner_id uuid, partner_type partner_type)
LANGUAGE sql STABLE AS $$
    SELECT $1 & c.legal, ($1 | $2) & (c.legal | c.consent) & ~($1 & c.legal), c.id, c.type
    FROM (SELECT p.id, p.type, coalesce(bit_or(b.legal), 0) AS legal, coalesce(bit_or(b.consent), 0) AS consent
          FROM partners p
          LEFT JOIN users u ON u.partner_id = p.id AND u.id = lindung_setting('lindung.user_id')::uuid
          LEFT JOIN statistics_bases b ON b.role = ANY (u.roles)
          WHERE p.id = lindung_setting('lindung.partner_id')::uuid
          GROUP BY p.id, p.type) c
$$;
REVOKE ALL ON FUNCTION statistics_caller(integer, integer) FROM PUBLIC;

-- statistics_counted, which every statistics function of 004 counts from, now takes its bases from
-- statistics_caller instead of from its arguments.
CREATE OR REPLACE FUNCTION statistics_counted(need integer, legal integer, consent integer)
RETURNS TABLE (id uuid, state malaysian_state, identified_on date, trafficking_status trafficking_status,
    exploitation_types exploitation_type[], sector sector, gender gender, age_band age_band, citizenship text[])
LANGUAGE sql STABLE AS $$
    SELECT v.id, coalesce(s.state, o.state), v.identified_on, v.trafficking_status, v.exploitation_types,
           v.sector, v.gender, v.age_band, v.citizenship
    FROM statistics_caller($2, $3) k
    CROSS JOIN victims v
    JOIN partners o ON o.id = v.owner_partner_id
    LEFT JOIN placements p ON p.victim_id = v.id AND p.to_date IS NULL
    LEFT JOIN shelters s ON s.id = p.shelter_id
    WHERE $1 & ~(k.legal_bits | k.consent_bits) = 0
      AND ($1 & ~k.legal_bits = 0 OR $1 & ~k.legal_bits = $1 & ~k.legal_bits & coalesce((
            SELECT bit_or(cp.category_bits)
            FROM consents c JOIN consent_provisions cp ON cp.consent_id = c.id
            WHERE c.victim_id = v.id
              AND c.withdrawn_at IS NULL
              AND cp.period_start <= now() AND (cp.period_end IS NULL OR now() < cp.period_end)
              AND 'STATISTICS' = ANY (cp.purposes)
              AND (cp.grantee_partner_id = k.partner_id OR cp.grantee_type = k.partner_type)), 0))
$$;

-- Row-level security per command. Until now each table had one policy FOR ALL USING (...), which also
-- served as the check on written rows, so a scope that could read a row could change it. Reading keeps
-- its rules; writing follows what each action may write:
--   the case file (the case, its family links, orders, placements, consents, work eligibility, codes)
--     is written only in the partner scope, by the agency that owns the case;
--   service records by the owning agency, or in the referred scope by the provider itself;
--   family-contact entries by the owning agency or a referred NGO, as themselves;
--   referrals are created by the owning agency, as the sender, and changed only by their two parties;
--   idempotency keys by their own partner. Everything else is read only (no write policy: refused).
DROP POLICY scope ON victims;
CREATE POLICY scope_read ON victims FOR SELECT USING (
    (lindung_setting('lindung.scope') = 'partner' AND owner_partner_id = lindung_setting('lindung.partner_id')::uuid)
    OR (lindung_setting('lindung.scope') = 'linked' AND linked_to(id))
    OR (lindung_setting('lindung.scope') = 'referred' AND referred_to(id)));
CREATE POLICY owner_insert ON victims FOR INSERT WITH CHECK (
    lindung_setting('lindung.scope') = 'partner' AND owner_partner_id = lindung_setting('lindung.partner_id')::uuid);
CREATE POLICY owner_update ON victims FOR UPDATE
    USING (lindung_setting('lindung.scope') = 'partner' AND owner_partner_id = lindung_setting('lindung.partner_id')::uuid)
    WITH CHECK (lindung_setting('lindung.scope') = 'partner' AND owner_partner_id = lindung_setting('lindung.partner_id')::uuid);

DROP POLICY scope ON case_links;
CREATE POLICY scope_read ON case_links FOR SELECT USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));

DROP POLICY scope ON family_links;
CREATE POLICY scope_read ON family_links FOR SELECT USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)
    OR EXISTS (SELECT 1 FROM victims v WHERE v.id = related_victim_id));
CREATE POLICY owner_insert ON family_links FOR INSERT WITH CHECK (lindung_setting('lindung.scope') = 'partner'
    AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)
    AND EXISTS (SELECT 1 FROM victims v WHERE v.id = related_victim_id));

DROP POLICY scope ON protection_orders;
CREATE POLICY scope_read ON protection_orders FOR SELECT USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
CREATE POLICY owner_insert ON protection_orders FOR INSERT WITH CHECK (lindung_setting('lindung.scope') = 'partner'
    AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
CREATE POLICY owner_update ON protection_orders FOR UPDATE
    USING (lindung_setting('lindung.scope') = 'partner' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id))
    WITH CHECK (lindung_setting('lindung.scope') = 'partner' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));

DROP POLICY scope ON placements;
CREATE POLICY scope_read ON placements FOR SELECT USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
CREATE POLICY owner_insert ON placements FOR INSERT WITH CHECK (lindung_setting('lindung.scope') = 'partner'
    AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
CREATE POLICY owner_update ON placements FOR UPDATE
    USING (lindung_setting('lindung.scope') = 'partner' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id))
    WITH CHECK (lindung_setting('lindung.scope') = 'partner' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));

DROP POLICY scope ON service_records;
CREATE POLICY scope_read ON service_records FOR SELECT USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)
    AND (lindung_setting('lindung.scope') <> 'referred'
         OR provider_partner_id = lindung_setting('lindung.partner_id')::uuid));
CREATE POLICY provider_insert ON service_records FOR INSERT WITH CHECK (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)
    AND (lindung_setting('lindung.scope') = 'partner'
         OR (lindung_setting('lindung.scope') = 'referred' AND provider_partner_id = lindung_setting('lindung.partner_id')::uuid)));
CREATE POLICY provider_update ON service_records FOR UPDATE
    USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)
        AND (lindung_setting('lindung.scope') = 'partner'
             OR (lindung_setting('lindung.scope') = 'referred' AND provider_partner_id = lindung_setting('lindung.partner_id')::uuid)))
    WITH CHECK (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)
        AND (lindung_setting('lindung.scope') = 'partner'
             OR (lindung_setting('lindung.scope') = 'referred' AND provider_partner_id = lindung_setting('lindung.partner_id')::uuid)));

DROP POLICY scope ON consents;
CREATE POLICY scope_read ON consents FOR SELECT USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
CREATE POLICY owner_insert ON consents FOR INSERT WITH CHECK (lindung_setting('lindung.scope') = 'partner'
    AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
CREATE POLICY owner_update ON consents FOR UPDATE
    USING (lindung_setting('lindung.scope') = 'partner' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id))
    WITH CHECK (lindung_setting('lindung.scope') = 'partner' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));

DROP POLICY scope ON consent_provisions;
CREATE POLICY scope_read ON consent_provisions FOR SELECT USING (EXISTS (SELECT 1 FROM consents c WHERE c.id = consent_id));
CREATE POLICY owner_insert ON consent_provisions FOR INSERT WITH CHECK (lindung_setting('lindung.scope') = 'partner'
    AND EXISTS (SELECT 1 FROM consents c WHERE c.id = consent_id));

DROP POLICY scope ON work_eligibility;
CREATE POLICY scope_read ON work_eligibility FOR SELECT USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
CREATE POLICY owner_insert ON work_eligibility FOR INSERT WITH CHECK (lindung_setting('lindung.scope') = 'partner'
    AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
CREATE POLICY owner_update ON work_eligibility FOR UPDATE
    USING (lindung_setting('lindung.scope') = 'partner' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id))
    WITH CHECK (lindung_setting('lindung.scope') = 'partner' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));

DROP POLICY scope ON referrals;
CREATE POLICY scope_read ON referrals FOR SELECT USING (
    from_partner_id = lindung_setting('lindung.partner_id')::uuid
    OR to_partner_id = lindung_setting('lindung.partner_id')::uuid
    OR (lindung_setting('lindung.scope') <> 'referred' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)));
CREATE POLICY sender_insert ON referrals FOR INSERT WITH CHECK (lindung_setting('lindung.scope') = 'partner'
    AND from_partner_id = lindung_setting('lindung.partner_id')::uuid
    AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
CREATE POLICY party_update ON referrals FOR UPDATE
    USING (from_partner_id = lindung_setting('lindung.partner_id')::uuid
           OR to_partner_id = lindung_setting('lindung.partner_id')::uuid)
    WITH CHECK (from_partner_id = lindung_setting('lindung.partner_id')::uuid
                OR to_partner_id = lindung_setting('lindung.partner_id')::uuid);

DROP POLICY scope ON family_contacts;
CREATE POLICY scope_read ON family_contacts FOR SELECT USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)
    AND (lindung_setting('lindung.scope') <> 'referred'
         OR recorded_by_partner_id = lindung_setting('lindung.partner_id')::uuid));
CREATE POLICY recorder_insert ON family_contacts FOR INSERT WITH CHECK (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)
    AND lindung_setting('lindung.scope') IN ('partner', 'referred')
    AND recorded_by_partner_id = lindung_setting('lindung.partner_id')::uuid);

DROP POLICY scope ON eligibility_codes;
CREATE POLICY scope_read ON eligibility_codes FOR SELECT USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
CREATE POLICY owner_insert ON eligibility_codes FOR INSERT WITH CHECK (lindung_setting('lindung.scope') = 'partner'
    AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
CREATE POLICY owner_update ON eligibility_codes FOR UPDATE
    USING (lindung_setting('lindung.scope') = 'partner' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id))
    WITH CHECK (lindung_setting('lindung.scope') = 'partner' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));

DROP POLICY own ON idempotency_keys;
CREATE POLICY own_read ON idempotency_keys FOR SELECT USING (partner_id = lindung_setting('lindung.partner_id')::uuid);
CREATE POLICY own_insert ON idempotency_keys FOR INSERT WITH CHECK (partner_id = lindung_setting('lindung.partner_id')::uuid);
CREATE POLICY own_update ON idempotency_keys FOR UPDATE
    USING (partner_id = lindung_setting('lindung.partner_id')::uuid)
    WITH CHECK (partner_id = lindung_setting('lindung.partner_id')::uuid);
