package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// QueryForTest runs sql inside the session's transaction, as the runtime login with the session's scope, and
// returns the first column of every row as text. It exists so that tests can run a deliberately unscoped
// query and see that row-level security, the second wall, still holds.
func (s *Session) QueryForTest(ctx context.Context, sql string, args ...any) ([]string, error) {
	var out []string
	err := s.query(ctx, func(tx querier) error {
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
	return s.query(ctx, func(tx querier) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
}

// RollbackTx exposes rollbackTx, which ends the hub's own transactions, to the silent-database test.
var RollbackTx = rollbackTx

// MapError exposes mapError to the tests of the error mapping.
var MapError = mapError

// RecordAccessForTest writes a's access records in the session's transaction and leaves it open, for the
// tests that need records not yet committed (the sequencer's, the rollback's); a request writes them
// with CommitWithAccess.
func (s *Session) RecordAccessForTest(ctx context.Context, a *lindung.RequestAccess) error {
	sql, args := accessInsert(a)
	return mapError(s.query(ctx, func(tx querier) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	}), "record access")
}

// RecordAccessBeforeLog writes access records as the hub did before the transparency log: no time from
// the hub and no leaf hash, every column sent as an array of one value per record. It exists only as the
// baseline of BenchmarkRecordAccess.
func (s *Session) RecordAccessBeforeLog(ctx context.Context, a *lindung.RequestAccess) error {
	n := len(a.Victims)
	requestIDs, userIDs, usernames, partnerIDs, roles := make([]string, n), make([]*string, n), make([]string, n), make([]string, n), make([]string, n)
	purposes, victimIDs, disclosed, withheld, versions, ops := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i := range a.Victims {
		r := a.Record(i)
		requestIDs[i], usernames[i], partnerIDs[i], roles[i] = r.RequestID, r.Username, r.PartnerID, strings.Join(r.Roles, ",")
		if r.UserID != "" {
			userIDs[i] = &r.UserID
		}
		purposes[i], victimIDs[i], versions[i], ops[i] = string(r.Purpose), r.VictimID, r.PolicyVersion, r.OperationName
		disclosed[i], withheld[i] = strings.Join(r.Disclosed.Names(), ","), strings.Join(r.Withheld.Names(), ",")
	}
	return s.query(ctx, func(tx querier) error {
		_, err := tx.Exec(ctx, `INSERT INTO access_records (request_id, user_id, username, partner_id, roles,
			purpose, victim_id, disclosed, withheld, policy_version, operation_name)
			SELECT r, u, n, p::uuid, string_to_array(ro, ','), pu::purpose, v::uuid,
				string_to_array(d, ',')::data_category[], string_to_array(w, ',')::data_category[], pv, op
			FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
				$8::text[], $9::text[], $10::text[], $11::text[]) AS t(r, u, n, p, ro, pu, v, d, w, pv, op)`,
			requestIDs, userIDs, usernames, partnerIDs, roles, purposes, victimIDs, disclosed, withheld, versions, ops)
		return err
	})
}
