package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/transparency-dev/merkle/compact"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/translog"
)

// logLockKey is the advisory lock that makes one sequencer run at a time across the hub's replicas.
const logLockKey int64 = 0x6c696e64756e67 // "lindung"

// DefaultSequenceHorizon is the default horizon of Sequence: twice the longest a request's transaction
// may stay open (server.Config.RequestTimeout, 30 s by default, after which the request's context ends
// and its transaction is rolled back).
const DefaultSequenceHorizon = time.Minute

// sequenceBatch is how many records one statement of a sequencer run reads; a run reads until none is
// left, so every record visible when it started gets a leaf.
const sequenceBatch = 5000

// recordColumns are an access record's columns as the leaf encoding needs them; scanRecord reads them.
const recordColumns = `a.id, a.at, a.request_id, coalesce(a.user_id::text, ''), a.username, a.partner_id::text,
	a.roles, a.purpose::text, a.victim_id::text, a.disclosed::text[], a.withheld::text[], a.policy_version,
	a.operation_name, a.leaf_hash`

func scanRecord(row pgx.Row) (id int64, l translog.Leaf, insertHash []byte, err error) {
	err = row.Scan(&id, &l.At, &l.RequestID, &l.UserID, &l.Username, &l.PartnerID, &l.Roles, &l.Purpose, &l.VictimID,
		&l.Disclosed, &l.Withheld, &l.PolicyVersion, &l.OperationName, &insertHash)
	return id, l, insertHash, err
}

// SequenceResult is what one sequencer run did.
type SequenceResult struct {
	// Locked is false when another replica's sequencer held the lock: this run did nothing.
	Locked bool
	// Sequenced is how many records got a leaf; Checkpoint is the checkpoint then signed (nil when none).
	Sequenced  int
	Checkpoint *lindung.AuditCheckpoint
	// Changed lists records whose columns no longer hash to the leaf hash written with them: they were
	// changed between their insert and this run. The log keeps the hash written at insert, so
	// `lindung audit verify` reports them as altered.
	Changed []int64
}

