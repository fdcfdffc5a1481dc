package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

// Administer runs fn in one transaction outside any caller's scope, for the operator's commands that
// work through the owner login (`lindung init`, `lindung directory apply`): the partner, user and
// training operations of the GraphQL API run on the session fn gets. The transaction commits when fn
// succeeds and commit is true; otherwise nothing fn did remains, which is how a dry run changes nothing.
func (db *DB) Administer(ctx context.Context, commit bool, fn func(*Session) error) error {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return mapError(err, "begin administration")
	}
	tx := &requestTx{conn}
	if _, err := tx.Exec(ctx, "BEGIN"); err != nil {
		tx.Release()
		return mapError(err, "begin administration")
	}
	s := &Session{db: db, tx: tx}
	defer s.Rollback(ctx)
	if err := fn(s); err != nil {
		return err
	}
	if !commit {
		return nil
	}
	return s.Commit(ctx)
}

// FindUsers returns every registered user with their partner's slug, ordered by username.
func (s *Session) FindUsers(ctx context.Context) ([]*lindung.DirectoryUser, error) {
	var out []*lindung.DirectoryUser
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `SELECT `+userColumns+`, p.slug FROM users u JOIN partners p ON p.id = u.partner_id
			ORDER BY u.username`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*lindung.DirectoryUser, error) {
			u := &lindung.DirectoryUser{}
			return u, r.Scan(&u.ID, &u.PartnerID, &u.Username, &u.DisplayName, &u.Roles, &u.CreatedAt, &u.Disabled, &u.PartnerSlug)
		})
		return err
	})
	return out, mapError(err, "find users")
}

// FindTraining returns every recorded training completion with its user's name.
func (s *Session) FindTraining(ctx context.Context) ([]*lindung.TrainingCompletion, error) {
	var out []*lindung.TrainingCompletion
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `SELECT t.user_id::text, u.username, t.module_version, t.completed_on, t.expires_on
			FROM training_completions t JOIN users u ON u.id = t.user_id ORDER BY u.username, t.module_version`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*lindung.TrainingCompletion, error) {
			t := &lindung.TrainingCompletion{}
			return t, r.Scan(&t.UserID, &t.Username, &t.ModuleVersion, &t.CompletedOn, &t.ExpiresOn)
		})
		return err
	})
	return out, mapError(err, "find training")
}

// UpdatePartner sets the name and state of the partner with slug. Its type is not changed here: a
// partner's type decides what consent granted to a type discloses to it, so a new type is a new partner.
func (s *Session) UpdatePartner(ctx context.Context, slug, name, state string) (*lindung.Partner, error) {
	return updateOne(ctx, s, "update partner", `UPDATE partners p SET name = @name, state = @state::malaysian_state
		WHERE p.slug = @slug RETURNING `+partnerColumns,
		pgx.NamedArgs{"slug": slug, "name": name, "state": state}, scanPartner)
}

// SetUserDisplayName sets the display name of the user with username.
func (s *Session) SetUserDisplayName(ctx context.Context, username, displayName string) (*lindung.User, error) {
	return updateOne(ctx, s, "set user display name", `UPDATE users u SET display_name = @name
		WHERE u.username = @username RETURNING `+userColumns,
		pgx.NamedArgs{"username": username, "name": displayName}, scanUser)
}
