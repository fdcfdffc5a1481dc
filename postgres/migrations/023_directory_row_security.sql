-- The rest of the directory behind row security, after the users (022): partners and shelters. The caller's
-- partner type comes from caller_partner (022).
--
-- Partners: every request reads the partner directory (a partner's name and type: who the hub shares
-- with, whom a referral goes to, the start statement's lookup of the caller's own). Only the operator
-- registers a partner, renames it or suspends it.
ALTER TABLE partners ENABLE ROW LEVEL SECURITY;
ALTER TABLE partners FORCE ROW LEVEL SECURITY;
CREATE POLICY read_partners ON partners FOR SELECT USING (true);
CREATE POLICY operator_insert ON partners FOR INSERT
    WITH CHECK ((SELECT type FROM caller_partner) = 'OPERATOR');
CREATE POLICY operator_update ON partners FOR UPDATE
    USING ((SELECT type FROM caller_partner) = 'OPERATOR')
    WITH CHECK ((SELECT type FROM caller_partner) = 'OPERATOR');

-- Shelters: a place of refuge is where victims hide from those who trafficked them. The policy gives
-- see_shelters to every role but the employer's; the database refuses every shelter to a private-sector
-- partner, and to a transaction with no partner at all (fail closed). Only the operator registers one.
-- Nothing in the hub changes a shelter: a placement locks its shelter (SELECT … FOR UPDATE, which checks
-- the UPDATE policy's USING), and no update passes the WITH CHECK. The statistics and the occupancy view
-- read shelters as their owner, as before.
ALTER TABLE shelters ENABLE ROW LEVEL SECURITY;
ALTER TABLE shelters FORCE ROW LEVEL SECURITY;
CREATE POLICY read_shelters ON shelters FOR SELECT USING (
    (SELECT type FROM caller_partner) IN ('GOVERNMENT', 'NGO', 'OPERATOR'));
CREATE POLICY operator_insert ON shelters FOR INSERT
    WITH CHECK ((SELECT type FROM caller_partner) = 'OPERATOR');
CREATE POLICY lock_shelters ON shelters FOR UPDATE USING (
    (SELECT type FROM caller_partner) IN ('GOVERNMENT', 'NGO', 'OPERATOR'))
    WITH CHECK (false);