// Sequence gives the committed access records that have no leaf yet their leaf indexes, in record id
// order, adds the tree's new nodes to its stored state and signs a checkpoint of the new size with key.
// It runs in one transaction under an advisory lock, so replicas take turns and a failed run leaves no
// trace; requests never wait for it.
//
// Records commit out of id order (ids are drawn at insert, transactions end when they end), so a run
// cannot just continue after the highest id it gave a leaf. It reads the unsequenced records above a
// floor: the highest id of a checkpoint signed more than horizon before the latest one. Every record
// below that floor was drawn before that checkpoint, its transaction ended within the horizon (which
// must exceed the longest request transaction), and a later run saw it. full reads from the first record
// instead: a sequencer does so when it starts and then hourly, which takes in anything a stopped hub or a
// transaction that outlived the horizon left behind.
func (db *DB) Sequence(ctx context.Context, key *translog.Key, horizon time.Duration, full bool) (*SequenceResult, error) {
	res := &SequenceResult{}
	// Bounded like a request's wait: an on-demand run comes from a request that holds a connection.
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer rollbackTx(ctx, tx)
	var ignore string
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1), set_config('lindung.scope', 'log', true)`,
		logLockKey).Scan(&res.Locked, &ignore); err != nil {
		return nil, mapError(err, "sequence: lock")
	}
	if !res.Locked {
		return res, nil
	}

	var size, maxRecord, floor int64
	var root []byte
	err = tx.QueryRow(ctx, `SELECT tree_size, root_hash, max_record_id FROM log_checkpoints ORDER BY tree_size DESC LIMIT 1`).
		Scan(&size, &root, &maxRecord)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, mapError(err, "sequence: latest checkpoint")
	}
	if !full && size > 0 {
		err = tx.QueryRow(ctx, `SELECT coalesce((SELECT max_record_id FROM log_checkpoints
			WHERE created_at < (SELECT created_at FROM log_checkpoints ORDER BY tree_size DESC LIMIT 1) - $1::interval
			ORDER BY tree_size DESC LIMIT 1), 0)`, horizon).Scan(&floor)
		if err != nil {
			return nil, mapError(err, "sequence: floor")
		}
	}
	r, err := loadRange(ctx, tx, uint64(size))
	if err != nil {
		return nil, err
	}
	if size > 0 {
		got, err := r.GetRootHash(nil)
		if err != nil {
			return nil, err
		}
		if string(got) != string(root) {
			return nil, lindung.Internal(nil, "sequence: the stored tree state does not reproduce the latest checkpoint; run lindung audit verify")
		}
	}

	var leafIdx, leafRec, nodeLevel, nodeIdx []int64
	var nodeHash [][]byte
	visit := func(id compact.NodeID, h []byte) {
		nodeLevel, nodeIdx, nodeHash = append(nodeLevel, int64(id.Level)), append(nodeIdx, int64(id.Index)), append(nodeHash, h)
	}
	for after := floor; ; {
		rows, err := tx.Query(ctx, `SELECT `+recordColumns+` FROM access_records a
			WHERE a.id > $1 AND NOT EXISTS (SELECT 1 FROM log_leaves l WHERE l.record_id = a.id)
			ORDER BY a.id LIMIT $2`, after, sequenceBatch)
		if err != nil {
			return nil, mapError(err, "sequence: read records")
		}
		n := 0
		for rows.Next() {
			id, leaf, insertHash, err := scanRecord(rows)
			if err != nil {
				rows.Close()
				return nil, mapError(err, "sequence: read record")
			}
			h := leaf.Hash()
			if insertHash != nil {
				if string(insertHash) != string(h) {
					res.Changed = append(res.Changed, id)
				}
				h = insertHash
			}
			leafIdx, leafRec = append(leafIdx, int64(r.End())), append(leafRec, id)
			if err := r.Append(h, visit); err != nil {
				rows.Close()
				return nil, err
			}
			after, maxRecord, n = id, max(maxRecord, id), n+1
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, mapError(err, "sequence: read records")
		}
		if n < sequenceBatch {
			break
		}
	}
	if len(leafIdx) == 0 {
		return res, tx.Commit(ctx)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO log_leaves (leaf_index, record_id) SELECT * FROM unnest($1::bigint[], $2::bigint[])`,
		leafIdx, leafRec); err != nil {
		return nil, mapError(err, "sequence: store leaves")
	}
	if _, err := tx.Exec(ctx, `INSERT INTO log_nodes (level, node_index, hash)
		SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`, nodeLevel, nodeIdx, nodeHash); err != nil {
		return nil, mapError(err, "sequence: store nodes")
	}
	root, err = r.GetRootHash(nil)
	if err != nil {
		return nil, err
	}
	c := translog.Checkpoint{Origin: key.Signer.Name(), Size: r.End(), Root: root}
	signed, err := translog.Sign(c, key.Signer)
	if err != nil {
		return nil, lindung.Internal(err, "sequence: sign checkpoint")
	}
	cp := &lindung.AuditCheckpoint{Origin: c.Origin, TreeSize: int64(c.Size), RootHash: root, Note: string(signed)}
	if err := tx.QueryRow(ctx, `INSERT INTO log_checkpoints (tree_size, root_hash, max_record_id, note) VALUES ($1, $2, $3, $4)
		RETURNING created_at`, cp.TreeSize, root, maxRecord, cp.Note).Scan(&cp.PublishedAt); err != nil {
		return nil, mapError(err, "sequence: store checkpoint")
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, mapError(err, "sequence: commit")
	}
	res.Sequenced, res.Checkpoint = len(leafIdx), cp
	return res, nil
}

