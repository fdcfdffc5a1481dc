package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung/translog"
)

// LogSnapshot is the whole access log as one database snapshot holds it: what `lindung audit verify`
// recomputes and checks.
type LogSnapshot struct {
	// Leaves is the stored tree state, in leaf index order.
	Leaves []translog.LoggedLeaf
	// Records holds every access record by id, hashed from its columns as they are now.
	Records map[int64]translog.RecordHash
	// Checkpoints are the stored signed checkpoints, oldest first, unverified.
	Checkpoints []string
	// Now is the database's clock at the snapshot.
	Now time.Time
}

// ReadLog reads the access log from the database at databaseURL in one read-only, repeatable-read
// transaction. It applies no migration and needs no other part of the hub, so it reads a database
// restored from a pg_dump as it is. The transaction runs under the scope 'log', the only one whose
// row-level security policy shows every access record (a superuser or the owner needs none).
func ReadLog(ctx context.Context, databaseURL string) (*LogSnapshot, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer rollbackTx(ctx, tx)
	snap := &LogSnapshot{Records: map[int64]translog.RecordHash{}}
	if err := tx.QueryRow(ctx, `SELECT now(), set_config('lindung.scope', 'log', true) IS NOT NULL`).Scan(&snap.Now, new(bool)); err != nil {
		return nil, err
	}

	rows, err := tx.Query(ctx, `SELECT l.leaf_index, l.record_id, n.hash FROM log_leaves l
		LEFT JOIN log_nodes n ON n.level = 0 AND n.node_index = l.leaf_index ORDER BY l.leaf_index`)
	if err != nil {
		return nil, fmt.Errorf("read the log's leaves: %w", err)
	}
	snap.Leaves, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (translog.LoggedLeaf, error) {
		var l translog.LoggedLeaf
		var idx int64
		err := r.Scan(&idx, &l.RecordID, &l.Hash)
		l.Index = uint64(idx)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the log's leaves: %w", err)
	}

	rows, err = tx.Query(ctx, `SELECT `+recordColumns+` FROM access_records a`)
	if err != nil {
		return nil, fmt.Errorf("read the access records: %w", err)
	}
	for rows.Next() {
		id, leaf, insertHash, err := scanRecord(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the access records: %w", err)
		}
		snap.Records[id] = translog.RecordHash{ID: id, At: leaf.At, Hash: leaf.Hash(), InsertHash: insertHash}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the access records: %w", err)
	}

	rows, err = tx.Query(ctx, `SELECT note FROM log_checkpoints ORDER BY tree_size`)
	if err != nil {
		return nil, fmt.Errorf("read the checkpoints: %w", err)
	}
	snap.Checkpoints, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read the checkpoints: %w", err)
	}
	return snap, nil
}
