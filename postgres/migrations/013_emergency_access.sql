-- Break-glass emergency access (docs/access.md, Break-glass). A grant opens named categories of one victim
-- to the one user who opened it, with a reason, for a bounded time; where the policy says so, only once a
-- second user (of another partner) approves. A request that declares the purpose EMERGENCY sees only the
-- victims with a grant in effect for its user, and of each only the grant's categories: the store reads
-- them with emergency_bits in place of viewer_bits, in the statement that reads the victim, never cached.

-- The purpose is new. PostgreSQL lets a transaction add an enum value but not use it: nothing below names
-- it as a value of the type, only as text.
ALTER TYPE purpose ADD VALUE IF NOT EXISTS 'EMERGENCY';

CREATE TABLE emergency_grants (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    victim_id           uuid NOT NULL REFERENCES victims (id),
    opened_by           uuid NOT NULL REFERENCES users (id),
    partner_id          uuid NOT NULL REFERENCES partners (id),
    roles               text[] NOT NULL CHECK (cardinality(roles) > 0),
    categories          data_category[] NOT NULL CHECK (cardinality(categories) > 0),
    need                text NOT NULL CHECK (need IN ('review', 'approve', 'approve_other_partner')),
    reason              text NOT NULL CHECK (length(btrim(reason)) BETWEEN 20 AND 2000),
    opened_at           timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    approved_by         uuid REFERENCES users (id),
    approver_partner_id uuid REFERENCES partners (id),
    approved_at         timestamptz,
    revoked_by          uuid REFERENCES users (id),
    revoked_at          timestamptz,
    reviewed_by         uuid REFERENCES users (id),
    reviewed_at         timestamptz,
    finding             text CHECK (finding IS NULL OR length(btrim(finding)) BETWEEN 10 AND 4000),
    -- No grant outlives a day, whatever the policy's maximum says (the policy check holds it to 24 h too).
    CONSTRAINT emergency_grants_bounded CHECK (expires_at > opened_at AND expires_at <= opened_at + interval '24 hours'),
    -- Four eyes: the approver is another user, and another partner where the need says so.
    CONSTRAINT emergency_grants_approved_by_another CHECK (approved_by IS NULL OR approved_by <> opened_by),
    CONSTRAINT emergency_grants_approved_by_another_partner CHECK (need <> 'approve_other_partner'
        OR approver_partner_id IS NULL OR approver_partner_id <> partner_id),
    CONSTRAINT emergency_grants_approval_whole CHECK ((approved_by IS NULL) = (approved_at IS NULL)
        AND (approved_by IS NULL) = (approver_partner_id IS NULL) AND (approved_by IS NULL OR need <> 'review')),
    CONSTRAINT emergency_grants_revocation_whole CHECK ((revoked_by IS NULL) = (revoked_at IS NULL)),
    -- The review is closed by someone who neither opened nor approved the grant, with a finding.
    CONSTRAINT emergency_grants_reviewed_by_another CHECK ((reviewed_by IS NULL) = (reviewed_at IS NULL)
        AND (reviewed_by IS NULL) = (finding IS NULL)
        AND (reviewed_by IS NULL OR (reviewed_by <> opened_by AND reviewed_by IS DISTINCT FROM approved_by)))
);
CREATE INDEX emergency_grants_user_victim ON emergency_grants (opened_by, victim_id, expires_at);
CREATE INDEX emergency_grants_victim ON emergency_grants (victim_id);
CREATE INDEX emergency_grants_open_reviews ON emergency_grants (opened_at) WHERE reviewed_at IS NULL;

