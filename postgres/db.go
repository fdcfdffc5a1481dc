// Package postgres is Lindung's store: it owns every SQL statement and the embedded migrations, and maps
// PostgreSQL's errors to the domain's. It never decides who may see what; it is told the scope of each
// request and writes it into its SQL, while row-level security (migrations/002_security.sql) enforces the
// same scope a second time inside the database.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultURL is the database used when DATABASE_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/lindung?sslmode=disable"

// DB is a pool of connections to Lindung's database.
type DB struct {
	Pool *pgxpool.Pool
	// acquireTimeout bounds a request's wait for a free connection (Options.AcquireTimeout).
	acquireTimeout time.Duration
}

// Options tune how the store connects.
type Options struct {
	// Tracer, when set, sees every query; tests use it to count round trips.
	Tracer pgx.QueryTracer
	// MaxConns caps the pool; 0 keeps pgxpool's default.
	MaxConns int32
	// AcquireTimeout bounds how long a request waits for a free connection of the pool before it is
	// refused with UNAVAILABLE ("the hub is busy"); 0 takes DefaultAcquireTimeout. Without it a request
	// of a saturated pool would wait its whole deadline, and clients would see a hang, not an answer.
	AcquireTimeout time.Duration
	// MigrateURL, when set, is the owner login through which Open creates the database and applies
	// pending migrations before it connects (LINDUNG_MIGRATE_DATABASE_URL).
	MigrateURL string
}

// DefaultAcquireTimeout is the default of Options.AcquireTimeout. New connections are bounded by the
// same time (unless DATABASE_URL sets connect_timeout), so a database that drops packets is refused
// as quickly as one that refuses connections.
const DefaultAcquireTimeout = 5 * time.Second

// serverSettings are the PostgreSQL settings every connection of the hub's pools starts with, unless the
// database URL sets them (Open says why).
var serverSettings = map[string]string{"plan_cache_mode": "force_generic_plan", "jit": "off"}

