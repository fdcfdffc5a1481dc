// Package pgtest gives tests a fresh PostgreSQL database of their own, cloned from a template that is
// migrated (and, for NewDemo, seeded) once per machine and day, so each test starts from a known state
// in a fraction of a second.
//
// The databases have the production shape (docs/operating.md): the template is migrated and seeded
// through an owner login, and New and NewDemo return the URL of a runtime login that owns nothing, is not
// superuser, cannot bypass row security and holds its grants through lindung_app, so the whole test suite
// runs the hub as it runs in production. SuperuserURL and OwnerURL give the same database as the other two
// logins, for fixtures and for tests that act as a database administrator would.
//
// Tests skip when no server answers, except when CI=true, where a missing database is a failure. The
// server is taken from LINDUNG_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
// Only databases this package created are ever dropped.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung/demo"
	"github.com/lindung/lindung/postgres"
)

// DemoSize is the number of victims in the demo template.
const DemoSize = 500

func serverURL() string {
	if u := os.Getenv("LINDUNG_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// withDB returns the server URL with another database name.
func withDB(name string) string {
	u, _ := url.Parse(serverURL())
	u.Path = "/" + name
	return u.String()
}

// The test logins. Roles belong to the server, not to a database, so every test database shares them;
// their names say they are for tests, and the password (for servers that do not trust local logins) is
// no secret: a test server holds no one's data.
const (
	ownerRole    = "lindung_test_owner"
	runtimeRole  = "lindung_test_runtime"
	rolePassword = "lindung-test"
)

// as returns the URL of database name on the test server, logging in as role.
func as(role, name string) string {
	u, _ := url.Parse(withDB(name))
	u.User = url.UserPassword(role, rolePassword)
	return u.String()
}

// rolesSQL creates the test logins, or brings existing ones to the attributes they must have. Many test
// processes run it at once: it runs under an advisory lock (see ensureRoles), and a CREATE ROLE that loses
// a race anyway is tolerated as migration 002 tolerates it (duplicate_object, or unique_violation from the
// catalog's index). The owner needs CREATEROLE because migration 002 creates lindung_app, and BYPASSRLS
// because it loads fixtures and templates across every scope, as the owner login of a real hub does.
var rolesSQL = []string{
	`DO $$ BEGIN CREATE ROLE lindung_app NOLOGIN;
	 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
	`DO $$ BEGIN CREATE ROLE ` + ownerRole + ` LOGIN;
	 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
	`DO $$ BEGIN CREATE ROLE ` + runtimeRole + ` LOGIN;
	 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
	`ALTER ROLE ` + ownerRole + ` LOGIN NOSUPERUSER CREATEROLE BYPASSRLS NOCREATEDB PASSWORD '` + rolePassword + `'`,
	`ALTER ROLE ` + runtimeRole + ` LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE INHERIT PASSWORD '` + rolePassword + `'`,
	`GRANT lindung_app TO ` + runtimeRole,
}

// ensureRoles runs rolesSQL once per process, under a server-wide advisory lock (admin is connected to the
// same database, "postgres", in every process, and advisory locks are per database).
func ensureRoles(ctx context.Context, admin *pgx.Conn) error {
	rolesOnce.Do(func() {
		if _, rolesErr = admin.Exec(ctx, `SELECT pg_advisory_lock(hashtext('lindung_test_roles'))`); rolesErr != nil {
			return
		}
		defer admin.Exec(ctx, `SELECT pg_advisory_unlock(hashtext('lindung_test_roles'))`)
		for _, q := range rolesSQL {
			if _, rolesErr = admin.Exec(ctx, q); rolesErr != nil {
				rolesErr = fmt.Errorf("%s: %w", q, rolesErr)
				return
			}
		}
	})
	return rolesErr
}

var (
	rolesOnce sync.Once
	rolesErr  error
)

// Today is the day the demo template is generated for; tests that reason about dates use it.
func Today() time.Time { return time.Now().UTC().Truncate(24 * time.Hour) }

// New returns the URL of a new, migrated, empty database, dropped when the test ends, for the runtime login.
func New(t testing.TB) string { return clone(t, "empty") }

// NewDemo returns the URL of a new database holding the demo data set (DemoSize victims, generated for
// Today), dropped when the test ends, for the runtime login.
func NewDemo(t testing.TB) string { return clone(t, "demo") }

func clone(t testing.TB, kind string) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, serverURL())
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI: %v", err)
		}
		t.Skipf("no PostgreSQL server: %v", err)
	}
	defer admin.Close(ctx)
	if err := ensureRoles(ctx, admin); err != nil {
		t.Fatalf("test roles: %v", err)
	}
	tmpl, err := template(ctx, admin, kind)
	if err != nil {
		t.Fatalf("template database: %v", err)
	}
	name := "lindung_test_" + randomHex(6)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" OWNER "+ownerRole+" TEMPLATE "+tmpl); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), serverURL())
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return as(runtimeRole, name)
}

// template returns the name of the template database of kind, creating it under an advisory lock when
// it does not exist yet, so parallel test processes build it once. Its name carries a hash of the
// migrations and the day, so a changed schema or a new day gets a new template.
func template(ctx context.Context, admin *pgx.Conn, kind string) (string, error) {
	name := fmt.Sprintf("lindung_tmpl_%s_%s_%s", kind, migrationsHash(), Today().Format("20060102"))
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock(hashtext($1))`, name); err != nil {
		return "", err
	}
	defer admin.Exec(ctx, `SELECT pg_advisory_unlock(hashtext($1))`, name)
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_wip"
	admin.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+building+" OWNER "+ownerRole); err != nil {
		return "", err
	}
	db, err := postgres.Open(ctx, as(ownerRole, building), postgres.Options{MigrateURL: as(ownerRole, building)})
	if err != nil {
		return "", err
	}
	if kind == "demo" {
		err = db.Import(ctx, demo.Generate(DemoSize, Today()), nil)
	}
	db.Close()
	if err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+name+" WITH IS_TEMPLATE true"); err != nil {
		return "", err
	}
	dropStaleTemplates(ctx, admin, kind)
	return name, nil
}

