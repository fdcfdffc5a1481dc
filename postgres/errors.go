package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/lindung/lindung"
)

// mapError turns a pgx error into the domain's, in this one place. Constraint violations become INVALID
// or CONFLICT with a message naming the rule, never the SQL; a lost connection becomes UNAVAILABLE.
func mapError(err error, context_ string) error {
	if err == nil {
		return nil
	}
	var de *lindung.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return lindung.ErrNotFound
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &lindung.Error{Code: lindung.EUNAVAILABLE, Message: "the request took too long and was stopped", Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return &lindung.Error{Code: lindung.ECONFLICT, Message: "a record with the same " + constraintSubject(pgErr) + " already exists", Err: err}
		case "23503": // foreign_key_violation
			return &lindung.Error{Code: lindung.EINVALID, Message: "a referenced record does not exist", Err: err}
		case "23514", "23502", "22P02", "22007", "22008", "22001", "22021", "22P05": // check, not null, bad text, dates, too long, bad characters (NUL)
			return &lindung.Error{Code: lindung.EINVALID, Message: "the input breaks a rule of the record (" + constraintSubject(pgErr) + ")", Err: err}
		case "42501": // insufficient_privilege, row-level security included
			return &lindung.Error{Code: lindung.EFORBIDDEN, Message: "not allowed", Err: err}
		case "40001", "40P01": // serialization failure, deadlock
			return &lindung.Error{Code: lindung.ECONFLICT, Message: "the record changed concurrently; retry", Err: err}
		case "57014": // query_canceled: statement_timeout, or the cancel request pgx sends when ctx ends
			return &lindung.Error{Code: lindung.EUNAVAILABLE, Message: "the request took too long and was stopped", Err: err}
		case "57P01", "57P02", "57P03", "53300": // shutdown, cannot connect now, too many connections
			return &lindung.Error{Code: lindung.EUNAVAILABLE, Message: "the database is unavailable; retry shortly", Err: err}
		case "25006": // read_only_sql_transaction: a standby, or a database set read-only
			return &lindung.Error{Code: lindung.EUNAVAILABLE, Message: "the database is not accepting changes right now; retry shortly", Err: err}
		}
		// Insufficient resources (53: disk full, out of memory) and system errors (58: I/O) fail a write
		// through no fault of the request: the client may retry, as when the database is down.
		if class := pgErr.Code[:2]; class == "53" || class == "58" {
			return &lindung.Error{Code: lindung.EUNAVAILABLE, Message: "the database cannot store changes right now; retry shortly", Err: err}
		}
		return lindung.Internal(err, context_)
	}
	// A pool that is closed (the server shutting down) is as unavailable as a database that is down.
	if pgconn.SafeToRetry(err) || errors.Is(err, pgx.ErrTxClosed) || errors.Is(err, puddle.ErrClosedPool) {
		return &lindung.Error{Code: lindung.EUNAVAILABLE, Message: "the database is unavailable; retry shortly", Err: err}
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return &lindung.Error{Code: lindung.EUNAVAILABLE, Message: "the database is unavailable; retry shortly", Err: err}
	}
	return lindung.Internal(err, context_)
}

// constraintSubject names the violated constraint in words a partner's developer can act on, without
// exposing the schema: the constraint's name with the table prefix and suffix removed.
func constraintSubject(e *pgconn.PgError) string {
	if e.ColumnName != "" {
		return e.ColumnName
	}
	name := e.ConstraintName
	if e.TableName != "" {
		name = strings.TrimPrefix(name, e.TableName+"_")
	}
	for _, suffix := range []string{"_key", "_check", "_fkey", "_pkey", "_excl"} {
		name = strings.TrimSuffix(name, suffix)
	}
	// A table-level check PostgreSQL named after the table alone ("consents_check1") says nothing more.
	if name == "" || name == e.ConstraintName || strings.HasPrefix(name, "check") || name == "pkey" {
		return "fields"
	}
	return strings.ReplaceAll(name, "_", " ")
}
