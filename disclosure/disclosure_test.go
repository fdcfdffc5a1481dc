package disclosure

import (
	"slices"
	"testing"
	"time"
)

// fig renders figures as counts with -1 for suppressed, for compact expectations.
func fig(fs []Figure) []int64 {
	out := make([]int64, len(fs))
	for i, f := range fs {
		if f.Suppressed {
			out[i] = -1
		} else {
			out[i] = f.Count
		}
	}
	return out
}

func TestProtect(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cells     []int64
		total     int64
		opt       Options
		want      []int64
		wantTotal int64
	}{
		{"nothing small", []int64{10, 20, 0}, 30, Options{K: 5}, []int64{10, 20, 0}, 30},
		// One small cell and a published total: 3 = 30 - 27 would be read off the margin, so the next
		// smallest cell is suppressed too.
		{"one small cell leaks through the total", []int64{3, 12, 15}, 30, Options{K: 5}, []int64{-1, -1, 15}, 30},
		// Two small cells whose sum is itself small (1 + 2 = 3 < 5): a third cell joins them.
		{"small suppressed sum", []int64{1, 2, 40, 9}, 52, Options{K: 5}, []int64{-1, -1, 40, -1}, 52},
		{"two small cells with a large sum stay two", []int64{4, 4, 40}, 48, Options{K: 5}, []int64{-1, -1, 40}, 48},
		// A zero is never a complement: it would hide nothing.
		{"zero is not a complement", []int64{0, 2, 0, 30, 8}, 40, Options{K: 5}, []int64{0, -1, 0, 30, -1}, 40},
		// A small population: everything goes, zeros too ("none of the 3 is male" is a disclosure).
		{"small total", []int64{3, 0}, 3, Options{K: 5}, []int64{-1, -1}, -1},
		{"empty", []int64{0, 0}, 0, Options{K: 5}, []int64{0, 0}, 0},
		{"k is configurable", []int64{3, 12, 15}, 30, Options{K: 13}, []int64{-1, -1, 15}, 30},
		{"k = 11 as CTDC", []int64{10, 11, 30}, 51, Options{K: 11}, []int64{-1, -1, 30}, 51},
		{"k = 1 suppresses nothing", []int64{1, 2}, 3, Options{K: 1}, []int64{1, 2}, 3},
		// Multi-valued: one cell holds everyone, another is small; no other non-zero cell can hide it, so
		// the total goes.
		{"no complement left", []int64{30, 2}, 30, Options{K: 5}, []int64{-1, -1}, 30},
		{"rounding to base 5", []int64{12, 18, 3}, 33, Options{K: 5, Base: 5}, []int64{-1, 20, -1}, 35},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, tot := Protect(tc.cells, tc.total, tc.opt)
			if !slices.Equal(fig(got), tc.want) || fig([]Figure{tot})[0] != tc.wantTotal {
				t.Errorf("Protect(%v, %d, %+v) = %v, total %v; want %v, total %d",
					tc.cells, tc.total, tc.opt, fig(got), fig([]Figure{tot}), tc.want, tc.wantTotal)
			}
		})
	}
}

// TestNoCellRecoverable checks the guarantee itself over many breakdowns: whatever the counts, for every
// breakdown whose cells add up to its total, either nothing is suppressed, or the total is suppressed, or
// at least two cells are and the part of the total they hold (what a reader can compute) is at least k, so
// no suppressed cell can be recovered from the total and the published cells.
func TestNoCellRecoverable(t *testing.T) {
	opt := Options{K: 5}
	var walk func(prefix []int64)
	checked := 0
	walk = func(prefix []int64) {
		if len(prefix) == 4 {
			var total int64
			for _, c := range prefix {
				total += c
			}
			figs, tot := Protect(prefix, total, opt)
			checked++
			if tot.Suppressed {
				return
			}
			n, hidden := 0, total
			for i, f := range figs {
				if f.Suppressed {
					n++
				} else {
					hidden -= f.Count
				}
				if !f.Suppressed && prefix[i] > 0 && prefix[i] < 5 {
					t.Fatalf("%v: small cell %d published", prefix, i)
				}
			}
			if n == 1 || (n > 1 && hidden < int64(opt.K)) {
				t.Fatalf("%v: %v leaks (%d suppressed holding %d)", prefix, fig(figs), n, hidden)
			}
			return
		}
		for c := int64(0); c <= 12; c++ {
			walk(append(prefix, c))
		}
	}
	walk(nil)
	if checked != 13*13*13*13 {
		t.Fatalf("checked %d breakdowns", checked)
	}
}