// loadRange returns the compact range of the tree's first size leaves, from the stored perfect subtrees
// that cover them.
func loadRange(ctx context.Context, q querier, size uint64) (*compact.Range, error) {
	ids := compact.RangeNodes(0, size, nil)
	hashes, err := nodeHashes(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	return translog.Ranges.NewRange(0, size, hashes)
}

// nodeHashes reads stored node hashes, aligned to ids; a missing node is an internal error (the tree
// state is incomplete).
func nodeHashes(ctx context.Context, q querier, ids []compact.NodeID) ([][]byte, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	levels, idx := make([]int64, len(ids)), make([]int64, len(ids))
	for i, id := range ids {
		levels[i], idx[i] = int64(id.Level), int64(id.Index)
	}
	rows, err := q.Query(ctx, `SELECT t.i, n.hash FROM unnest($1::smallint[], $2::bigint[]) WITH ORDINALITY AS t(l, x, i)
		JOIN log_nodes n ON n.level = t.l AND n.node_index = t.x`, levels, idx)
	if err != nil {
		return nil, mapError(err, "read log nodes")
	}
	out := make([][]byte, len(ids))
	for rows.Next() {
		var i int64
		var h []byte
		if err := rows.Scan(&i, &h); err != nil {
			rows.Close()
			return nil, mapError(err, "read log nodes")
		}
		out[i-1] = h
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(err, "read log nodes")
	}
	for i, h := range out {
		if h == nil {
			return nil, lindung.Internal(nil, fmt.Sprintf("the log's tree state lacks node %d/%d", ids[i].Level, ids[i].Index))
		}
	}
	return out, nil
}

// FindAuditEntries returns the victim's access records as log entries, oldest first. The victim must be
// visible to the request, exactly as for FindDisclosures: the entries of any other victim do not exist.
func (s *Session) FindAuditEntries(ctx context.Context, victimID string) ([]*lindung.AuditEntry, error) {
	if len(validUUIDs([]string{victimID})) == 0 {
		return nil, lindung.ErrNotFound
	}
	var out []*lindung.AuditEntry
	err := s.query(ctx, func(tx querier) error {
		if err := s.requireVisible(ctx, tx, victimID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+recordColumns+`, l.leaf_index
			FROM access_records a LEFT JOIN log_leaves l ON l.record_id = a.id
			WHERE a.victim_id = $1::uuid ORDER BY a.id`, victimID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*lindung.AuditEntry, error) {
			e := &lindung.AuditEntry{}
			var l translog.Leaf
			var insertHash []byte
			err := r.Scan(&e.RecordID, &l.At, &l.RequestID, &l.UserID, &l.Username, &l.PartnerID, &l.Roles, &l.Purpose,
				&l.VictimID, &l.Disclosed, &l.Withheld, &l.PolicyVersion, &l.OperationName, &insertHash, &e.LeafIndex)
			if err != nil {
				return nil, err
			}
			e.Leaf = l.Encode()
			e.LeafHash = translog.HashLeaf(e.Leaf)
			e.Record = lindung.AccessRecord{At: l.At, Accessor: lindung.Accessor{RequestID: l.RequestID,
				UserID: l.UserID, Username: l.Username, PartnerID: l.PartnerID, Roles: l.Roles,
				Purpose: lindung.Purpose(l.Purpose), PolicyVersion: l.PolicyVersion, OperationName: l.OperationName},
				VictimAccess: lindung.VictimAccess{VictimID: l.VictimID}}
			if e.Record.Disclosed, err = lindung.ParseCategorySet(l.Disclosed); err != nil {
				return nil, err
			}
			e.Record.Withheld, err = lindung.ParseCategorySet(l.Withheld)
			return e, err
		})
		return err
	})
	return out, mapError(err, "find audit entries")
}

