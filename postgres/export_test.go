package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// QueryForTest runs sql inside the session's transaction, as the runtime login with the session's scope, and
// returns the first column of every row as text. It exists so that tests can run a deliberately unscoped
// query and see that row-level security, the second wall, still holds.
func (s *Session) QueryForTest(ctx context.Context, sql string, args ...any) ([]string, error) {
	var out []string
	err := s.query(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return out, err
}

// ExecForTest runs a statement inside the session's transaction and returns pgx's raw error.
func (s *Session) ExecForTest(ctx context.Context, sql string, args ...any) error {
	return s.query(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
}

// MapError exposes mapError to the tests of the error mapping.
var MapError = mapError
