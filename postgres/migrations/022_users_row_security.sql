-- Users and their training under row security. A staff member's name is exposed data too: an NGO
-- caseworker known by name to the traffickers of the people they shelter is in danger. So the second wall
-- now stands in front of the users table as it stands in front of the victims': a request reads
--
--  * its own user, by the token's subject, which the hub sets as lindung.username before anything else (the
--    start statement finds the caller's id by it);
--  * the users named on the emergency grants it may see (opener, approver, revoker, reviewer), under the
--    grants' own policy (013);
--  * every user, when its partner is the hub operator's, which administers the directory (the GraphQL
--    operations are ActionAdminister's; `lindung init` and `directory apply` use the owner login).
--
-- Not its colleagues and not another partner's staff. A query that forgets its scope, or an authorization
-- check that is missing, returns the caller alone. The operator's partner type is read from the partners
-- table, not from a setting.
--
-- Every request's start statement reads its user and that user's training under these policies, so they are
-- kept cheap to plan and to run. The operator test asks caller_partner (below), which the planner turns
-- into an InitPlan computed once per statement. The grants test is a function, planned when a row first
-- needs it (for the start statement, never) rather than expanded, with the grants' and the victims' own
-- policies, into every plan that reads users.

-- caller_partner is the transaction's partner as the partners table records it: the hub's setting names
-- only its id, so the type a policy tests is not one more value the caller asserts. Policies ask
-- (SELECT type FROM caller_partner): a view is expanded into the statement, and the subquery becomes an
-- InitPlan on the partners' primary key, about 0.02 ms. lindung_partner_type() (007) answers the same, but
-- a function with its own search_path is not inlined, and a statement paid 0.06 to 0.12 ms to call it.
CREATE VIEW caller_partner AS
    SELECT p.id, p.type FROM partners p WHERE p.id = lindung_setting('lindung.partner_id')::uuid;
GRANT SELECT ON caller_partner TO lindung_app;

-- named_on_visible_grant says whether user u opened, approved, revoked or reviewed an emergency grant the
-- transaction sees. SECURITY INVOKER: the grants' row security decides what it sees.
CREATE FUNCTION named_on_visible_grant(u uuid) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM emergency_grants g WHERE u IN (g.opened_by, g.approved_by, g.revoked_by, g.reviewed_by));
END $$;
REVOKE ALL ON FUNCTION named_on_visible_grant(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION named_on_visible_grant(uuid) TO lindung_app;

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY read_users ON users FOR SELECT USING (
    username = lindung_setting('lindung.username')
    OR (SELECT type FROM caller_partner) = 'OPERATOR'
    OR named_on_visible_grant(id));
-- Only the operator registers users and changes them (roles, display name, disabled).
CREATE POLICY operator_insert ON users FOR INSERT
    WITH CHECK ((SELECT type FROM caller_partner) = 'OPERATOR');
CREATE POLICY operator_update ON users FOR UPDATE
    USING ((SELECT type FROM caller_partner) = 'OPERATOR')
    WITH CHECK ((SELECT type FROM caller_partner) = 'OPERATOR');

-- A training completion is seen by its own user and the operator, and recorded by the operator.
ALTER TABLE training_completions ENABLE ROW LEVEL SECURITY;
ALTER TABLE training_completions FORCE ROW LEVEL SECURITY;
CREATE POLICY read_training ON training_completions FOR SELECT USING (
    user_id = (SELECT u.id FROM users u WHERE u.username = lindung_setting('lindung.username'))
    OR (SELECT type FROM caller_partner) = 'OPERATOR');
CREATE POLICY operator_insert ON training_completions FOR INSERT
    WITH CHECK ((SELECT type FROM caller_partner) = 'OPERATOR');
CREATE POLICY operator_update ON training_completions FOR UPDATE
    USING ((SELECT type FROM caller_partner) = 'OPERATOR')
    WITH CHECK ((SELECT type FROM caller_partner) = 'OPERATOR');