// TestSharedTotal: two breakdowns of the same population (gender and status, say) share the total. Each
// keeps its own suppression sound, so knowing the total from one does not open the other.
func TestSharedTotal(t *testing.T) {
	opt := Options{K: 5}
	gender, gt := Protect([]int64{2, 38}, 40, opt) // 2 males: unprotectable within the breakdown
	status, st := Protect([]int64{1, 20, 19}, 40, opt)
	if gt.Suppressed || st.Suppressed || gt.Count != st.Count {
		t.Fatalf("the shared total is published once for both: %v %v", gt, st)
	}
	if !slices.Equal(fig(gender), []int64{-1, -1}) {
		t.Errorf("gender = %v: a single suppressed cell would be the total minus the other", fig(gender))
	}
	if !slices.Equal(fig(status), []int64{-1, 20, -1}) {
		t.Errorf("status = %v", fig(status))
	}
}

func TestHidden(t *testing.T) {
	// By state: Sabah 3 (primary), Labuan 6 (complement), Selangor 40.
	cells := []int64{3, 6, 40}
	for i, want := range []bool{true, true, false} {
		if got := Hidden(cells, 49, i, Options{K: 5}); got != want {
			t.Errorf("Hidden(%d) = %v, want %v", i, got, want)
		}
	}
}

func TestRound(t *testing.T) {
	for _, tc := range [][3]int64{{0, 5, 0}, {2, 5, 0}, {3, 5, 5}, {12, 5, 10}, {13, 5, 15}, {13, 1, 13}, {13, 0, 13}} {
		if got := Round(tc[0], int(tc[1])); got != tc[2] {
			t.Errorf("Round(%d, %d) = %d, want %d", tc[0], tc[1], got, tc[2])
		}
	}
	if (Options{K: 5, Base: 10}).Valid() || !(Options{K: 11, Base: 5}).Valid() {
		t.Error("Valid: the base may not exceed k")
	}
}

// TestDefaultsRound: rounding is on unless configured off, and never above k.
func TestDefaultsRound(t *testing.T) {
	for _, tc := range []struct{ in, want Options }{
		{Options{}, Options{K: DefaultK, Base: DefaultBase}},
		{Options{K: 11}, Options{K: 11, Base: DefaultBase}},
		{Options{K: 3}, Options{K: 3, Base: 3}},
		{Options{K: 5, Base: 1}, Options{K: 5, Base: 1}},
		{Options{K: 11, Base: 10}, Options{K: 11, Base: 10}},
	} {
		if got := tc.in.Defaults(); got != tc.want || !got.Valid() {
			t.Errorf("%+v.Defaults() = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// TestSnapPeriod: periods that differ by less than a month snap to the same whole months.
func TestSnapPeriod(t *testing.T) {
	day := func(s string) *time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return &d
	}
	for _, tc := range []struct{ from, to, wantFrom, wantTo string }{
		{"2026-03-10", "2026-11-30", "2026-03-01", "2026-11-30"},
		{"2026-03-11", "2026-11-29", "2026-03-01", "2026-11-30"},
		{"2024-02-29", "2024-02-29", "2024-02-01", "2024-02-29"},
		{"2026-12-31", "2026-12-01", "2026-12-01", "2026-12-31"},
	} {
		f, to := SnapPeriod(day(tc.from), day(tc.to))
		if f.Format(time.DateOnly) != tc.wantFrom || to.Format(time.DateOnly) != tc.wantTo {
			t.Errorf("SnapPeriod(%s, %s) = %s, %s; want %s, %s", tc.from, tc.to, f.Format(time.DateOnly),
				to.Format(time.DateOnly), tc.wantFrom, tc.wantTo)
		}
	}
	if f, to := SnapPeriod(nil, nil); f != nil || to != nil {
		t.Error("open bounds must stay open")
	}
}