-- What happened to a grant stays: an approval, a revocation and a review are each written once, and
-- nothing else of a grant ever changes.
-- The actor of each change is the transaction's user (a database administrator, who has none, may
-- correct a grant's times, as tests that move a grant into the past do).
CREATE FUNCTION emergency_grants_write_once() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    me uuid := lindung_setting('lindung.user_id')::uuid;
BEGIN
    IF (OLD.approved_by IS NOT NULL AND NEW.approved_by IS DISTINCT FROM OLD.approved_by)
        OR (OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at)
        OR (OLD.reviewed_at IS NOT NULL AND (NEW.reviewed_at IS DISTINCT FROM OLD.reviewed_at
            OR NEW.finding IS DISTINCT FROM OLD.finding)) THEN
        RAISE EXCEPTION 'an emergency grant''s approval, revocation and review are written once'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'emergency_grants_write_once';
    END IF;
    IF me IS NOT NULL AND ((NEW.approved_by IS DISTINCT FROM OLD.approved_by AND NEW.approved_by IS DISTINCT FROM me)
        OR (NEW.revoked_by IS DISTINCT FROM OLD.revoked_by AND NEW.revoked_by IS DISTINCT FROM me)
        OR (NEW.reviewed_by IS DISTINCT FROM OLD.reviewed_by AND NEW.reviewed_by IS DISTINCT FROM me)
        OR ROW(NEW.id, NEW.victim_id, NEW.opened_by, NEW.partner_id, NEW.roles, NEW.categories, NEW.need,
                NEW.reason, NEW.opened_at, NEW.expires_at)
            IS DISTINCT FROM ROW(OLD.id, OLD.victim_id, OLD.opened_by, OLD.partner_id, OLD.roles, OLD.categories,
                OLD.need, OLD.reason, OLD.opened_at, OLD.expires_at)) THEN
        RAISE EXCEPTION 'an emergency grant is approved, revoked and reviewed in the caller''s own name, and nothing else of it changes'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'emergency_grants_write_once';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER write_once BEFORE UPDATE ON emergency_grants FOR EACH ROW EXECUTE FUNCTION emergency_grants_write_once();

-- A grant is in effect while it has not expired, is not revoked, and is approved where its need requires.
-- now() is the transaction's start: expiry and revocation hold from the next request, as consent does.
CREATE FUNCTION emergency_grant_in_effect(g emergency_grants) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT now() < g.expires_at AND g.revoked_at IS NULL AND (g.need = 'review' OR g.approved_by IS NOT NULL)
$$;

-- emergency_in_effect says whether the transaction's user has a grant in effect for victim v. SECURITY
-- DEFINER: the victims policy below asks it, and the grants' own policies lead back to victims.
CREATE FUNCTION emergency_in_effect(v uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM emergency_grants g
        WHERE g.victim_id = v AND g.opened_by = lindung_setting('lindung.user_id')::uuid
          AND emergency_grant_in_effect(g))
$$;

-- emergency_bits is viewer_bits (migration 012) for the EMERGENCY purpose, with the same arguments: for a
-- victim, the categories of the transaction user's grants in effect take the place of consent (the
-- victim's consent counts for nothing in an emergency, and is not needed), and the referral bits are
-- viewer_bits' own. The store calls it wherever it would call viewer_bits; a victim without a grant in
-- effect gets no category. The consent grants and the purpose are unused: the purpose is EMERGENCY whenever
-- the store calls it, and consent counts for nothing then.
CREATE FUNCTION emergency_bits(grants consent_grant[], victim uuid, for_purpose purpose, for_partner uuid,
    for_type partner_type)
RETURNS TABLE (consented integer, referred integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce((SELECT bit_or(category_bits(g.categories)) FROM emergency_grants g
            WHERE g.victim_id = victim AND g.opened_by = lindung_setting('lindung.user_id')::uuid
              AND emergency_grant_in_effect(g)), 0),
        coalesce((SELECT bit_or(r.category_bits) FROM referrals r
            WHERE r.victim_id = victim AND r.status = 'ACCEPTED' AND r.to_partner_id = for_partner), 0)
$$;

-- The second wall for reading under EMERGENCY: whatever a query forgets, a transaction that declared
-- EMERGENCY sees no victim row without a grant in effect for its user, and so none of its records (their
-- policies ask the victims table). Restrictive: it narrows the row scope, never widens it. Any other
-- purpose is untouched.
CREATE POLICY emergency_grant ON victims AS RESTRICTIVE FOR SELECT
    USING (lindung_setting('lindung.purpose') IS DISTINCT FROM 'EMERGENCY' OR emergency_in_effect(id));

-- Grants are visible to their opener, to the opener's partner (whose officers revoke them), to the agency
-- holding the case (partner scope: it approves and revokes other partners' grants), and to a reviewer (the
-- hub sets lindung.emergency_review for a request whose policy decision may review_emergency). Not to
-- every partner that sees the victim: a grant's categories and reason tell what it was opened for (the
-- police linked to a case must not learn of a HEALTH emergency through the officers' grant).
ALTER TABLE emergency_grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE emergency_grants FORCE ROW LEVEL SECURITY;
CREATE POLICY read_grants ON emergency_grants FOR SELECT USING (
    opened_by = lindung_setting('lindung.user_id')::uuid
    OR partner_id = lindung_setting('lindung.partner_id')::uuid
    OR lindung_setting('lindung.emergency_review') = 'on'
    OR (lindung_setting('lindung.scope') = 'partner' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)));
