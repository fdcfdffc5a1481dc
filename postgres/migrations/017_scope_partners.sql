-- The linked and referred row scopes kept with the victim they belong to, current in the transaction that
-- changes them (issue 14), as migration 012 did for consent.
--
-- Before, the victims read policy asked linked_to(id) or referred_to(id) (migration 002) for every victim
-- row it filtered: SECURITY DEFINER functions, which PostgreSQL cannot inline into the statement and plans
-- again on every call, each probing case_links or referrals. A child table's policy (EXISTS on victims)
-- asked them again per record, so the police's page of 100 victims with their referrals spent most of its
-- time in linked_to, and an NGO's in referred_to. The partners a victim is linked to, and those it has an
-- accepted referral to, are now also stored on the victim's row, and the scopes are a comparison with a
-- column of the row already read: no function call, no further table, no further row-security check.

-- linked_partners: the partners of the victim's case links. referred_partners: the partners an accepted
-- referral of the victim was sent to (status ACCEPTED only: a referral in progress, rejected, completed or
-- withdrawn opens nothing). Each sorted, without duplicates.
ALTER TABLE victims ADD COLUMN linked_partners uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN referred_partners uuid[] NOT NULL DEFAULT '{}';

-- victims_scope_refresh rewrites the two columns of the given victims from case_links and referrals, as
-- linked_to and referred_to answered.
--
-- The victims are locked first, in a statement of their own, as victims_consent_refresh (012) does: a
-- transaction that changes another link or referral of the same victim at the same time waits here until
-- the first commits, and the UPDATE, a new statement with a new snapshot, then reads both changes. The
-- lock is FOR NO KEY UPDATE, the lock the UPDATE takes anyway: it does not conflict with the key-share lock
-- that inserting a case link or a referral takes on its victim through the foreign key, so two such inserts
-- for one victim queue here rather than deadlock. Rows whose scope did not change are not written.
CREATE FUNCTION victims_scope_refresh(ids uuid[]) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT 1 FROM victims WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE;
    UPDATE victims v SET linked_partners = s.linked, referred_partners = s.referred
    FROM (SELECT w.id,
            ARRAY(SELECT DISTINCT l.partner_id FROM case_links l WHERE l.victim_id = w.id ORDER BY 1) AS linked,
            ARRAY(SELECT DISTINCT r.to_partner_id FROM referrals r
                WHERE r.victim_id = w.id AND r.status = 'ACCEPTED' ORDER BY 1) AS referred
        FROM victims w WHERE w.id = ANY (ids)) s
    WHERE v.id = s.id
      AND (v.linked_partners IS DISTINCT FROM s.linked OR v.referred_partners IS DISTINCT FROM s.referred);
$$;

-- victims_scope_track refreshes, once per statement, the victims whose scope a statement on case_links or
-- referrals may have changed: for case_links every victim of a row inserted, deleted or updated (old and
-- new); for referrals those of a row that is or was ACCEPTED, and on UPDATE only where the status, the
-- victim or the recipient changed (a referral's reason or due date changes no scope).
CREATE FUNCTION victims_scope_track() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_TABLE_NAME = 'case_links' THEN
        IF TG_OP = 'UPDATE' THEN
            PERFORM victims_scope_refresh(ARRAY(SELECT victim_id FROM old_rows UNION SELECT victim_id FROM new_rows));
        ELSIF TG_OP = 'INSERT' THEN
            PERFORM victims_scope_refresh(ARRAY(SELECT DISTINCT victim_id FROM new_rows));
        ELSE
            PERFORM victims_scope_refresh(ARRAY(SELECT DISTINCT victim_id FROM old_rows));
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM victims_scope_refresh(ARRAY(
            SELECT o.victim_id FROM old_rows o JOIN new_rows n USING (id)
            WHERE (o.status = 'ACCEPTED' OR n.status = 'ACCEPTED')
              AND (o.status, o.victim_id, o.to_partner_id) IS DISTINCT FROM (n.status, n.victim_id, n.to_partner_id)
            UNION
            SELECT n.victim_id FROM old_rows o JOIN new_rows n USING (id)
            WHERE (o.status = 'ACCEPTED' OR n.status = 'ACCEPTED')
              AND (o.status, o.victim_id, o.to_partner_id) IS DISTINCT FROM (n.status, n.victim_id, n.to_partner_id)));
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM victims_scope_refresh(ARRAY(SELECT DISTINCT victim_id FROM new_rows WHERE status = 'ACCEPTED'));
    ELSE
        PERFORM victims_scope_refresh(ARRAY(SELECT DISTINCT victim_id FROM old_rows WHERE status = 'ACCEPTED'));
    END IF;
    RETURN NULL;
END $$;

-- A victim is created linked to no one and referred to no one, whatever an INSERT says: only the triggers
-- write the columns (the runtime may not UPDATE them either: migration 007 grants UPDATE per column).
CREATE FUNCTION victims_scope_empty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.linked_partners := '{}';
    NEW.referred_partners := '{}';
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION victims_scope_refresh(uuid[]), victims_scope_track(), victims_scope_empty() FROM PUBLIC;

CREATE TRIGGER scope_partners_empty BEFORE INSERT ON victims FOR EACH ROW EXECUTE FUNCTION victims_scope_empty();
-- A transition table serves one event (and a trigger with transition tables takes no column list), hence
-- one trigger per event.
CREATE TRIGGER scope_partners_insert AFTER INSERT ON case_links REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION victims_scope_track();
CREATE TRIGGER scope_partners_update AFTER UPDATE ON case_links REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION victims_scope_track();
CREATE TRIGGER scope_partners_delete AFTER DELETE ON case_links REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION victims_scope_track();
CREATE TRIGGER scope_partners_insert AFTER INSERT ON referrals REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION victims_scope_track();
CREATE TRIGGER scope_partners_update AFTER UPDATE ON referrals REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION victims_scope_track();
CREATE TRIGGER scope_partners_delete AFTER DELETE ON referrals REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION victims_scope_track();

-- The links and referrals already recorded.
SELECT victims_scope_refresh(ARRAY(SELECT victim_id FROM case_links
    UNION SELECT victim_id FROM referrals WHERE status = 'ACCEPTED'));

-- The victims' read policy of 012 with the two scopes read from the row. The setting is compared with the
-- column, as the partner scope compares it with owner_partner_id.
DROP POLICY scope_read ON victims;
CREATE POLICY scope_read ON victims FOR SELECT USING (CASE lindung_setting('lindung.scope')
    WHEN 'partner' THEN owner_partner_id = lindung_setting('lindung.partner_id')::uuid
    WHEN 'linked' THEN lindung_setting('lindung.partner_id')::uuid = ANY (linked_partners)
    WHEN 'referred' THEN lindung_setting('lindung.partner_id')::uuid = ANY (referred_partners)
    ELSE false END);

-- Nothing asks linked_to or referred_to any more: the columns are their one definition.
DROP FUNCTION linked_to(uuid);
DROP FUNCTION referred_to(uuid);
