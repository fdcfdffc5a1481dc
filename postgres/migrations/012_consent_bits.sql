-- Consent as bits, kept current in the transaction that changes it (issue 14).
--
-- Before, every read of a victim called access_bits, a SECURITY DEFINER function: PostgreSQL plans such a
-- function's body again on every call (it cannot be inlined into the caller's cached plan) and, inside it,
-- walked consents and their provisions per victim. Consent changes rarely and is read on every request, so
-- it is now stored the way it is read: one consent_bits row per provision in effect and purpose, with the
-- provision's period as a validity interval, so that expiry and a provision starting later need no writer.
-- Triggers on consents and consent_provisions rewrite a consent's rows in the same transaction as every
-- change to it (record, confirm, withdraw), so a withdrawal commits with its bits and holds from the next
-- request, as before. The read side, viewer_bits, is plain SQL that the planner inlines into each
-- statement: per victim read, one index probe for consent and one for referrals.

CREATE TABLE consent_bits (
    consent_id         uuid NOT NULL REFERENCES consents (id) ON DELETE CASCADE,
    position           integer NOT NULL,
    purpose            purpose NOT NULL,
    victim_id          uuid NOT NULL,
    grantee_partner_id uuid,
    grantee_type       partner_type,
    category_bits      integer NOT NULL,
    valid_from         timestamptz NOT NULL,
    valid_until        timestamptz,
    PRIMARY KEY (consent_id, position, purpose)
);
CREATE INDEX consent_bits_victim ON consent_bits (victim_id, purpose);

-- A consent's bits are readable exactly where the consent is: for victims in the request's scope. Only
-- the triggers below write them.
ALTER TABLE consent_bits ENABLE ROW LEVEL SECURITY;
ALTER TABLE consent_bits FORCE ROW LEVEL SECURITY;
CREATE POLICY scope_read ON consent_bits FOR SELECT USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
GRANT SELECT ON consent_bits TO lindung_app;

