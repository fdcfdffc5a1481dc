-- Care workflows (issue 4): consent recording and withdrawal, referrals, protection orders, placements,
-- services, the family-communication log, work permission with eligibility codes, training records, and the
-- two tables every care mutation writes: the change log and the idempotency keys.

-- Consent history is never rewritten. The app role may only set withdrawn_at, once; provisions are never
-- changed after they are written. (The database owner keeps its rights for maintenance and tests.)
REVOKE UPDATE ON consents, consent_provisions FROM lindung_app;
GRANT UPDATE (withdrawn_at) ON consents TO lindung_app;
CREATE FUNCTION consents_withdraw_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.withdrawn_at IS NOT NULL AND NEW.withdrawn_at IS DISTINCT FROM OLD.withdrawn_at THEN
        RAISE EXCEPTION 'a consent is withdrawn once' USING ERRCODE = 'check_violation',
            CONSTRAINT = 'consents_withdrawn_once';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER withdraw_once BEFORE UPDATE ON consents FOR EACH ROW EXECUTE FUNCTION consents_withdraw_once();

-- Training completions are recorded again when a user retakes the same module version.
GRANT UPDATE ON training_completions TO lindung_app;

-- The family-communication log: calls and visits with family members, a victim-owned record of category
-- FAMILY. An NGO sees the entries it recorded, as with service records.
CREATE TYPE family_contact_kind AS ENUM ('CALL', 'VISIT');
CREATE TABLE family_contacts (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    victim_id              uuid NOT NULL REFERENCES victims (id),
    kind                   family_contact_kind NOT NULL,
    with_whom              text NOT NULL CHECK (length(with_whom) BETWEEN 1 AND 200),
    occurred_on            date NOT NULL,
    interpreter_partner_id uuid REFERENCES partners (id),
    recorded_by_partner_id uuid NOT NULL REFERENCES partners (id),
    recorded_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX family_contacts_victim ON family_contacts (victim_id);
GRANT SELECT, INSERT ON family_contacts TO lindung_app;
ALTER TABLE family_contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE family_contacts FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON family_contacts USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)
    AND (lindung_setting('lindung.scope') <> 'referred'
         OR recorded_by_partner_id = lindung_setting('lindung.partner_id')::uuid));

-- Eligibility codes: what a victim hands to an employer. Only the SHA-256 of the code is kept; a code names
-- one employer, or (employer_partner_id NULL) any private employer the victim consented to.
CREATE TABLE eligibility_codes (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    victim_id           uuid NOT NULL REFERENCES victims (id),
    code_hash           bytea NOT NULL UNIQUE CHECK (length(code_hash) = 32),
    employer_partner_id uuid REFERENCES partners (id),
    issued_by_user_id   uuid REFERENCES users (id),
    issued_at           timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL CHECK (expires_at > issued_at),
    revoked_at          timestamptz CHECK (revoked_at IS NULL OR revoked_at >= issued_at)
);
CREATE INDEX eligibility_codes_victim ON eligibility_codes (victim_id);
GRANT SELECT, INSERT ON eligibility_codes TO lindung_app;
GRANT UPDATE (revoked_at) ON eligibility_codes TO lindung_app;
ALTER TABLE eligibility_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE eligibility_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON eligibility_codes USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));

