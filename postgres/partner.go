package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung"
)

const partnerColumns = `p.id::text, p.slug, p.name, p.type::text, p.state::text, p.created_at, p.suspended_at IS NOT NULL`

func scanPartner(r pgx.CollectableRow) (*lindung.Partner, error) {
	p := &lindung.Partner{}
	return p, r.Scan(&p.ID, &p.Slug, &p.Name, &p.Type, &p.State, &p.CreatedAt, &p.Suspended)
}

const userColumns = `u.id::text, u.partner_id::text, u.username, u.display_name, u.roles, u.created_at, u.disabled_at IS NOT NULL`

func scanUser(r pgx.CollectableRow) (*lindung.User, error) {
	u := &lindung.User{}
	return u, r.Scan(&u.ID, &u.PartnerID, &u.Username, &u.DisplayName, &u.Roles, &u.CreatedAt, &u.Disabled)
}

// updateOne runs an UPDATE ... RETURNING of one row and scans it; a missing row is ErrNotFound.
func updateOne[T any](ctx context.Context, s *Session, what, sql string, args pgx.NamedArgs, scan pgx.RowToFunc[*T]) (*T, error) {
	var out *T
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, sql, args)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scan)
		return err
	})
	return out, mapError(err, what)
}

// SetUserDisabled disables the user with username (keeping the first time of a repeated disable) or
// enables them again.
func (s *Session) SetUserDisabled(ctx context.Context, username string, disabled bool) (*lindung.User, error) {
	return updateOne(ctx, s, "set user disabled", `UPDATE users u
		SET disabled_at = CASE WHEN @disabled THEN coalesce(u.disabled_at, now()) END
		WHERE u.username = @username RETURNING `+userColumns,
		pgx.NamedArgs{"username": username, "disabled": disabled}, scanUser)
}

// SetUserRoles replaces the roles of the user with username.
func (s *Session) SetUserRoles(ctx context.Context, username string, roles []string) (*lindung.User, error) {
	return updateOne(ctx, s, "set user roles", `UPDATE users u SET roles = @roles
		WHERE u.username = @username RETURNING `+userColumns,
		pgx.NamedArgs{"username": username, "roles": roles}, scanUser)
}

// SetPartnerSuspended suspends the partner with slug (keeping the first time of a repeated suspension) or
// reinstates it.
func (s *Session) SetPartnerSuspended(ctx context.Context, slug string, suspended bool) (*lindung.Partner, error) {
	return updateOne(ctx, s, "set partner suspended", `UPDATE partners p
		SET suspended_at = CASE WHEN @suspended THEN coalesce(p.suspended_at, now()) END
		WHERE p.slug = @slug RETURNING `+partnerColumns,
		pgx.NamedArgs{"slug": slug, "suspended": suspended}, scanPartner)
}

// FindPartnersByIDs returns the partners with the given ids, aligned to ids, nil for missing.
func (s *Session) FindPartnersByIDs(ctx context.Context, ids []string) ([]*lindung.Partner, error) {
	return findByIDs(ctx, s, ids, `SELECT `+partnerColumns+` FROM partners p WHERE p.id = ANY(@ids::uuid[])`,
		scanPartner, func(p *lindung.Partner) string { return p.ID })
}

// FindPartners returns the partners, of one type when the filter names one.
func (s *Session) FindPartners(ctx context.Context, f lindung.PartnerFilter) ([]*lindung.Partner, error) {
	var out []*lindung.Partner
	err := s.query(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `SELECT `+partnerColumns+` FROM partners p
			WHERE $1::partner_type IS NULL OR p.type = $1::partner_type ORDER BY p.slug`, f.Type)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanPartner)
		return err
	})
	return out, mapError(err, "find partners")
}

// CreatePartner registers a partner organisation and fills in its id.
func (s *Session) CreatePartner(ctx context.Context, p *lindung.Partner) error {
	err := s.query(ctx, func(tx querier) error {
		return tx.QueryRow(ctx, `INSERT INTO partners (slug, name, type, state)
			VALUES ($1, $2, $3::partner_type, $4::malaysian_state) RETURNING id::text, created_at`,
			p.Slug, p.Name, string(p.Type), p.State).Scan(&p.ID, &p.CreatedAt)
	})
	return mapError(err, "create partner")
}

// CreateUser registers a user of a partner and fills in its id.
func (s *Session) CreateUser(ctx context.Context, u *lindung.User) error {
	err := s.query(ctx, func(tx querier) error {
		return tx.QueryRow(ctx, `INSERT INTO users (partner_id, username, display_name, roles)
			VALUES ($1::uuid, $2, $3, $4) RETURNING id::text, created_at`,
			u.PartnerID, u.Username, u.DisplayName, u.Roles).Scan(&u.ID, &u.CreatedAt)
	})
	return mapError(err, "create user")
}
