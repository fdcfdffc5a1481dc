package pgtest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestDropStaleTemplates: templates of an earlier day go, today's stay.
func TestDropStaleTemplates(t *testing.T) {
	New(t) // makes sure today's empty template exists, and that a server answers
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, serverURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	stale := "lindung_tmpl_empty_0000000000_20000101"
	admin.Exec(ctx, "DROP DATABASE IF EXISTS "+stale)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+stale+" IS_TEMPLATE true"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(ctx, "ALTER DATABASE "+stale+" WITH IS_TEMPLATE false")
		admin.Exec(ctx, "DROP DATABASE IF EXISTS "+stale)
	})
	dropStaleTemplates(ctx, admin, "empty")
	exists := func(name string) bool {
		var ok bool
		admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok)
		return ok
	}
	if exists(stale) {
		t.Error("a template of an earlier day was kept")
	}
	today, err := template(ctx, admin, "empty")
	if err != nil || !exists(today) {
		t.Errorf("today's template %s is gone: %v", today, err)
	}
}

// TestLogins: New hands out the runtime login (no superuser, no BYPASSRLS, a member of lindung_app, owning
// nothing), OwnerURL the login that owns the tables, SuperuserURL the administrative superuser, all three on
// the same database.
func TestLogins(t *testing.T) {
	url := New(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, url, want string
	}{
		{"runtime", url, "f f t 0"},
		{"owner", OwnerURL(url), "f t f 1"},
		{"superuser", SuperuserURL(url), "t t f 0"},
	} {
		c, err := pgx.Connect(ctx, tc.url)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got, db string
		err = c.QueryRow(ctx, `SELECT concat_ws(' ', r.rolsuper::text, r.rolbypassrls::text,
				(pg_has_role(current_user, 'lindung_app', 'USAGE') AND NOT r.rolsuper)::text,
				(SELECT count(*) FROM pg_tables WHERE tablename = 'victims' AND tableowner = current_user)),
			current_database()
			FROM pg_roles r WHERE r.rolname = current_user`).Scan(&got, &db)
		c.Close(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := strings.NewReplacer("t", "true", "f", "false").Replace(tc.want)
		if got != want || !strings.Contains(tc.url, "/"+db+"?") && !strings.HasSuffix(tc.url, "/"+db) {
			t.Errorf("%s: %s on %s, want %s", tc.name, got, db, want)
		}
	}
}
