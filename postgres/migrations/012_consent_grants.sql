-- Consent kept with the victim it belongs to, current in the transaction that changes it (issue 14).
--
-- Before, every read of a victim called access_bits, a SECURITY DEFINER function: PostgreSQL plans such a
-- function's body again on every call (it cannot be inlined into the caller's cached plan) and, inside it,
-- walked consents and their provisions per victim under nested row security. Consent changes rarely and
-- is read on every request, so it is now also stored the way it is read: on the victim's row, one
-- consent_grant per provision in effect and purpose, with the provision's period as a validity interval,
-- so that expiry and a provision starting later need no writer. Triggers on consents and
-- consent_provisions rewrite a victim's grants in the same transaction as every change to its consents
-- (record, confirm, withdraw), so a withdrawal commits with them and holds from the next request, as
-- before. Reading them costs nothing the victim's row did not already cost: no further table, no further
-- row-security check.

CREATE TYPE consent_grant AS (
    purpose            purpose,
    grantee_partner_id uuid,
    grantee_type       partner_type,
    category_bits      integer,
    valid_from         timestamptz,
    valid_until        timestamptz
);

ALTER TABLE victims ADD COLUMN consent_grants consent_grant[] NOT NULL DEFAULT '{}';

-- victims_consent_refresh rewrites the grants of the given victims from their consents. A consent grants
-- while it is not withdrawn and not waiting for a confirmation; each provision for its period. This is
-- consent_provision_in_force (migration 010) with the period kept as an interval: grants_in_force applies
-- it at read time.
--
-- The victims are locked first, in a statement of their own: a transaction that changes another consent
-- of the same victim at the same time waits here until the first commits, and the UPDATE, a new statement
-- with a new snapshot, then reads both changes. Computed in the locking statement itself, it would read
-- the consents as they were when it started and could write back a consent the other had just withdrawn.
CREATE FUNCTION victims_consent_refresh(ids uuid[]) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT 1 FROM victims WHERE id = ANY (ids) ORDER BY id FOR UPDATE;
    UPDATE victims v SET consent_grants = coalesce((
        SELECT array_agg(ROW(u.purpose, p.grantee_partner_id, p.grantee_type, p.category_bits,
                p.period_start, p.period_end)::consent_grant ORDER BY c.id, p.position, u.purpose)
        FROM consents c JOIN consent_provisions p ON p.consent_id = c.id
        CROSS JOIN LATERAL (SELECT DISTINCT unnest(p.purposes) AS purpose) u
        WHERE c.victim_id = v.id AND c.withdrawn_at IS NULL
          AND (NOT c.needs_confirmation OR c.confirmed_at IS NOT NULL)), '{}')
    WHERE v.id = ANY (ids);
$$;

-- victims_consent_track refreshes, once per statement, the victims whose consents a statement on consents
-- or consent_provisions changed (its transition table, changed).
CREATE FUNCTION victims_consent_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_TABLE_NAME = 'consents' THEN
        PERFORM victims_consent_refresh(ARRAY(SELECT DISTINCT victim_id FROM changed));
    ELSE
        PERFORM victims_consent_refresh(ARRAY(SELECT DISTINCT c.victim_id FROM changed x JOIN consents c ON c.id = x.consent_id));
    END IF;
    RETURN NULL;
END $$;

-- A victim is created with no consent, whatever an INSERT says: only the triggers above write the grants
-- (the runtime may not UPDATE the column either; migration 007 grants UPDATE per column).
CREATE FUNCTION victims_consent_empty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.consent_grants := '{}';
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION victims_consent_refresh(uuid[]), victims_consent_track(), victims_consent_empty() FROM PUBLIC;

CREATE TRIGGER consent_grants_empty BEFORE INSERT ON victims FOR EACH ROW EXECUTE FUNCTION victims_consent_empty();
-- A transition table serves one event, hence one trigger per event.
CREATE TRIGGER consent_grants_insert AFTER INSERT ON consents REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION victims_consent_track();
CREATE TRIGGER consent_grants_update AFTER UPDATE ON consents REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION victims_consent_track();
CREATE TRIGGER consent_grants_delete AFTER DELETE ON consents REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION victims_consent_track();
CREATE TRIGGER consent_grants_insert AFTER INSERT ON consent_provisions REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION victims_consent_track();
CREATE TRIGGER consent_grants_update AFTER UPDATE ON consent_provisions REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION victims_consent_track();
CREATE TRIGGER consent_grants_delete AFTER DELETE ON consent_provisions REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION victims_consent_track();

