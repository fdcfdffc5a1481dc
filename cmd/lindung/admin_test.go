package main

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lindung/lindung/postgres/pgtest"
)

// changeLine is a change-log line as the test reads it.
type changeLine struct {
	RequestID, Username, Partner, Entity, RecordID, Action string
	Fields                                                 []string
}

// TestAdminCommandsLogChanges: init and directory apply write change-log lines like the operator's
// GraphQL mutations do, naming the command and who ran it (--actor, else the operating-system user) with
// the operator partner; a dry run writes none, and neither does an apply that changes nothing.
func TestAdminCommandsLogChanges(t *testing.T) {
	dbURL := pgtest.New(t)
	dir := t.TempDir()
	bin := build(t, dir)
	env := append(os.Environ(), "LINDUNG_MIGRATE_DATABASE_URL="+pgtest.OwnerURL(dbURL), "DATABASE_URL="+dbURL)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pgtest.SuperuserURL(dbURL))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	changes := func() []changeLine {
		t.Helper()
		rows, err := admin.Query(ctx, `SELECT c.request_id, c.username, p.slug, c.entity, c.record_id, c.action, c.fields
			FROM change_records c JOIN partners p ON p.id = c.partner_id ORDER BY c.id`)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (changeLine, error) {
			var c changeLine
			return c, r.Scan(&c.RequestID, &c.Username, &c.Partner, &c.Entity, &c.RecordID, &c.Action, &c.Fields)
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	if out, ok := run(t, bin, env, "init", "--user", "admin@operator", "--actor", "alice"); !ok {
		t.Fatalf("init: %s", out)
	}
	got := changes()
	if len(got) != 2 || got[0].Entity != "partner" || got[1].Entity != "user" || got[0].RequestID != got[1].RequestID {
		t.Fatalf("init's change log: %+v", got)
	}
	for _, c := range got {
		if c.Username != "cli:init:alice" || c.Partner != "operator" || c.Action != "registered" || c.RecordID == "" || len(c.Fields) == 0 {
			t.Errorf("init's change: %+v", c)
		}
	}

	file := filepath.Join(dir, "directory.yaml")
	os.WriteFile(file, []byte(`partners:
  - slug: ngo-a
    name: NGO A
    type: NGO
    state: SABAH
users:
  - username: a@ngo-a
    partner: ngo-a
    roles: [ngo_caseworker]
    training:
      - module: "2026.1"
        completed: 2026-01-15
`), 0o600)
	if out, ok := run(t, bin, env, "directory", "apply", "--dry-run", file); !ok || !strings.Contains(out, "dry run: 3 changes, none made") {
		t.Fatalf("dry run: %s", out)
	}
	if n := len(changes()); n != 2 {
		t.Fatalf("a dry run wrote %d change-log lines", n-2)
	}
	if out, ok := run(t, bin, env, "directory", "apply", file); !ok || !strings.Contains(out, "3 changes applied") {
		t.Fatalf("apply: %s", out)
	}
	osUser := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		osUser = u.Username
	}
	got = changes()[2:]
	var what []string
	for _, c := range got {
		what = append(what, c.Entity+" "+c.Action)
		if c.Username != "cli:directory:"+osUser || c.Partner != "operator" || c.RequestID != got[0].RequestID || c.RecordID == "" {
			t.Errorf("directory's change: %+v", c)
		}
	}
	if want := []string{"partner registered", "user registered", "trainingCompletion recorded"}; !slices.Equal(what, want) {
		t.Errorf("directory's changes %v, want %v", what, want)
	}

	// Roles changed by the file are logged as setUserRoles logs them; an unchanged file logs nothing.
	os.WriteFile(file, []byte("users:\n  - username: a@ngo-a\n    partner: ngo-a\n    roles: [ministry_analyst]\n"), 0o600)
	if out, ok := run(t, bin, env, "directory", "apply", "--actor", "bob", file); !ok {
		t.Fatalf("apply roles: %s", out)
	}
	if out, ok := run(t, bin, env, "directory", "apply", "--actor", "bob", file); !ok || !strings.Contains(out, "nothing changed") {
		t.Fatalf("apply again: %s", out)
	}
	got = changes()[5:]
	if len(got) != 1 || got[0].Username != "cli:directory:bob" || got[0].Entity != "user" || got[0].Action != "roles set" || !slices.Equal(got[0].Fields, []string{"roles"}) {
		t.Errorf("the roles change's log: %+v", got)
	}
}
