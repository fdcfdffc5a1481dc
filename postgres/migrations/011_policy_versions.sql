-- The policy versions the hub has run with, and when: every access record names the version that decided
-- it (access_records.policy_version), and this table says what that version's rules were and when it was
-- in force, so that an audit years later can read the exact rules behind a disclosure.
--
-- The hub writes a row when it starts with a version it has not run before, and on every later start with
-- it moves last_started_at and counts the start. The text of a version never changes: the version is a
-- hash of it, and lindung_app may update only the start columns. The table holds no victim data.
CREATE TABLE policy_versions (
    version          text PRIMARY KEY CHECK (version ~ '^[0-9a-f]{12}$'),
    model            text NOT NULL,
    rules            text NOT NULL,
    first_started_at timestamptz NOT NULL DEFAULT now(),
    last_started_at  timestamptz NOT NULL DEFAULT now(),
    starts           bigint NOT NULL DEFAULT 1 CHECK (starts > 0),
    CHECK (last_started_at >= first_started_at)
);

GRANT SELECT, INSERT ON policy_versions TO lindung_app;
GRANT UPDATE (last_started_at, starts) ON policy_versions TO lindung_app;
