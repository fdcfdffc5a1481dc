package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// RecordPolicyVersion notes that the hub starts with a policy version: it records the version's text the
// first time, and moves its last start and counts the start every time. The hub calls it before it
// serves, so that every version an access record names is in policy_versions. It runs as the runtime
// login, like a request, so that it needs no more than lindung_app is granted.
func (db *DB) RecordPolicyVersion(ctx context.Context, version, model, rules string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer rollbackTx(ctx, tx)
	var gotModel, gotRules string
	err = tx.QueryRow(ctx, `INSERT INTO policy_versions AS v (version, model, rules) VALUES ($1, $2, $3)
		ON CONFLICT (version) DO UPDATE SET last_started_at = greatest(v.last_started_at, now()), starts = v.starts + 1
		RETURNING v.model, v.rules`, version, model, rules).Scan(&gotModel, &gotRules)
	if err != nil {
		return mapError(err, "record policy version")
	}
	if gotModel != model || gotRules != rules {
		// The version is a hash of the text: another text under it means the table was tampered with.
		return lindung.Internal(fmt.Errorf("policy version %s is recorded with other rules", version), "record policy version")
	}
	return mapError(tx.Commit(ctx), "record policy version")
}

// FindPolicyVersions returns the policy versions the hub has run with, oldest first.
func (s *Session) FindPolicyVersions(ctx context.Context) ([]*lindung.PolicyVersion, error) {
	var out []*lindung.PolicyVersion
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `SELECT version, first_started_at, last_started_at, starts, model, rules
			FROM policy_versions ORDER BY first_started_at, version`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*lindung.PolicyVersion, error) {
			v := &lindung.PolicyVersion{}
			err := r.Scan(&v.Version, &v.FirstStartedAt, &v.LastStartedAt, &v.Starts, &v.Model, &v.Rules)
			return v, err
		})
		return err
	})
	return out, mapError(err, "find policy versions")
}
