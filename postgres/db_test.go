package postgres_test

import (
	"testing"

	"github.com/lindung/lindung/postgres/pgtest"
)

// TestServerSettings: the hub's connections plan each statement once (generic plans) and never compile
// one (no JIT), unless the database URL says otherwise, which wins.
func TestServerSettings(t *testing.T) {
	t.Parallel()
	url := pgtest.New(t)
	for _, c := range []struct {
		url           string
		planMode, jit string
	}{
		{url, "force_generic_plan", "off"},
		{url + "&jit=on&plan_cache_mode=auto", "auto", "on"},
	} {
		db := open(t, c.url)
		var planMode, jit string
		if err := db.Pool.QueryRow(ctx, `SELECT current_setting('plan_cache_mode'), current_setting('jit')`).Scan(&planMode, &jit); err != nil {
			t.Fatal(err)
		}
		if planMode != c.planMode || jit != c.jit {
			t.Errorf("%s: plan_cache_mode %s, jit %s; want %s, %s", c.url, planMode, jit, c.planMode, c.jit)
		}
	}
}
