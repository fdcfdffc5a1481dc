// Package pgtest gives tests a fresh PostgreSQL database of their own, cloned from a template that is
// migrated (and, for NewDemo, seeded) once per machine and day, so each test starts from a known state
// in a fraction of a second.
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

// Today is the day the demo template is generated for; tests that reason about dates use it.
func Today() time.Time { return time.Now().UTC().Truncate(24 * time.Hour) }

// New returns the URL of a new, migrated, empty database, dropped when the test ends.
func New(t testing.TB) string { return clone(t, "empty") }

// NewDemo returns the URL of a new database holding the demo data set (DemoSize victims, generated for
// Today), dropped when the test ends.
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
	tmpl, err := template(ctx, admin, kind)
	if err != nil {
		t.Fatalf("template database: %v", err)
	}
	name := "lindung_test_" + randomHex(6)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tmpl); err != nil {
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
	return withDB(name)
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
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return "", err
	}
	db, err := postgres.Open(ctx, withDB(building), postgres.Options{})
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

func migrationsHash() string {
	h := sha256.New()
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
