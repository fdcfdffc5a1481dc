package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// loginSQL describes the connected login: the attributes that would let it past row-level security or
// into another role's rights, and the objects of the schema it owns or may act as the owner of (a role
// it is a member of owns them). The database and the schema count as objects: their owner may create
// objects and change settings that the policies read.
const loginSQL = `
SELECT r.rolname, r.rolsuper, r.rolbypassrls, r.rolcreaterole,
       coalesce((SELECT array_agg(o ORDER BY o) FROM (
           SELECT 'table ' || c.relname AS o FROM pg_class c
           WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
             AND pg_has_role(r.oid, c.relowner, 'MEMBER')
           UNION ALL
           SELECT 'function ' || p.proname FROM pg_proc p
           WHERE p.pronamespace = current_schema()::regnamespace AND pg_has_role(r.oid, p.proowner, 'MEMBER')
           UNION ALL
           SELECT 'schema ' || n.nspname FROM pg_namespace n
           WHERE n.oid = current_schema()::regnamespace AND pg_has_role(r.oid, n.nspowner, 'MEMBER')
           UNION ALL
           SELECT 'database ' || d.datname FROM pg_database d
           WHERE d.datname = current_database() AND pg_has_role(r.oid, d.datdba, 'MEMBER')) owned), '{}')
FROM pg_roles r WHERE r.rolname = current_user`

// CheckLogin refuses a login the hub must not serve through: a superuser, a login that can bypass row
// security, one that can create roles (and so make itself a member of the owner), or one that owns, or
// may act as the owner of, any table, function, the schema or the database. Any of these would let one
// statement, injected or mistaken, read past row-level security, disable the audit's triggers or rewrite
// the policies. The error says what to change.
func (db *DB) CheckLogin(ctx context.Context) error {
	var name string
	var super, bypass, createRole bool
	var owned []string
	if err := db.Pool.QueryRow(ctx, loginSQL).Scan(&name, &super, &bypass, &createRole, &owned); err != nil {
		return fmt.Errorf("check the database login: %w", err)
	}
	const fix = "serve through a login that owns nothing and is NOSUPERUSER NOBYPASSRLS NOCREATEROLE, a member of lindung_app, " +
		"and migrate through LINDUNG_MIGRATE_DATABASE_URL (docs/operating.md)"
	switch {
	case super:
		return fmt.Errorf("DATABASE_URL logs in as %q, a superuser, which row-level security does not apply to: %s", name, fix)
	case bypass:
		return fmt.Errorf("DATABASE_URL logs in as %q, which can bypass row-level security (BYPASSRLS): run ALTER ROLE %s NOBYPASSRLS, or %s", name, pgx.Identifier{name}.Sanitize(), fix)
	case createRole:
		return fmt.Errorf("DATABASE_URL logs in as %q, which can create roles and grant itself the owner's (CREATEROLE): run ALTER ROLE %s NOCREATEROLE, or %s", name, pgx.Identifier{name}.Sanitize(), fix)
	case len(owned) > 0:
		shown := owned
		if len(shown) > 3 {
			shown = append(shown[:3:3], fmt.Sprintf("%d more", len(owned)-3))
		}
		return fmt.Errorf("DATABASE_URL logs in as %q, which owns (or is a member of the owner of) %s; an owner can disable the audit's triggers and row-level security: %s",
			name, strings.Join(shown, ", "), fix)
	}
	return nil
}

// CreateRuntimeLogin makes role a runtime login on the server of adminURL (a superuser's URL): a LOGIN
// that is NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE and a member of lindung_app, created with
// lindung_app when missing (two callers at once both succeed, as in migration 002) and given a fresh
// random password. It returns adminURL with role and that password as its login. It is for the demo and
// the load ladder on a local server; a real hub's logins are created by its operator (docs/deploying.md).
func CreateRuntimeLogin(ctx context.Context, adminURL, role string) (string, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	server := *u
	server.Path = "/postgres" // the hub's database may not exist yet
	conn, err := pgx.Connect(ctx, server.String())
	if err != nil {
		return "", fmt.Errorf("connect to database server: %w", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 24)
	rand.Read(b)
	password := hex.EncodeToString(b) // hex: the literal below needs no escaping
	ident := pgx.Identifier{role}.Sanitize()
	for _, q := range []string{
		`DO $$ BEGIN CREATE ROLE lindung_app NOLOGIN;
		 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
		`DO $$ BEGIN CREATE ROLE ` + ident + ` LOGIN;
		 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
		`ALTER ROLE ` + ident + ` LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE INHERIT PASSWORD '` + password + `'`,
		`GRANT lindung_app TO ` + ident,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return "", fmt.Errorf("create the runtime login %s: %w", role, err)
		}
	}
	runtime := *u
	runtime.User = url.UserPassword(role, password)
	return runtime.String(), nil
}