-- A grant is opened by the transaction's own user, in its own partner's name, for a victim in its scope.
CREATE POLICY open_grant ON emergency_grants FOR INSERT WITH CHECK (
    opened_by = lindung_setting('lindung.user_id')::uuid
    AND partner_id = lindung_setting('lindung.partner_id')::uuid
    AND approved_by IS NULL AND revoked_at IS NULL AND reviewed_at IS NULL
    AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id));
-- Approval, revocation and review change only grants the caller sees, in the caller's own name.
CREATE POLICY change_grant ON emergency_grants FOR UPDATE
    USING (opened_by = lindung_setting('lindung.user_id')::uuid
        OR partner_id = lindung_setting('lindung.partner_id')::uuid
        OR lindung_setting('lindung.emergency_review') = 'on'
        OR (lindung_setting('lindung.scope') = 'partner' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)))
    WITH CHECK (opened_by = lindung_setting('lindung.user_id')::uuid
        OR partner_id = lindung_setting('lindung.partner_id')::uuid
        OR lindung_setting('lindung.emergency_review') = 'on'
        OR (lindung_setting('lindung.scope') = 'partner' AND EXISTS (SELECT 1 FROM victims v WHERE v.id = victim_id)));
GRANT SELECT, INSERT ON emergency_grants TO lindung_app;
GRANT UPDATE (approved_by, approver_partner_id, approved_at, revoked_by, revoked_at, reviewed_by, reviewed_at, finding)
    ON emergency_grants TO lindung_app;

-- Every access record made under EMERGENCY names the grant it was made under: a trigger fills it in from
-- the grants in effect for the record's user and victim at the transaction's start (the instant the
-- victim was read), whatever the writer says; any other record names none. The column is not part of the
-- record's leaf hash (docs/audit-log.md): the purpose EMERGENCY is, and the grant is found again from it.
-- No foreign key: the trigger only ever writes the id of a grant it has just read, and a foreign key's
-- check per record written is what migration 012 took off the audit's write path.
ALTER TABLE access_records ADD COLUMN emergency_grant_id uuid;
CREATE INDEX access_records_emergency ON access_records (emergency_grant_id) WHERE emergency_grant_id IS NOT NULL;
CREATE FUNCTION access_records_emergency_grant() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.purpose::text = 'EMERGENCY' THEN
        NEW.emergency_grant_id := (SELECT g.id FROM emergency_grants g
            WHERE g.victim_id = NEW.victim_id AND g.opened_by = NEW.user_id AND emergency_grant_in_effect(g)
            ORDER BY g.opened_at DESC LIMIT 1);
    ELSE
        NEW.emergency_grant_id := NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER emergency_grant BEFORE INSERT ON access_records FOR EACH ROW
    WHEN (NEW.purpose::text = 'EMERGENCY' OR NEW.emergency_grant_id IS NOT NULL)
    EXECUTE FUNCTION access_records_emergency_grant();

-- The reviewer (no victim rows) reads the access records made under grants, and no other.
CREATE POLICY emergency_review ON access_records FOR SELECT
    USING (emergency_grant_id IS NOT NULL AND lindung_setting('lindung.emergency_review') = 'on');

REVOKE EXECUTE ON FUNCTION emergency_grants_write_once(), emergency_grant_in_effect(emergency_grants),
    emergency_in_effect(uuid), emergency_bits(consent_grant[], uuid, purpose, uuid, partner_type), access_records_emergency_grant() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION emergency_grant_in_effect(emergency_grants), emergency_in_effect(uuid),
    emergency_bits(consent_grant[], uuid, purpose, uuid, partner_type) TO lindung_app;