-- consent_bits_refresh rewrites the bits of the given consents from their provisions. A consent contributes
-- bits while it is not withdrawn and not waiting for a confirmation; each provision for its period. This is
-- consent_provision_in_force (migration 010) with the period kept as an interval instead of compared with
-- now(): consent_grants applies the period at read time.
CREATE FUNCTION consent_bits_refresh(consents uuid[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DELETE FROM consent_bits WHERE consent_id = ANY (consents);
    INSERT INTO consent_bits (consent_id, position, purpose, victim_id, grantee_partner_id, grantee_type,
        category_bits, valid_from, valid_until)
    SELECT p.consent_id, p.position, u.purpose, c.victim_id, p.grantee_partner_id, p.grantee_type,
        p.category_bits, p.period_start, p.period_end
    FROM consents c JOIN consent_provisions p ON p.consent_id = c.id
    CROSS JOIN LATERAL (SELECT DISTINCT unnest(p.purposes) AS purpose) u
    WHERE c.id = ANY (consents) AND c.withdrawn_at IS NULL AND (NOT c.needs_confirmation OR c.confirmed_at IS NOT NULL);
$$;

-- consent_bits_track refreshes, once per statement, the consents a statement on consents or
-- consent_provisions changed (its transition table, changed). A consent deleted takes its bits with it
-- (ON DELETE CASCADE).
CREATE FUNCTION consent_bits_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_TABLE_NAME = 'consents' THEN
        PERFORM consent_bits_refresh(ARRAY(SELECT id FROM changed));
    ELSE
        PERFORM consent_bits_refresh(ARRAY(SELECT DISTINCT consent_id FROM changed));
    END IF;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION consent_bits_refresh(uuid[]), consent_bits_track() FROM PUBLIC;

-- A transition table serves one event, hence one trigger per event.
CREATE TRIGGER consent_bits_insert AFTER INSERT ON consents REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION consent_bits_track();
CREATE TRIGGER consent_bits_update AFTER UPDATE ON consents REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION consent_bits_track();
CREATE TRIGGER consent_bits_insert AFTER INSERT ON consent_provisions REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION consent_bits_track();
CREATE TRIGGER consent_bits_update AFTER UPDATE ON consent_provisions REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION consent_bits_track();
CREATE TRIGGER consent_bits_delete AFTER DELETE ON consent_provisions REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION consent_bits_track();

-- The consents already recorded.
SELECT consent_bits_refresh(ARRAY(SELECT id FROM consents));

-- consent_grants (the one consent evaluator of migration 010, used by the statistics and the employer's
-- check) now reads the bits: a provision is in force while now() is within its interval.
CREATE OR REPLACE FUNCTION consent_grants(for_purpose purpose, for_partner uuid, for_type partner_type)
RETURNS TABLE (victim_id uuid, category_bits integer)
LANGUAGE sql STABLE AS $$
    SELECT b.victim_id, b.category_bits
    FROM consent_bits b
    WHERE b.purpose = for_purpose
      AND (b.grantee_partner_id = for_partner OR b.grantee_type = for_type)
      AND b.valid_from <= now() AND (b.valid_until IS NULL OR now() < b.valid_until)
$$;

-- viewer_bits is what a viewer holds on one victim: the categories the victim's consent grants the viewer's
-- partner (by id or by type) for the purpose, and those of the accepted referrals to the partner. It is
-- plain SQL (not SECURITY DEFINER, no SET) so that PostgreSQL inlines it into the statement that reads
-- the victim, whose plan the connection keeps: two index probes per victim. It reads under the caller's
-- row security like the statement around it, so it answers nothing for a victim out of scope, whatever
-- partner it is asked about. The store passes the request's purpose, partner and partner type as
-- parameters rather than reading the settings per row.
CREATE FUNCTION viewer_bits(victim uuid, for_purpose purpose, for_partner uuid, for_type partner_type)
RETURNS TABLE (consented integer, referred integer)
LANGUAGE sql STABLE AS $$
    -- An aggregate, so that the planner keeps it as one subquery per victim rather than pulling it up and
    -- evaluating it again wherever the statement uses its columns.
    SELECT coalesce(bit_or(g.category_bits), 0),
        coalesce((SELECT bit_or(r.category_bits) FROM referrals r
            WHERE r.victim_id = victim AND r.status = 'ACCEPTED' AND r.to_partner_id = for_partner), 0)
    FROM consent_grants(for_purpose, for_partner, for_type) g
    WHERE g.victim_id = victim
$$;
REVOKE ALL ON FUNCTION viewer_bits(uuid, purpose, uuid, partner_type) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION viewer_bits(uuid, purpose, uuid, partner_type) TO lindung_app;

-- The victims' read policy as one CASE on the scope instead of an OR of three scoped terms. It admits the
-- same rows; the planner, which cannot know the setting, estimated the OR to keep under 1 % of any set
-- and so sorted every visible victim to find the first page, where the CASE lets it walk the scope's
-- index and stop after the page.
DROP POLICY scope_read ON victims;
CREATE POLICY scope_read ON victims FOR SELECT USING (CASE lindung_setting('lindung.scope')
    WHEN 'partner' THEN owner_partner_id = lindung_setting('lindung.partner_id')::uuid
    WHEN 'linked' THEN linked_to(id)
    WHEN 'referred' THEN referred_to(id)
    ELSE false END);

-- access_bits is replaced by viewer_bits in every statement.
DROP FUNCTION access_bits(uuid[]);

-- The audit's foreign keys checked, per row written, that the partner and the victim exist: the hub
-- writes the ids it has just read, under row security, in the same transaction. The checks cost more than
-- the rest of the insert, and an audit record must outlive its subject in any case.
ALTER TABLE access_records DROP CONSTRAINT access_records_partner_id_fkey;
ALTER TABLE access_records DROP CONSTRAINT access_records_victim_id_fkey;
