package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// querier is what the store's statements run on: a request's transaction (requestTx), or a transaction
// pgx began for the hub's own work (the sequencer, policy versions).
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// requestTx is a request's transaction on the pooled connection it holds from its start to its end.
//
// pgx's own transaction sends BEGIN and COMMIT in round trips of their own. A request's BEGIN travels
// instead in one pipeline with its first statement (beginRequest), and its COMMIT in one pipeline with its
// last, the access records (Session.CommitWithAccess): a page of victims takes three round trips, not
// five. The statements are the same and run in the same order; only their messages share a network
// exchange, which at a millisecond between the hub and the database saves two milliseconds a request.
type requestTx struct {
	*pgxpool.Conn // Exec, Query and QueryRow for the statements, SendBatch for the pipelines
}

// beginRequest takes a connection and begins a transaction on it with the statements of b, in one round
// trip; scan reads the row of b's last statement (those before it set the transaction up and return
// nothing read). The pool's acquire timeout bounds the wait for the connection only: once the request holds
// one it runs under ctx, as a request that waits on a lock must (BEGIN itself never waits). When a
// statement fails, or scan does, the transaction is rolled back and the error returned.
func (db *DB) beginRequest(ctx context.Context, b *pgx.Batch, scan func(pgx.Row) error) (*requestTx, error) {
	conn, err := db.acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx := &requestTx{conn}
	b.QueuedQueries = append([]*pgx.QueuedQuery{{SQL: "BEGIN"}}, b.QueuedQueries...)
	br := conn.SendBatch(ctx, b)
	for range b.Len() - 1 {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if err == nil {
		err = scan(br.QueryRow())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tx.rollback(ctx)
		return nil, err
	}
	return tx, nil
}

// commit sends the batch followed by COMMIT, in one round trip, and gives the connection back. A
// statement of the batch that fails leaves the transaction aborted: PostgreSQL skips the rest of the
// pipeline, COMMIT included, and the transaction is rolled back. The error is ErrTxCommitRollback when
// COMMIT ran but rolled back (an earlier statement of the request had failed).
func (tx *requestTx) commit(ctx context.Context, b *pgx.Batch) error {
	b.Queue("COMMIT")
	br := tx.SendBatch(ctx, b)
	var tag pgconn.CommandTag
	var err error
	for range b.Len() {
		if tag, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag.String() != "COMMIT" {
		err = pgx.ErrTxCommitRollback
	}
	if err != nil {
		tx.rollback(ctx)
		return err
	}
	tx.Release()
	return nil
}

// rollbackTimeout bounds a request's ROLLBACK. It runs even when the request's context has ended, so
// that no transaction is left open, but a database that stopped answering (a network partition) must
// not hold the request, and its HTTP handler, until the operating system gives up on the connection,
// which takes minutes. A healthy database rolls back in well under a millisecond.
const rollbackTimeout = 5 * time.Second

// rollbackTx abandons a transaction pgx began for the hub's own work (the sequencer, policy versions,
// retention, the audit's verification), bounded as a request's ROLLBACK is: it runs when ctx has ended, but
// a database that stopped answering does not hold the sequencer's turn, or a command, for minutes.
func rollbackTx(ctx context.Context, tx pgx.Tx) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	tx.Rollback(rctx)
}

// rollback abandons the transaction and gives the connection back. A connection left in a transaction
// (the ROLLBACK failed with it or ran out of time) is closed by the pool rather than reused. The server
// rolls the transaction back when the close reaches it or, where the network lost it, once the
// transaction has sat idle past the bound the request set at its start (idleTimeout).
func (tx *requestTx) rollback(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	tx.Exec(rctx, "ROLLBACK")
	tx.Release()
}