-- Every check of a code, eligible or not. Never the victim: a failed check names no one, and a successful
-- one is also an access record of the victim (written by the request's audit).
CREATE TABLE eligibility_checks (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                  timestamptz NOT NULL DEFAULT now(),
    request_id          text NOT NULL,
    employer_partner_id uuid NOT NULL REFERENCES partners (id),
    username            text NOT NULL,
    code_hash_prefix    text,  -- first 8 hex digits of the hash; NULL for input that cannot be a code
    eligible            boolean NOT NULL
);
GRANT INSERT ON eligibility_checks TO lindung_app;
ALTER TABLE eligibility_checks ENABLE ROW LEVEL SECURITY;
ALTER TABLE eligibility_checks FORCE ROW LEVEL SECURITY;
CREATE POLICY write_own ON eligibility_checks FOR INSERT
    WITH CHECK (employer_partner_id = lindung_setting('lindung.partner_id')::uuid);

-- check_eligibility_code answers an employer's check with exactly one row, whatever the code: eligible only
-- for a code that exists, is neither revoked nor expired, names the calling employer (or any private
-- employer), of a victim whose work eligibility is ELIGIBLE and current, and whose consent still grants
-- EMPLOYMENT for EMPLOYMENT_CHECK to the caller (by id or type) now. valid_until and victim_id are NULL
-- unless eligible. SECURITY DEFINER: the employer has no victim rows; it never gets one, only these values.
CREATE FUNCTION check_eligibility_code(h bytea) RETURNS TABLE (eligible boolean, valid_until date, victim_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH hit AS (
        SELECT w.valid_until, c.victim_id FROM eligibility_codes c
        JOIN work_eligibility w ON w.victim_id = c.victim_id
        WHERE c.code_hash = h
          AND c.revoked_at IS NULL AND now() < c.expires_at
          AND lindung_setting('lindung.partner_type') = 'PRIVATE'
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
REVOKE ALL ON FUNCTION check_eligibility_code(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION check_eligibility_code(bytea) TO lindung_app;

-- The change log: one row per record a mutation created or changed, in the mutation's transaction. It names
-- the fields changed, never their values. Append-only, like the access records.
CREATE TABLE change_records (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    request_id  text NOT NULL,
    user_id     uuid,
    username    text NOT NULL,
    partner_id  uuid NOT NULL REFERENCES partners (id),
    roles       text[] NOT NULL,
    purpose     purpose NOT NULL,
    victim_id   uuid REFERENCES victims (id),
    entity      text NOT NULL,
    record_id   text NOT NULL,
    action      text NOT NULL,
    fields      text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX change_records_victim ON change_records (victim_id, at);
GRANT SELECT, INSERT ON change_records TO lindung_app;
ALTER TABLE change_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE change_records FORCE ROW LEVEL SECURITY;
CREATE POLICY read_scope ON change_records FOR SELECT USING (EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
CREATE POLICY write_own ON change_records FOR INSERT
    WITH CHECK (partner_id = lindung_setting('lindung.partner_id')::uuid);

CREATE FUNCTION care_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON change_records
    FOR EACH ROW EXECUTE FUNCTION care_logs_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON change_records
    FOR EACH STATEMENT EXECUTE FUNCTION care_logs_append_only();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON eligibility_checks
    FOR EACH ROW EXECUTE FUNCTION care_logs_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON eligibility_checks
    FOR EACH STATEMENT EXECUTE FUNCTION care_logs_append_only();

-- Idempotency keys: per partner, a key names one request (operation and a hash of its input) and the
-- reference of its result. A repeat returns that result; the same key with another input is a conflict.
CREATE TABLE idempotency_keys (
    partner_id  uuid NOT NULL REFERENCES partners (id),
    key         text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    operation   text NOT NULL,
    input_hash  bytea NOT NULL,
    result      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_id, key)
);
GRANT SELECT, INSERT ON idempotency_keys TO lindung_app;
GRANT UPDATE (result) ON idempotency_keys TO lindung_app;
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY own ON idempotency_keys USING (partner_id = lindung_setting('lindung.partner_id')::uuid);

-- Occupancy per state counts every current resident, whoever asks, like shelter_occupancy.
CREATE VIEW state_occupancy AS
    SELECT s.state, count(DISTINCT s.id)::integer AS shelters, sum(s.capacity)::integer AS capacity,
        coalesce(sum(o.occupancy), 0)::integer AS occupancy
    FROM shelters s LEFT JOIN shelter_occupancy o ON o.shelter_id = s.id
    GROUP BY s.state;
GRANT SELECT ON state_occupancy TO lindung_app;
