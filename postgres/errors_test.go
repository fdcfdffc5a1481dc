package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lindung/lindung"
	"github.com/lindung/lindung/postgres"
	"github.com/lindung/lindung/postgres/pgtest"
)

// leaks are what a client-facing message must never hold: SQL, PostgreSQL's own wording, schema names.
var leaks = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "FROM", "ERROR", "SQLSTATE", "violates", "syntax",
	"partners_", "victims_", "users_", "pg_", "uuid", "$1", "postgres", "127.0.0.1", "dial", "connect:"}

func checkSafe(t *testing.T, err error) {
	t.Helper()
	msg := lindung.MessageOf(err)
	if msg == "" {
		t.Errorf("empty message for %v", err)
	}
	for _, l := range leaks {
		if strings.Contains(msg, l) {
			t.Errorf("message %q contains %q", msg, l)
		}
	}
}

// TestMapError: each PostgreSQL failure is mapped, in one place, to the code a client can act on, with a
// message that holds no SQL.
func TestMapError(t *testing.T) {
	t.Parallel()
	url := pgtest.New(t)
	db := open(t, url)
	var partner string
	mustScan(t, db, []any{&partner}, `INSERT INTO partners (slug, name, type, state) VALUES ('taken', 'Taken', 'NGO', 'JOHOR') RETURNING id::text`)
	mustExec(t, db, `INSERT INTO partners (slug, name, type, state) VALUES ('ops', 'Operator', 'OPERATOR', 'JOHOR')`)
	// asOperator runs sql in a request transaction of the operator's partner, the only one that registers
	// partners and shelters (migration 023), and returns pgx's raw error.
	asOperator := func(sql string) error {
		s := db.NewSession(postgres.SessionRequest{PartnerSlug: "ops",
			Scope: lindung.Scope{Rows: lindung.ScopeNone, Purpose: lindung.PurposeCaseManagement}})
		if _, err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer s.Rollback(ctx)
		return s.ExecForTest(ctx, sql)
	}

	closed, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	refused, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:1/lindung?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer refused.Close()
	canceled, cancel := context.WithCancel(ctx)
	cancel()

	for _, tc := range []struct {
		name    string
		run     func() error
		want    lindung.ErrorCode
		subject string // a word the message should hold, naming the rule
	}{
		{"unique violation", func() error {
			return asOperator(`INSERT INTO partners (slug, name, type, state) VALUES ('taken', 'Again', 'NGO', 'JOHOR')`)
		}, lindung.ECONFLICT, "slug"},
		{"foreign key violation", func() error {
			return asOperator(`INSERT INTO shelters (name, operator_partner_id, state, category, order_type, capacity)
				VALUES ('S', gen_random_uuid(), 'JOHOR', 'WOMEN', 'IPO', 1)`)
		}, lindung.EINVALID, ""},
		{"check violation", func() error {
			return asOperator(`INSERT INTO partners (slug, name, type, state) VALUES ('Not A Slug', 'X', 'NGO', 'JOHOR')`)
		}, lindung.EINVALID, "slug"},
		{"not null violation", func() error {
			return asOperator(`INSERT INTO partners (slug, type, state) VALUES ('noname', 'NGO', 'JOHOR')`)
		}, lindung.EINVALID, "name"},
		{"bad enum value", func() error {
			_, err := db.Pool.Exec(ctx, `SELECT 'MARTIAN'::partner_type`)
			return err
		}, lindung.EINVALID, ""},
		{"no rows", func() error {
			var x int
			return db.Pool.QueryRow(ctx, `SELECT 1 WHERE false`).Scan(&x)
		}, lindung.ENOTFOUND, ""},
		{"canceled context", func() error {
			_, err := db.Pool.Exec(canceled, `SELECT 1`)
			return err
		}, lindung.EUNAVAILABLE, ""},
		{"deadline during a query", func() error {
			c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			_, err := db.Pool.Exec(c, `SELECT pg_sleep(5)`)
			return err
		}, lindung.EUNAVAILABLE, ""},
		{"statement timeout", func() error {
			return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 20`); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `SELECT pg_sleep(5)`)
				return err
			})
		}, lindung.EUNAVAILABLE, ""},
		{"closed pool", func() error {
			_, err := closed.Exec(ctx, `SELECT 1`)
			return err
		}, lindung.EUNAVAILABLE, ""},
		{"connection refused", func() error {
			_, err := refused.Exec(ctx, `SELECT 1`)
			return err
		}, lindung.EUNAVAILABLE, ""},
		{"serialization failure", raise(db, "40001"), lindung.ECONFLICT, ""},
		{"deadlock", raise(db, "40P01"), lindung.ECONFLICT, ""},
		{"server shutting down", raise(db, "57P01"), lindung.EUNAVAILABLE, ""},
		{"too many connections", raise(db, "53300"), lindung.EUNAVAILABLE, ""},
		{"disk full", raise(db, "53100"), lindung.EUNAVAILABLE, ""},
		{"out of memory", raise(db, "53200"), lindung.EUNAVAILABLE, ""},
		{"i/o error", raise(db, "58030"), lindung.EUNAVAILABLE, ""},
		{"read-only transaction", raise(db, "25006"), lindung.EUNAVAILABLE, ""},
		{"insufficient privilege", raise(db, "42501"), lindung.EFORBIDDEN, ""},
		{"anything else", raise(db, "XX000"), lindung.EINTERNAL, ""},
		{"a plain Go error", func() error { return errors.New("SELECT secret FROM victims") }, lindung.EINTERNAL, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.run()
			if raw == nil {
				t.Fatal("no error")
			}
			err := postgres.MapError(raw, "test")
			if code := lindung.CodeOf(err); code != tc.want {
				t.Errorf("%v mapped to %s, want %s", raw, code, tc.want)
			}
			checkSafe(t, err)
			if tc.subject != "" && !strings.Contains(lindung.MessageOf(err), tc.subject) {
				t.Errorf("message %q does not name %q", lindung.MessageOf(err), tc.subject)
			}
			if tc.want != lindung.ENOTFOUND && !errors.Is(err, raw) {
				t.Errorf("the cause is not kept for the log")
			}
		})
	}
	if postgres.MapError(nil, "x") != nil {
		t.Error("nil is not an error")
	}
	if e := lindung.Invalid("f", "bad"); postgres.MapError(e, "x") != e {
		t.Error("a domain error is not passed through as it is")
	}
}

// raise returns a statement failing with the given SQLSTATE, for the codes a test cannot easily provoke.
func raise(db *postgres.DB, code string) func() error {
	return func() error {
		_, err := db.Pool.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'SELECT boom FROM victims' USING ERRCODE = '`+code+`'; END $$`)
		return err
	}
}

// TestStoreErrors: the store's own methods return mapped errors, and a failed session start on a
// database that is down is UNAVAILABLE.
func TestStoreErrors(t *testing.T) {
	t.Parallel()
	f := openDemo(t)
	for _, tc := range []struct {
		name string
		run  func(s *postgres.Session) error
		want lindung.ErrorCode
		as   scopeCase // the protection officer's when zero
	}{
		{"duplicate partner slug", func(s *postgres.Session) error {
			return s.CreatePartner(ctx, &lindung.Partner{Slug: "pdrm", Name: "Again", Type: lindung.PartnerGovernment, State: "JOHOR"})
		}, lindung.ECONFLICT, operatorCase},
		{"unknown state", func(s *postgres.Session) error {
			return s.CreatePartner(ctx, &lindung.Partner{Slug: "new-one", Name: "New", Type: lindung.PartnerGovernment, State: "ATLANTIS"})
		}, lindung.EINVALID, operatorCase},
		{"user of an unknown partner", func(s *postgres.Session) error {
			return s.CreateUser(ctx, &lindung.User{PartnerID: "00000000-0000-4000-8000-000000000000", Username: "x", Roles: []string{"r"}})
		}, lindung.EINVALID, operatorCase},
		{"duplicate username", func(s *postgres.Session) error {
			return s.CreateUser(ctx, &lindung.User{PartnerID: f.partners["pdrm"].ID, Username: f.ds.Users[0].Username, Roles: []string{"r"}})
		}, lindung.ECONFLICT, operatorCase},
		{"shelter with no capacity", func(s *postgres.Session) error {
			return s.CreateShelter(ctx, &lindung.Shelter{Name: "S", OperatorPartnerID: f.partners["kpwkm"].ID, State: "JOHOR",
				Category: "WOMEN", OrderType: "IPO", Capacity: 0})
		}, lindung.EINVALID, operatorCase},
		{"duplicate case ref", func(s *postgres.Session) error {
			return s.CreateVictim(ctx, &lindung.Victim{CaseRef: f.ds.Victims[0].CaseRef, TraffickingStatus: "PRESUMED"})
		}, lindung.ECONFLICT, scopeCase{}},
		{"malformed case ref", func(s *postgres.Session) error {
			return s.CreateVictim(ctx, &lindung.Victim{CaseRef: "case 1", TraffickingStatus: "PRESUMED"})
		}, lindung.EINVALID, scopeCase{}},
		{"unknown trafficking status", func(s *postgres.Session) error {
			return s.CreateVictim(ctx, &lindung.Victim{CaseRef: "KP-2026-900001", TraffickingStatus: "MAYBE"})
		}, lindung.EINVALID, scopeCase{}},
		{"canceled request", func(s *postgres.Session) error {
			c, cancel := context.WithCancel(ctx)
			cancel()
			_, err := s.FindVictims(c, lindung.VictimFilter{}, lindung.Page{First: 5})
			return err
		}, lindung.EUNAVAILABLE, scopeCase{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := tc.as
			if sc.slug == "" {
				sc = scopeCases[1]
			}
			s := session(t, f.db, sc)
			err := tc.run(s)
			if lindung.CodeOf(err) != tc.want {
				t.Fatalf("%v, want %s", err, tc.want)
			}
			checkSafe(t, err)
		})
	}

	t.Run("database down", func(t *testing.T) {
		down, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:1/lindung?sslmode=disable&connect_timeout=2")
		if err != nil {
			t.Fatal(err)
		}
		defer down.Close()
		s := (&postgres.DB{Pool: down}).NewSession(postgres.SessionRequest{PartnerSlug: "kpwkm"})
		if _, err := s.Start(ctx); lindung.CodeOf(err) != lindung.EUNAVAILABLE {
			t.Errorf("start on a database that is down: %v, want UNAVAILABLE", err)
		} else {
			checkSafe(t, err)
		}
		closed := open(t, pgtest.New(t))
		closed.Close()
		s = closed.NewSession(postgres.SessionRequest{PartnerSlug: "kpwkm"})
		if _, err := s.Start(ctx); lindung.CodeOf(err) != lindung.EUNAVAILABLE {
			t.Errorf("start on a closed pool: %v, want UNAVAILABLE", err)
		}
	})
}
