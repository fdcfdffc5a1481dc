package postgres_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// schemaState is what a migration run leaves behind: applied versions and the shape of the schema.
const schemaState = `SELECT (SELECT string_agg(version || ' ' || name || ' ' || applied_at, ';' ORDER BY version) FROM schema_migrations)
	|| '|' || (SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace)
	|| '|' || (SELECT count(*) FROM pg_policies WHERE schemaname = 'public')
	|| '|' || (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal)
	|| '|' || (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace)
	|| '|' || (SELECT count(*) FROM services)`

// TestMigrateTwiceIsANoOp: migrating a migrated database, or opening it again, changes nothing.
func TestMigrateTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	url := pgtest.New(t)
	db := open(t, url)
	var before, after string
	mustScan(t, db, []any{&before}, schemaState)
	if err := postgres.Migrate(ctx, pgtest.OwnerURL(url)); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	again := open(t, url)
	mustScan(t, db, []any{&after}, schemaState)
	if after != before {
		t.Errorf("schema changed:\n%s\n%s", before, after)
	}
	var n int
	mustScan(t, again, []any{&n}, `SELECT count(*) FROM schema_migrations`)
	if n != len(postgres.MigrationSQL()) {
		t.Errorf("%d migrations recorded, want %d", n, len(postgres.MigrationSQL()))
	}
}

// newDatabaseName returns the URL of a database that does not exist yet, dropped at the end of the test.
func newDatabaseName(t *testing.T, suffix string) (url, name string) {
	t.Helper()
	base := pgtest.SuperuserURL(pgtest.New(t)) // also skips the test when there is no server
	b := make([]byte, 6)
	rand.Read(b)
	name = "lindung_test_" + hex.EncodeToString(b) + suffix
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, otherDB(t, base, "postgres"))
		if err != nil {
			return
		}
		defer c.Close(ctx)
		c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	return otherDB(t, base, name), name
}

func databaseExists(t *testing.T, url, name string) bool {
	t.Helper()
	c, err := pgx.Connect(ctx, otherDB(t, url, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var ok bool
	if err := c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestConcurrentOpenOfANewDatabase: replicas starting together on a database that does not exist yet all
// come up, and the migrations are applied once.
func TestConcurrentOpenOfANewDatabase(t *testing.T) {
	t.Parallel()
	url, _ := newDatabaseName(t, "")
	const replicas = 4
	dbs := make([]*postgres.DB, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			dbs[i], errs[i] = postgres.Open(ctx, url, postgres.Options{MaxConns: 2, MigrateURL: url})
		}()
	}
	close(start)
	wg.Wait()
	for i := range replicas {
		if errs[i] != nil {
			t.Errorf("replica %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(dbs[i].Close)
		if err := dbs[i].Ping(ctx); err != nil {
			t.Errorf("replica %d ping: %v", i, err)
		}
	}
	if t.Failed() {
		return
	}
	var n, distinct int
	if err := dbs[0].Pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if want := len(postgres.MigrationSQL()); n != want || distinct != want {
		t.Errorf("schema_migrations holds %d rows (%d versions), want %d", n, distinct, want)
	}
	// Every replica's connections know the enum types the migrations created (COPY needs them).
	for i, db := range dbs {
		c, err := db.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"trafficking_status", "_exploitation_type", "_data_category", "family_relationship"} {
			if _, ok := c.Conn().TypeMap().TypeForName(name); !ok {
				t.Errorf("replica %d: a pooled connection does not know %s", i, name)
			}
		}
		c.Release()
	}
}

// TestCreateDatabase: a missing database is created; one that exists, or is being created by someone
// else at the same moment, is fine.
func TestCreateDatabase(t *testing.T) {
	t.Parallel()
	url, name := newDatabaseName(t, "_Mixed-Case")
	if databaseExists(t, url, name) {
		t.Fatal("exists before")
	}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = postgres.CreateDatabase(ctx, url) }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("creator %d: %v", i, err)
		}
	}
	if !databaseExists(t, url, name) {
		t.Fatal("not created")
	}
	if err := postgres.CreateDatabase(ctx, url); err != nil {
		t.Errorf("existing database: %v", err)
	}
	if err := postgres.CreateDatabase(ctx, otherDB(t, url, "postgres")); err != nil {
		t.Errorf("the server's own database: %v", err)
	}
	if err := postgres.CreateDatabase(ctx, "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"); err == nil {
		t.Error("no error for a server that is down")
	}
}

// TestPing: readiness needs every migration applied, not just a database that answers.
func TestPing(t *testing.T) {
	t.Parallel()
	url, _ := newDatabaseName(t, "")
	if err := postgres.CreateDatabase(ctx, url); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	db := &postgres.DB{Pool: pool}
	defer db.Close()
	if err := db.Ping(ctx); err == nil {
		t.Error("ping before migrating succeeded")
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("ping after migrating: %v", err)
	}
	if _, err := db.Pool.Exec(ctx, `DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d of %d", len(postgres.MigrationSQL())-1, len(postgres.MigrationSQL()))
	if err := db.Ping(ctx); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ping with a migration missing: %v, want %q", err, want)
	}
	db.Close()
	if err := db.Ping(ctx); err == nil {
		t.Error("ping on a closed pool succeeded")
	}
}
