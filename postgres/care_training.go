package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// RecordTraining records that the user with username completed a version of the protection-officer
// training module; recording the same version again replaces the dates. It fills in t's user id.
func (s *Session) RecordTraining(ctx context.Context, username string, t *lindung.TrainingCompletion) error {
	err := s.query(ctx, func(tx querier) error {
		return tx.QueryRow(ctx, `INSERT INTO training_completions (user_id, module_version, completed_on, expires_on)
			SELECT u.id, @module, @completed, @expires FROM users u WHERE u.username = @username
			ON CONFLICT (user_id, module_version) DO UPDATE SET completed_on = EXCLUDED.completed_on,
				expires_on = EXCLUDED.expires_on
			RETURNING user_id::text`,
			pgx.NamedArgs{"username": username, "module": t.ModuleVersion, "completed": t.CompletedOn, "expires": t.ExpiresOn}).
			Scan(&t.UserID)
	})
	if err == pgx.ErrNoRows {
		return lindung.Invalid("username", "no user has the username %q", username)
	}
	return mapError(err, "record training")
}
