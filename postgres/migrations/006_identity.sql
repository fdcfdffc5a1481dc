-- Identity: the hub's own record decides who a caller is. A request is served only for a registered user
-- of the token's partner; the operator can disable a user or suspend a whole partner (and undo it), and
-- the next request of that user, or of anyone at that partner, is refused whatever token it carries. The
-- columns say since when; NULL is enabled. Each change is also written to the change log by the hub.
ALTER TABLE users ADD COLUMN disabled_at timestamptz;
ALTER TABLE partners ADD COLUMN suspended_at timestamptz;
-- lindung_app already holds SELECT, INSERT and UPDATE on both tables (002_security.sql): the operator's
-- requests set and clear these columns, and change users' roles, through it.
