-- The second wall. Every request transaction runs as lindung_app, a role that owns nothing, after setting
-- its scope in transaction-local settings (see postgres/session.go). Row-level security reads those
-- settings, so a query that forgot its WHERE clause still returns no row outside the caller's scope.
-- FORCE makes the policies hold for the tables' owner too, should the owner ever not be a superuser.

-- Roles belong to the server, not the database, and the migration lock is per database: two databases
-- migrated at once race to create the role, and the loser sees unique_violation, not duplicate_object.
DO $$ BEGIN
    CREATE ROLE lindung_app NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

GRANT USAGE ON SCHEMA public TO lindung_app;
GRANT SELECT ON partners, users, training_completions, shelters, services TO lindung_app;
GRANT SELECT, INSERT, UPDATE ON victims, case_links, family_links, protection_orders, placements,
    service_records, referrals, consents, consent_provisions, work_eligibility TO lindung_app;
GRANT INSERT ON partners, users, training_completions, shelters TO lindung_app;
GRANT UPDATE ON partners, users, shelters TO lindung_app;
GRANT SELECT, INSERT ON access_records TO lindung_app;

-- setting returns a transaction setting, NULL when unset or empty.
CREATE FUNCTION lindung_setting(name text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT nullif(current_setting(name, true), '') $$;

-- linked_to and referred_to answer the two row scopes that depend on other tables. SECURITY DEFINER lets
-- them read case_links and referrals without those tables' own policies, which lead back to victims.
CREATE FUNCTION linked_to(v uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM case_links l
        WHERE l.victim_id = v AND l.partner_id = lindung_setting('lindung.partner_id')::uuid)
$$;

CREATE FUNCTION referred_to(v uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM referrals r
        WHERE r.victim_id = v AND r.to_partner_id = lindung_setting('lindung.partner_id')::uuid
          AND r.status = 'ACCEPTED')
$$;

-- access_bits gives, for each victim id, the categories that the victim's active consent grants now to the
-- transaction's partner (by id or by type) for the transaction's purpose, and the categories asked for by
-- accepted, open referrals of the victim to that partner. The store joins it once per statement, for all
-- the victims of the statement's rows. Withdrawal and expiry count from the next statement: now() is the
-- transaction's start, and the end of a period is exclusive.
CREATE FUNCTION access_bits(ids uuid[]) RETURNS TABLE (victim_id uuid, consented integer, referred integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT i.id,
        coalesce((SELECT bit_or(p.category_bits)
            FROM consents c JOIN consent_provisions p ON p.consent_id = c.id
            WHERE c.victim_id = i.id
              AND c.withdrawn_at IS NULL
              AND p.period_start <= now() AND (p.period_end IS NULL OR now() < p.period_end)
              AND lindung_setting('lindung.purpose')::purpose = ANY (p.purposes)
              AND (p.grantee_partner_id = lindung_setting('lindung.partner_id')::uuid
                   OR p.grantee_type = lindung_setting('lindung.partner_type')::partner_type)), 0),
        coalesce((SELECT bit_or(r.category_bits) FROM referrals r
            WHERE r.victim_id = i.id AND r.status = 'ACCEPTED'
              AND r.to_partner_id = lindung_setting('lindung.partner_id')::uuid), 0)
    FROM (SELECT DISTINCT unnest(ids) AS id) i
$$;

-- The row scope, on victims. For the partner scope the rule is on the row's own column, so it is cheap
-- and also checks new rows: only the owning agency registers a case, and a case cannot be moved to
-- another owner. The other scopes ask linked_to / referred_to, which for a row not inserted yet answer no.
ALTER TABLE victims ENABLE ROW LEVEL SECURITY;
ALTER TABLE victims FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON victims USING (
    (lindung_setting('lindung.scope') = 'partner' AND owner_partner_id = lindung_setting('lindung.partner_id')::uuid)
    OR (lindung_setting('lindung.scope') = 'linked' AND linked_to(id))
    OR (lindung_setting('lindung.scope') = 'referred' AND referred_to(id)));

-- A victim's records are visible exactly when the victim is: the subquery on victims is itself filtered
-- by the policy above.
ALTER TABLE case_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_links FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON case_links USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));

ALTER TABLE family_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE family_links FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON family_links USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)
    OR EXISTS (SELECT 1 FROM victims v WHERE v.id = related_victim_id));

ALTER TABLE protection_orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE protection_orders FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON protection_orders USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));

ALTER TABLE placements ENABLE ROW LEVEL SECURITY;
ALTER TABLE placements FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON placements USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));

-- An NGO sees the service records it provides, not those of other providers.
ALTER TABLE service_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE service_records FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON service_records USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)
    AND (lindung_setting('lindung.scope') <> 'referred'
         OR provider_partner_id = lindung_setting('lindung.partner_id')::uuid));

ALTER TABLE consents ENABLE ROW LEVEL SECURITY;
ALTER TABLE consents FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON consents USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));

ALTER TABLE consent_provisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE consent_provisions FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON consent_provisions USING (EXISTS (SELECT 1 FROM consents c WHERE c.id = consent_id));

ALTER TABLE work_eligibility ENABLE ROW LEVEL SECURITY;
ALTER TABLE work_eligibility FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON work_eligibility USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));

-- A referral is seen by the two partners it is between, and with the case by whoever may see the case,
-- except that an NGO does not see the referrals of a case to other partners (nor their reasons).
ALTER TABLE referrals ENABLE ROW LEVEL SECURITY;
ALTER TABLE referrals FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON referrals USING (
    from_partner_id = lindung_setting('lindung.partner_id')::uuid
    OR to_partner_id = lindung_setting('lindung.partner_id')::uuid
    OR (lindung_setting('lindung.scope') <> 'referred' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)));

-- The audit is readable only through disclosures of visible victims, and writable only by the requester.
ALTER TABLE access_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE access_records FORCE ROW LEVEL SECURITY;
CREATE POLICY read_scope ON access_records FOR SELECT USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
CREATE POLICY write_own ON access_records FOR INSERT
    WITH CHECK (partner_id = lindung_setting('lindung.partner_id')::uuid);

-- Append-only: no role, the owner included, may change or remove an access record.
CREATE FUNCTION access_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_records is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON access_records
    FOR EACH ROW EXECUTE FUNCTION access_records_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON access_records
    FOR EACH STATEMENT EXECUTE FUNCTION access_records_append_only();

-- Shelter occupancy counts every current resident, whoever asks: it is a fact about the shelter, and the
-- view runs with its owner's rights so row-level security on placements does not shrink it.
CREATE VIEW shelter_occupancy AS
    SELECT s.id AS shelter_id, count(p.id)::integer AS occupancy
    FROM shelters s LEFT JOIN placements p ON p.shelter_id = s.id AND p.to_date IS NULL
    GROUP BY s.id;
GRANT SELECT ON shelter_occupancy TO lindung_app;