// LatestCheckpoint returns the newest signed checkpoint, nil before the first.
func (s *Session) LatestCheckpoint(ctx context.Context) (*lindung.AuditCheckpoint, error) {
	var cp *lindung.AuditCheckpoint
	err := s.query(ctx, func(tx querier) error {
		c := &lindung.AuditCheckpoint{}
		err := tx.QueryRow(ctx, `SELECT tree_size, root_hash, note, created_at FROM log_checkpoints ORDER BY tree_size DESC LIMIT 1`).
			Scan(&c.TreeSize, &c.RootHash, &c.Note, &c.PublishedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		parsed, err := parseSignedCheckpoint(c.Note)
		if err != nil {
			return err
		}
		c.Origin, cp = parsed.Origin, c
		return nil
	})
	return cp, mapError(err, "latest checkpoint")
}

// parseSignedCheckpoint reads the body of a stored signed note (without checking its signature: the
// client does that with the log's public key).
func parseSignedCheckpoint(note string) (translog.Checkpoint, error) {
	body, _, ok := cutBlank(note)
	if !ok {
		return translog.Checkpoint{}, errors.New("stored checkpoint is not a signed note")
	}
	return translog.ParseCheckpoint(body)
}

// cutBlank splits a signed note into its text (ending in a newline) and its signature lines.
func cutBlank(note string) (string, string, bool) {
	for i := 0; i+1 < len(note); i++ {
		if note[i] == '\n' && note[i+1] == '\n' {
			return note[:i+1], note[i+2:], true
		}
	}
	return "", "", false
}

// latestSize is the size of the newest checkpoint, 0 before the first: proofs go no further.
func latestSize(ctx context.Context, tx querier) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT coalesce(max(tree_size), 0) FROM log_checkpoints`).Scan(&n)
	return n, err
}

// AuditInclusionProof returns the inclusion proof of leaf index in the tree of treeSize, which must not
// exceed the latest checkpoint (0 means the latest).
func (s *Session) AuditInclusionProof(ctx context.Context, index, treeSize int64) (*lindung.AuditProof, error) {
	var p *lindung.AuditProof
	err := s.query(ctx, func(tx querier) error {
		latest, err := latestSize(ctx, tx)
		if err != nil {
			return err
		}
		if treeSize == 0 {
			treeSize = latest
		}
		if index < 0 || treeSize <= index || treeSize > latest {
			return lindung.Errorf(lindung.EINVALID, "no inclusion proof of leaf %d in a tree of %d leaves: the latest checkpoint has %d", index, treeSize, latest)
		}
		hashes, err := translog.InclusionProof(ctx, uint64(index), uint64(treeSize), func(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
			return nodeHashes(ctx, tx, ids)
		})
		p = &lindung.AuditProof{LeafIndex: &index, TreeSize: treeSize, Hashes: hashes}
		return err
	})
	return p, mapError(err, "inclusion proof")
}

// AuditConsistencyProof returns the proof that the tree of toSize (0: the latest checkpoint's) extends
// the tree of fromSize.
func (s *Session) AuditConsistencyProof(ctx context.Context, fromSize, toSize int64) (*lindung.AuditProof, error) {
	var p *lindung.AuditProof
	err := s.query(ctx, func(tx querier) error {
		latest, err := latestSize(ctx, tx)
		if err != nil {
			return err
		}
		if toSize == 0 {
			toSize = latest
		}
		if fromSize < 1 || toSize < fromSize || toSize > latest {
			return lindung.Errorf(lindung.EINVALID, "no consistency proof from %d to %d leaves: sizes run from 1 to the latest checkpoint's %d", fromSize, toSize, latest)
		}
		hashes, err := translog.ConsistencyProof(ctx, uint64(fromSize), uint64(toSize), func(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
			return nodeHashes(ctx, tx, ids)
		})
		p = &lindung.AuditProof{FromSize: &fromSize, TreeSize: toSize, Hashes: hashes}
		return err
	})
	return p, mapError(err, "consistency proof")
}

// LatestCheckpointNote returns the newest signed checkpoint as stored, "" before the first; for the
// operator's `lindung audit checkpoint`, outside any request.
func (db *DB) LatestCheckpointNote(ctx context.Context) (string, error) {
	var note string
	err := db.Pool.QueryRow(ctx, `SELECT note FROM log_checkpoints ORDER BY tree_size DESC LIMIT 1`).Scan(&note)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return note, mapError(err, "latest checkpoint")
}
