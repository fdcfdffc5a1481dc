-- Natural keys that tell no one about other agencies' cases, and consent that stays the victim's
-- (docs/access.md, "Natural keys" and "Consent").

-- Case references and court order numbers are unique per owning agency, not across the hub. A hub-wide
-- unique key answered CONFLICT for another agency's reference and nothing for an unknown one, and an
-- insert that fails leaves no trace: it enumerated other agencies' cases. Per agency, a conflict names
-- only a case the agency owns and sees anyway. Agencies issue their own references (the prefix is the
-- agency's), so the hub never needed them unique across agencies.
ALTER TABLE victims DROP CONSTRAINT victims_case_ref_key;
ALTER TABLE victims ADD CONSTRAINT victims_case_ref_key UNIQUE (owner_partner_id, case_ref);

-- An order carries its victim's owning agency, kept by the database from the victim, so that order
-- numbers can be unique per agency too.
ALTER TABLE protection_orders ADD COLUMN owner_partner_id uuid REFERENCES partners (id);
UPDATE protection_orders o SET owner_partner_id = v.owner_partner_id FROM victims v WHERE v.id = o.victim_id;
ALTER TABLE protection_orders ALTER COLUMN owner_partner_id SET NOT NULL;
ALTER TABLE protection_orders DROP CONSTRAINT protection_orders_order_number_key;
ALTER TABLE protection_orders ADD CONSTRAINT protection_orders_order_number_key UNIQUE (owner_partner_id, order_number);

-- protection_orders_owner sets an order's agency from its victim, whatever the writer said. It runs with
-- the owner's rights so that the victim's row is read whatever the writer's scope; a victim the writer
-- may not see cannot be written to anyway (row-level security on protection_orders).
CREATE FUNCTION protection_orders_owner() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    NEW.owner_partner_id := (SELECT v.owner_partner_id FROM victims v WHERE v.id = NEW.victim_id);
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION protection_orders_owner() FROM PUBLIC;
CREATE TRIGGER owner BEFORE INSERT OR UPDATE OF victim_id, owner_partner_id ON protection_orders
    FOR EACH ROW EXECUTE FUNCTION protection_orders_owner();

-- victims_by_case_ref returns the ids of the victims in the transaction's row scope that carry one of the
-- references, with the same work whether a reference names a foreign case, several, or none. Row-level
-- security runs its scope check only for a row that a lookup found, so a lookup by reference through it
-- took measurably longer for another agency's case than for a missing one. Here the lookup starts from
-- the scope, never from the reference: for the partner scope one probe of (owner, reference), where no
-- other agency's row is; for the linked and referred scopes the scope's victims are read by id and their
-- references compared (the comparison is written so that no index on the reference can be used, which
-- would make the work depend on how many foreign cases carry it). SECURITY DEFINER reads the links and
-- referrals directly, by the scope rules of the victims policy (002); callers join the ids back to victims
-- under row-level security. PL/pgSQL, so that its plans are kept for the connection.
CREATE FUNCTION victims_by_case_ref(refs text[]) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 1 AS $$
DECLARE
    me uuid := lindung_setting('lindung.partner_id')::uuid;
BEGIN
    CASE lindung_setting('lindung.scope')
    WHEN 'partner' THEN
        RETURN QUERY SELECT v.id FROM victims v WHERE v.owner_partner_id = me AND v.case_ref = ANY (refs);
    WHEN 'linked' THEN
        RETURN QUERY SELECT v.id FROM victims v
            WHERE v.id = ANY (ARRAY(SELECT l.victim_id FROM case_links l WHERE l.partner_id = me))
              AND v.case_ref || '' = ANY (refs);
    WHEN 'referred' THEN
        RETURN QUERY SELECT v.id FROM victims v
            WHERE v.id = ANY (ARRAY(SELECT r.victim_id FROM referrals r
                                    WHERE r.to_partner_id = me AND r.status = 'ACCEPTED'))
              AND v.case_ref || '' = ANY (refs);
    ELSE
        RETURN;
    END CASE;
END $$;
REVOKE ALL ON FUNCTION victims_by_case_ref(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION victims_by_case_ref(text[]) TO lindung_app;

-- Consent stays the victim's. A consent that widens what the recording user's own partner may see (a
-- provision to that partner, or to its partner type) takes effect only with evidence, a document
-- reference, or once a second, different user confirmed it (four eyes): an officer alone could otherwise
-- record a verbal "consent" that opens health and counselling notes to their own agency. Until then it
-- is pending and grants nothing. needs_confirmation is decided when the consent is recorded and never
-- changed; the confirmation is recorded once.
ALTER TABLE consents ADD COLUMN needs_confirmation boolean NOT NULL DEFAULT false,
    ADD COLUMN confirmed_by_user_id uuid REFERENCES users (id),
    ADD COLUMN confirmed_at timestamptz,
    ADD CONSTRAINT consents_confirmed_by_another CHECK (confirmed_by_user_id <> recorded_by_user_id),
    ADD CONSTRAINT consents_confirmation_whole CHECK ((confirmed_by_user_id IS NULL) = (confirmed_at IS NULL)),
    ADD CONSTRAINT consents_confirmed_after CHECK (confirmed_at IS NULL OR confirmed_at >= recorded_at);
GRANT UPDATE (confirmed_by_user_id, confirmed_at) ON consents TO lindung_app;

-- consent_widens_recorder says whether a consent grants anything to its recorder's own partner, by id or
-- by type. SECURITY DEFINER: the check must see every provision and the recorder, whatever the scope.
CREATE FUNCTION consent_widens_recorder(consent uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM consents k
        JOIN users u ON u.id = k.recorded_by_user_id
        JOIN partners pa ON pa.id = u.partner_id
        JOIN consent_provisions p ON p.consent_id = k.id
        WHERE k.id = consent AND (p.grantee_partner_id = pa.id OR p.grantee_type = pa.type))
$$;
REVOKE ALL ON FUNCTION consent_widens_recorder(uuid) FROM PUBLIC;

-- Consents recorded before this rule that widened their recorder's partner without evidence wait for a
-- second user's confirmation like new ones: fail closed.
UPDATE consents c SET needs_confirmation = true WHERE c.document_ref IS NULL AND consent_widens_recorder(c.id);

-- The wall in the database: at commit, a consent without evidence that widens its recorder's partner
-- must be waiting for confirmation. It checks once the provisions are written (deferred), whoever writes.
CREATE FUNCTION consents_evidence_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    checked uuid;
BEGIN
    IF TG_TABLE_NAME = 'consents' THEN
        checked := NEW.id;
    ELSE
        checked := NEW.consent_id;
    END IF;
    IF EXISTS (SELECT 1 FROM consents k WHERE k.id = checked
               AND NOT k.needs_confirmation AND k.document_ref IS NULL)
       AND consent_widens_recorder(checked) THEN
        RAISE EXCEPTION 'a consent that widens what its recorder''s own partner may see needs a document reference or a second user''s confirmation'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'consents_evidence';
    END IF;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION consents_evidence_check() FROM PUBLIC;
CREATE CONSTRAINT TRIGGER evidence AFTER INSERT OR UPDATE ON consents DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION consents_evidence_check();
CREATE CONSTRAINT TRIGGER evidence AFTER INSERT ON consent_provisions DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION consents_evidence_check();

-- A confirmation is recorded once and never moved, like a withdrawal; needs_confirmation never changes.
CREATE FUNCTION consents_confirm_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.needs_confirmation IS DISTINCT FROM OLD.needs_confirmation
       OR (OLD.confirmed_at IS NOT NULL AND (NEW.confirmed_at IS DISTINCT FROM OLD.confirmed_at
            OR NEW.confirmed_by_user_id IS DISTINCT FROM OLD.confirmed_by_user_id)) THEN
        RAISE EXCEPTION 'a consent is confirmed once' USING ERRCODE = 'check_violation',
            CONSTRAINT = 'consents_confirmed_once';
    END IF;
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION consents_confirm_once() FROM PUBLIC;
CREATE TRIGGER confirm_once BEFORE UPDATE ON consents FOR EACH ROW EXECUTE FUNCTION consents_confirm_once();

-- The one consent evaluator. Before, the row masks (access_bits), the statistics, the employer's check
-- and a Go helper each wrote the rule out, and the Go helper called a consent whose provisions had not
-- started yet ACTIVE. Now consent_provision_in_force is the rule, consent_grants applies it to grantees
-- and purposes, and every caller below (and the store's consent status) uses them; nothing mirrors them.
-- Both are plain SQL so that the planner inlines them into their callers, which keep their plans.
--
-- A provision is in force now when its consent is not withdrawn, is not waiting for a confirmation, and
-- the provision's period has started and not ended (the end is exclusive). now() is the transaction's
-- start, so withdrawal and expiry count from the next request.
CREATE FUNCTION consent_provision_in_force(withdrawn_at timestamptz, needs_confirmation boolean,
    confirmed_at timestamptz, period_start timestamptz, period_end timestamptz) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT withdrawn_at IS NULL AND (NOT needs_confirmation OR confirmed_at IS NOT NULL)
        AND period_start <= now() AND (period_end IS NULL OR now() < period_end)
$$;

-- consent_grants gives, per victim and provision in force, the categories granted for for_purpose to the
-- partner for_partner, by id or by its type for_type.
CREATE FUNCTION consent_grants(for_purpose purpose, for_partner uuid, for_type partner_type)
RETURNS TABLE (victim_id uuid, category_bits integer)
LANGUAGE sql STABLE AS $$
    SELECT c.victim_id, p.category_bits
    FROM consents c JOIN consent_provisions p ON p.consent_id = c.id
    WHERE consent_provision_in_force(c.withdrawn_at, c.needs_confirmation, c.confirmed_at, p.period_start, p.period_end)
      AND for_purpose = ANY (p.purposes)
      AND (p.grantee_partner_id = for_partner OR p.grantee_type = for_type)
$$;

-- consent_status says where a consent stands now, for the people who manage it: ACTIVE while a provision
-- is in force; otherwise WITHDRAWN, PENDING (waiting for confirmation), SCHEDULED (a provision starts
-- later) or EXPIRED.
CREATE FUNCTION consent_status(k consents) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM consent_provisions p WHERE p.consent_id = k.id
            AND consent_provision_in_force(k.withdrawn_at, k.needs_confirmation, k.confirmed_at, p.period_start, p.period_end))
            THEN 'ACTIVE'
        WHEN k.withdrawn_at IS NOT NULL THEN 'WITHDRAWN'
        WHEN k.needs_confirmation AND k.confirmed_at IS NULL THEN 'PENDING'
        WHEN EXISTS (SELECT 1 FROM consent_provisions p WHERE p.consent_id = k.id AND p.period_start > now())
            THEN 'SCHEDULED'
        ELSE 'EXPIRED' END
$$;
REVOKE ALL ON FUNCTION consent_provision_in_force(timestamptz, boolean, timestamptz, timestamptz, timestamptz),
    consent_grants(purpose, uuid, partner_type), consent_status(consents) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION consent_provision_in_force(timestamptz, boolean, timestamptz, timestamptz, timestamptz),
    consent_grants(purpose, uuid, partner_type), consent_status(consents) TO lindung_app;

-- The row masks: access_bits as in 007 (victims in the transaction's scope, or of referrals its partner
-- sent or received; the partner's type from the partners table), with the consent part from consent_grants.
CREATE OR REPLACE FUNCTION access_bits(ids uuid[]) RETURNS TABLE (victim_id uuid, consented integer, referred integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT i.id,
        coalesce((SELECT bit_or(g.category_bits)
            FROM consent_grants(lindung_setting('lindung.purpose')::purpose,
                lindung_setting('lindung.partner_id')::uuid, lindung_partner_type()) g
            WHERE g.victim_id = i.id), 0),
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

-- The statistics: statistics_counted as in 007 (bases from statistics_caller), with the consent part from
-- consent_grants.
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
            SELECT bit_or(g.category_bits)
            FROM consent_grants('STATISTICS', k.partner_id, k.partner_type) g
            WHERE g.victim_id = v.id), 0))
$$;

-- The employer's check: as in 003 and 007 (the partner's type from the partners table), decided by the policy like every other disclosure, and with the same
-- work for every code. The caller passes its policy's legal and consent category bits (as the statistics
-- do): EMPLOYMENT must be open on a legal basis, or on consent with the victim's consent in force
-- (consent_grants) for EMPLOYMENT_CHECK. A policy that denies EMPLOYMENT answers every code as unknown.
-- The steps are procedural so that a code of another employer, a revoked or expired one and an unknown one
-- each cost the same: one probe for the code, then the victim's decision and consent are probed for the
-- nil victim. Only a code the caller may check reads its victim's decision and consent.
DROP FUNCTION check_eligibility_code(bytea);
CREATE FUNCTION check_eligibility_code(h bytea, legal integer, consent integer)
RETURNS TABLE (eligible boolean, valid_until date, victim_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    employment constant integer := category_bits('{EMPLOYMENT}');
    -- Read before the code is looked up, so that every code pays for it: evaluated only for a code
    -- found, it made a foreign code measurably slower than an unknown one.
    caller_type constant partner_type := lindung_partner_type();
    caller constant uuid := lindung_setting('lindung.partner_id')::uuid;
    candidate uuid;
    usable boolean;
    decided boolean;
    until date;
    granted integer;
BEGIN
    SELECT c.victim_id, c.revoked_at IS NULL AND now() < c.expires_at
            AND caller_type = 'PRIVATE' AND (c.employer_partner_id IS NULL OR c.employer_partner_id = caller)
        INTO candidate, usable
        FROM eligibility_codes c WHERE c.code_hash = h;
    -- A code that is not the caller's to check (another employer's, revoked, expired) goes on as an
    -- unknown one: the probes below then look for the nil victim, whatever victim the code names.
    IF NOT coalesce(usable, false) THEN
        candidate := '00000000-0000-0000-0000-000000000000';
    END IF;
    SELECT w.decision = 'ELIGIBLE' AND w.valid_until >= current_date, w.valid_until INTO decided, until
        FROM work_eligibility w WHERE w.victim_id = candidate;
    SELECT coalesce(bit_or(g.category_bits), 0) INTO granted
        FROM consent_grants('EMPLOYMENT_CHECK', caller, caller_type) g
        WHERE g.victim_id = candidate;
    IF coalesce(usable, false) AND coalesce(decided, false)
       AND (legal & employment <> 0 OR consent & employment & granted <> 0) THEN
        RETURN QUERY SELECT true, until, candidate;
    ELSE
        RETURN QUERY SELECT false, NULL::date, NULL::uuid;
    END IF;
END $$;
REVOKE ALL ON FUNCTION check_eligibility_code(bytea, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION check_eligibility_code(bytea, integer, integer) TO lindung_app;