// Open connects to the database at databaseURL, the hub's runtime login (DATABASE_URL). When
// opt.MigrateURL is set, it first creates the database if it does not exist and applies pending migrations
// through that login, the owner's (LINDUNG_MIGRATE_DATABASE_URL); otherwise the schema must already be
// current, and Open says to run `lindung migrate` when it is not. Open does not judge the login: serve
// calls CheckLogin, and tests and administrative commands connect as whoever they need to be.
func Open(ctx context.Context, databaseURL string, opt Options) (*DB, error) {
	if opt.MigrateURL != "" {
		if err := Migrate(ctx, opt.MigrateURL); err != nil {
			return nil, err
		}
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if opt.Tracer != nil {
		cfg.ConnConfig.Tracer = opt.Tracer
	}
	cfg.AfterConnect = registerEnums
	// Every statement is prepared once per connection; a generic plan is then planned once too. Left to
	// choose, PostgreSQL kept planning the request's statements again on every execution (a custom plan
	// per parameter value), which cost as much as running them. JIT compilation is off: the hub's statements read a page, a victim or a batch, and compiling one
	// costs tens of milliseconds every time its estimate crosses jit_above_cost (a count over 100,000
	// visible victims is just under it; the statistics functions crossed it before migration 016 and
	// spent 30 ms to a second compiling on every call). Where a client's URL sets either, it wins.
	for param, value := range serverSettings {
		if _, set := cfg.ConnConfig.RuntimeParams[param]; !set {
			cfg.ConnConfig.RuntimeParams[param] = value
		}
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	if opt.AcquireTimeout <= 0 {
		opt.AcquireTimeout = DefaultAcquireTimeout
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = opt.AcquireTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	db := &DB{Pool: pool, acquireTimeout: opt.AcquireTimeout}
	if err := db.schemaCurrent(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Migrate creates the database named in ownerURL if it does not exist and applies the pending
// migrations through that login, which then owns every table and function: the owner login of docs/operating.md's
// Operating Lindung, never the one the hub serves through.
func Migrate(ctx context.Context, ownerURL string) error {
	if err := CreateDatabase(ctx, ownerURL); err != nil {
		return err
	}
	cfg, err := pgxpool.ParseConfig(ownerURL)
	if err != nil {
		return fmt.Errorf("migration database URL: %w", err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to database to migrate: %w", err)
	}
	defer pool.Close()
	return (&DB{Pool: pool}).Migrate(ctx)
}

// schemaCurrent refuses a database whose schema is behind this binary's migrations.
func (db *DB) schemaCurrent(ctx context.Context) error {
	var applied int
	err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		return errors.New("the database has no schema yet: run `lindung migrate` with LINDUNG_MIGRATE_DATABASE_URL (the owner login), or give serve LINDUNG_MIGRATE_DATABASE_URL")
	}
	if err != nil {
		return fmt.Errorf("read the schema version: %w", err)
	}
	if want := len(migrations()); applied < want {
		return fmt.Errorf("%d of %d migrations applied: run `lindung migrate` with LINDUNG_MIGRATE_DATABASE_URL (the owner login), or give serve LINDUNG_MIGRATE_DATABASE_URL", applied, want)
	}
	return nil
}

// Close closes every connection of the pool, waiting for those in use to be returned.
func (db *DB) Close() { db.Pool.Close() }

// Ping reports whether the database answers and every migration is applied, for /readyz.
func (db *DB) Ping(ctx context.Context) error {
	var applied int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		return fmt.Errorf("database not reachable: %w", err)
	}
	if want := len(migrations()); applied < want {
		return fmt.Errorf("%d of %d migrations applied", applied, want)
	}
	// A database that answers reads but refuses writes (a standby after a failover, or one set read-only
	// by its administrator, as when the disk filled) cannot serve a hub that audits every request.
	var readOnly bool
	if err := db.Pool.QueryRow(ctx, `SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'`).Scan(&readOnly); err != nil {
		return fmt.Errorf("database not reachable: %w", err)
	}
	if readOnly {
		return errors.New("the database refuses writes (a standby, or default_transaction_read_only is on)")
	}
	return nil
}

// CreateDatabase creates the database named in databaseURL if it does not exist, connecting to the
// server's "postgres" database to do so. Two processes racing to create it both succeed.
func CreateDatabase(ctx context.Context, databaseURL string) error {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || name == "postgres" {
		return nil
	}
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return fmt.Errorf("connect to database server: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
		return nil // created by a concurrent process
	}
	if err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// enumTypes are the schema's enumerations, registered with each connection so that pgx can write them
// (and arrays of them) in COPY and binary parameters.
var enumTypes = []string{"partner_type", "malaysian_state", "data_category", "purpose", "gender", "age_band",
	"trafficking_status", "exploitation_type", "sector", "means_of_control", "shelter_category", "order_type",
	"service_code", "service_status", "referral_status", "consent_method", "grantor_relation",
	"eligibility_decision", "case_link_role", "family_relationship"}

// registerEnums registers the enum types, and arrays of them, with a new connection. It reads the types'
// OIDs with one plain catalog query and builds the codecs itself: pgx's LoadTypes answers the same question
// with a recursive query that took 120-160 ms for these 40 names, paid by every new connection of the pool.
// Each connection gets codecs of its own, since an EnumCodec caches strings and is not safe to share.
func registerEnums(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `SELECT t.typname, t.oid, t.typarray FROM pg_type t
		WHERE t.typname = ANY($1) AND t.typtype = 'e' AND t.typnamespace = current_schema()::regnamespace`, enumTypes)
	if err != nil {
		return err
	}
	defer rows.Close()
	m := conn.TypeMap()
	for rows.Next() {
		// Before the first migration there are no rows; Migrate resets the pool after applying it.
		var name string
		var oid, arrayOID uint32
		if err := rows.Scan(&name, &oid, &arrayOID); err != nil {
			return err
		}
		enum := &pgtype.Type{Name: name, OID: oid, Codec: &pgtype.EnumCodec{}}
		m.RegisterType(enum)
		m.RegisterType(&pgtype.Type{Name: "_" + name, OID: arrayOID, Codec: &pgtype.ArrayCodec{ElementType: enum}})
	}
	return rows.Err()
}
