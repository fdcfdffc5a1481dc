package pgtest

import (
	"context"
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
