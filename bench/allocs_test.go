package bench

import (
	"encoding/json"
	"math"
	"os"
	"runtime"
	"testing"
)

// allocsBaseline is the committed baseline of allocations per request of the reference operations. Update
// it deliberately, when a change earns it: LINDUNG_UPDATE_ALLOCS=1 go test -run AllocationsPerRequest ./bench
const allocsBaseline = "testdata/allocs.json"

// allocsTolerance is how far a measurement may stray from the baseline, either way. A drop beyond it
// also fails, so that the baseline is lowered when a change earns it and later growth is caught.
const allocsTolerance = 0.02

// TestAllocationsPerRequest: allocations per request for the reference operations, served in-process by
// the hub with the policy on, stay within 2 % of the committed baseline.
func TestAllocationsPerRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("measures allocations over many requests")
	}
	hub, _, token, id := setupHandwritten(t)
	ops := []struct {
		name  string
		query string
		vars  map[string]any
	}{
		{"one-victim", handOne, map[string]any{"id": id}},
		{"100-victims", handList, nil},
		{"one-victim-nested", oneVictim, map[string]any{"id": id}},
		{"100-victims-nested", hundredVictims, nil},
	}
	got := map[string]float64{}
	for _, op := range ops {
		for range 5 { // warm the query cache, the statement cache and the pool
			post(t, hub.handler, token, op.query, op.vars)
		}
		const n = 40
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range n {
			post(t, hub.handler, token, op.query, op.vars)
		}
		runtime.ReadMemStats(&after)
		got[op.name] = math.Round(float64(after.Mallocs-before.Mallocs) / n)
	}
	if os.Getenv("LINDUNG_UPDATE_ALLOCS") != "" {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(allocsBaseline, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("baseline written: %v", got)
		return
	}
	raw, err := os.ReadFile(allocsBaseline)
	if err != nil {
		t.Fatalf("no baseline (%v): run with LINDUNG_UPDATE_ALLOCS=1 to write one", err)
	}
	var want map[string]float64
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	for name, g := range got {
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: no baseline", name)
			continue
		}
		if ratio := g / w; math.Abs(ratio-1) > allocsTolerance {
			t.Errorf("%s: %.0f allocations per request, baseline %.0f (%.1f%%): update %s deliberately if the change earns it",
				name, g, w, (ratio-1)*100, allocsBaseline)
		} else {
			t.Logf("%s: %.0f allocations per request, baseline %.0f", name, g, w)
		}
	}
}
