-- The transparency log of the access records (package translog; docs/audit-log.md). Each access record
-- is a leaf of an RFC 6962 Merkle tree; signed checkpoints commit to the tree's size and root, so that a
-- change to a past record, by anyone, is detectable by whoever keeps a checkpoint.

-- The leaf hash of a record, computed by the hub from the record's canonical encoding in the request's
-- transaction (NULL for records written before this migration: the sequencer computes theirs).
ALTER TABLE access_records ADD COLUMN leaf_hash bytea CHECK (leaf_hash IS NULL OR octet_length(leaf_hash) = 32);

-- The tree state, written only by the sequencer (postgres/translog.go), one run at a time under an
-- advisory lock. Rows are only ever added: a leaf index, once given, and a node's hash, once its subtree
-- is complete, never change. These tables hold hashes and record ids, no victim data, and are read
-- whole by proofs: they carry no row-level security.
CREATE TABLE log_leaves (
    leaf_index bigint PRIMARY KEY CHECK (leaf_index >= 0),
    record_id  bigint NOT NULL UNIQUE
);

-- Every complete (perfect) subtree's hash, leaves included (level 0): what inclusion and consistency
-- proofs are built from.
CREATE TABLE log_nodes (
    level      smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
    node_index bigint NOT NULL CHECK (node_index >= 0),
    hash       bytea NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (level, node_index)
);

-- The signed checkpoints, one per tree size. max_record_id, the highest record id sequenced so far,
-- lets the sequencer skip the records that it has certainly seen (see postgres/translog.go).
CREATE TABLE log_checkpoints (
    tree_size     bigint PRIMARY KEY CHECK (tree_size >= 0),
    root_hash     bytea NOT NULL CHECK (octet_length(root_hash) = 32),
    max_record_id bigint NOT NULL,
    note          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

REVOKE ALL ON log_leaves, log_nodes, log_checkpoints FROM PUBLIC;
GRANT SELECT, INSERT ON log_leaves, log_nodes, log_checkpoints TO lindung_app;

CREATE FUNCTION log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
REVOKE EXECUTE ON FUNCTION log_append_only() FROM PUBLIC;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON log_leaves FOR EACH ROW EXECUTE FUNCTION log_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON log_leaves FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON log_nodes FOR EACH ROW EXECUTE FUNCTION log_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON log_nodes FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON log_checkpoints FOR EACH ROW EXECUTE FUNCTION log_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON log_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();

-- The sequencer reads every access record to hash it into the log; it runs under the scope 'log', which
-- no request is ever given (lindung.RowScope has no such value), and sees the records and nothing else:
-- victims and every other table have no policy for it.
CREATE POLICY log_sequencer ON access_records FOR SELECT USING (lindung_setting('lindung.scope') = 'log');