-- The consents already recorded.
SELECT victims_consent_refresh(ARRAY(SELECT DISTINCT victim_id FROM consents));

-- grants_in_force is the consent rule at read time: the categories a victim's grants give the partner
-- for_partner, by id or by its type for_type, for for_purpose, now. Plain SQL, so that it is inlined
-- into every caller below.
CREATE FUNCTION grants_in_force(grants consent_grant[], for_purpose purpose, for_partner uuid, for_type partner_type)
RETURNS TABLE (category_bits integer)
LANGUAGE sql STABLE AS $$
    SELECT g.category_bits FROM unnest(grants) g
    WHERE g.purpose = for_purpose AND (g.grantee_partner_id = for_partner OR g.grantee_type = for_type)
      AND g.valid_from <= now() AND (g.valid_until IS NULL OR now() < g.valid_until)
$$;

-- consent_grants (the one consent evaluator of migration 010, used by the statistics and the employer's
-- check) now reads the victims' grants.
CREATE OR REPLACE FUNCTION consent_grants(for_purpose purpose, for_partner uuid, for_type partner_type)
RETURNS TABLE (victim_id uuid, category_bits integer)
LANGUAGE sql STABLE AS $$
    SELECT v.id, g.category_bits
    FROM victims v CROSS JOIN LATERAL grants_in_force(v.consent_grants, for_purpose, for_partner, for_type) g
$$;

-- viewer_bits is what a viewer holds on one victim, given the victim's grants: the categories its consent
-- grants the viewer's partner (by id or by type) for the purpose, and those of the accepted referrals to
-- the partner. It is plain SQL (not SECURITY DEFINER, no SET) so that PostgreSQL inlines it into the
-- statement that reads the victim, whose plan the connection keeps, and it reads the referrals under the
-- caller's row security like the statement around it. The store passes the request's purpose, partner
-- and partner type as parameters rather than reading the settings per row. It is an aggregate so that the
-- planner keeps it as one subquery per victim rather than pulling it up and evaluating it again wherever
-- the statement uses its columns.
CREATE FUNCTION viewer_bits(grants consent_grant[], victim uuid, for_purpose purpose, for_partner uuid, for_type partner_type)
RETURNS TABLE (consented integer, referred integer)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(bit_or(g.category_bits), 0),
        coalesce((SELECT bit_or(r.category_bits) FROM referrals r
            WHERE r.victim_id = victim AND r.status = 'ACCEPTED' AND r.to_partner_id = for_partner), 0)
    FROM grants_in_force(grants, for_purpose, for_partner, for_type) g
$$;
REVOKE ALL ON FUNCTION grants_in_force(consent_grant[], purpose, uuid, partner_type),
    viewer_bits(consent_grant[], uuid, purpose, uuid, partner_type) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION grants_in_force(consent_grant[], purpose, uuid, partner_type),
    viewer_bits(consent_grant[], uuid, purpose, uuid, partner_type) TO lindung_app;

-- access_bits is replaced by viewer_bits in every statement.
DROP FUNCTION access_bits(uuid[]);

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

-- The audit's foreign keys checked, per row written, that the partner and the victim exist: the hub
-- writes the ids it has just read, under row security, in the same transaction. The checks cost more than
-- the rest of the insert, and an audit record must outlive its subject in any case.
ALTER TABLE access_records DROP CONSTRAINT access_records_partner_id_fkey;
ALTER TABLE access_records DROP CONSTRAINT access_records_victim_id_fkey;

-- Occupancy per shelter as a correlated count instead of an aggregate over every shelter: looking up one
-- shelter (a victim's current shelter) counted the current placements of all of them, a cost that grew
-- with the table (about 30 ms of a one-victim request at 100,000 victims). Same columns and rows, and
-- still counted with the view owner's rights, so every current resident counts, whoever asks.
CREATE OR REPLACE VIEW shelter_occupancy AS
    SELECT s.id AS shelter_id,
        (SELECT count(*) FROM placements p WHERE p.shelter_id = s.id AND p.to_date IS NULL)::integer AS occupancy
    FROM shelters s;