// dropStaleTemplates drops this package's templates of kind built for an earlier day: a machine that runs
// the tests every day would otherwise keep one more pair of databases a day. Templates of today are kept,
// whatever their schema, since another test process may be cloning them.
func dropStaleTemplates(ctx context.Context, admin *pgx.Conn, kind string) {
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE datistemplate AND datname LIKE $1`,
		"lindung\\_tmpl\\_"+kind+"\\_%")
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	today := Today().Format("20060102")
	for _, n := range names {
		day := n[strings.LastIndex(n, "_")+1:]
		if len(day) != len(today) || day >= today {
			continue
		}
		ident := pgx.Identifier{n}.Sanitize()
		if _, err := admin.Exec(ctx, "ALTER DATABASE "+ident+" WITH IS_TEMPLATE false"); err == nil {
			admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
		}
	}
}

// templateShape names how templates are built, so that a change to it (such as who owns the objects, or
// that an import analyzes the tables) gets new templates even when the migrations did not change.
const templateShape = "owner " + ownerRole + "\nanalyzed after import\n"

func migrationsHash() string {
	h := sha256.New()
	h.Write([]byte(templateShape))
	for _, m := range postgres.MigrationSQL() {
		h.Write([]byte(m))
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// SuperuserURL returns the URL of the same database as the test server's administrative login (the
// superuser by default), for tests that must act as a database administrator would: tamper with
// append-only tables, disable triggers, inspect catalogs. The hub itself never connects this way.
func SuperuserURL(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return databaseURL
	}
	return withDB(strings.TrimPrefix(u.Path, "/"))
}

// RuntimeURL returns the URL of the same database as the runtime login, the one New and NewDemo return:
// for databases a test made another way, such as the target of a restore.
func RuntimeURL(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return databaseURL
	}
	return as(runtimeRole, strings.TrimPrefix(u.Path, "/"))
}

// OwnerURL returns the URL of the same database as the owner login, which migrated it and owns every table
// and function (as `lindung migrate`'s login does in production): for tests of what an owner can do that
// the runtime login cannot.
func OwnerURL(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return databaseURL
	}
	return as(ownerRole, strings.TrimPrefix(u.Path, "/"))
}
