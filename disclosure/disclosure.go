// Package disclosure is statistical disclosure control for the hub's aggregate statistics: it decides which
// counts of a breakdown may be published and which must be suppressed, so that no published figure, and no
// arithmetic on published figures, tells anyone how many (1 to k-1) people fall in a small cell.
//
// The rules, applied to each breakdown (cells that add up to, or for multi-valued dimensions cover, one
// total) by Protect:
//
//  1. Primary suppression: a cell with a count from 1 to k-1 is suppressed.
//  2. Complementary suppression: a breakdown with suppressed cells has at least two, and their sum is at
//     least k, so that subtracting the published cells from the total gives neither a suppressed cell nor
//     a small sum. Complements are the smallest non-zero published cells (ties: the first in order).
//  3. A total from 1 to k-1 suppresses the whole breakdown, zeros included: with a small population even a
//     zero tells something about everyone in it (e.g. "none of the 3 is male").
//  4. Zeros are published otherwise: a zero singles no one out, and a dashboard without zeros would
//     suggest numbers where there are none. A zero is never used as a complement (it would protect nothing
//     once a reader guesses it).
//
// Differencing is further resisted by the defaults (Options.Defaults, SnapPeriod): counts are rounded to
// 5 unless configured otherwise, and periods are widened to whole months.
//
// Breakdowns of the same population share its total, so one breakdown's suppression does not weaken
// another's: each breakdown has no suppressed cell or at least two. Rounding (Options.Base) then rounds
// every published figure to a multiple of the base, independently, as a further guard against differencing
// across filters (e.g. two periods that differ by a day), which suppression alone cannot stop.
//
// The package is pure Go and knows nothing of SQL, GraphQL or the policy.
package disclosure

import "time"

// DefaultK is the threshold the hub uses when none is configured. The Counter Trafficking Data
// Collaborative (CTDC) publishes its global data set with k = 11; a deployment that publishes outside the
// ministry should configure at least that.
const DefaultK = 5

// DefaultBase is the rounding base used when none is configured (never above k). Rounding is on by default
// because suppression protects each answer but not the difference of two: totals of 500 and 499 for two
// periods a day apart give one case's whole profile, cell by cell. Rounded to 5, a difference of one case
// never shows as a difference of one, and most differences of one case vanish.
const DefaultBase = 5

// Defaults returns the options with the threshold and rounding base the hub uses where none is
// configured: K 0 takes DefaultK, Base 0 takes DefaultBase (at most K). A Base of 1 turns rounding off.
func (o Options) Defaults() Options {
	if o.K == 0 {
		o.K = DefaultK
	}
	if o.Base == 0 {
		o.Base = min(DefaultBase, max(o.K, 1))
	}
	return o
}

// SnapPeriod widens a period to whole calendar months: from the first day of from's month to the last
// day of to's. Two periods that differ by a day or a week then are the same period, and their answers
// are equal, so they cannot be differenced; only periods a month apart differ, and then by a month of
// cases, which rounding and suppression protect like any panel. A nil bound stays open.
func SnapPeriod(from, to *time.Time) (*time.Time, *time.Time) {
	if from != nil {
		f := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
		from = &f
	}
	if to != nil {
		t := time.Date(to.Year(), to.Month()+1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
		to = &t
	}
	return from, to
}

// Options configures disclosure control.
type Options struct {
	// K is the threshold: counts from 1 to K-1 are suppressed. K <= 1 suppresses nothing.
	K int
	// Base, when greater than 1, rounds every published figure to the nearest multiple of Base (halves
	// up). It must not exceed K, or a suppressed range could round to a published zero.
	Base int
}

// Figure is one count after disclosure control: the published value, or Suppressed.
type Figure struct {
	Count      int64 // the published count (rounded when Options.Base > 1); 0 when suppressed
	Suppressed bool
}

// Protect returns the publishable figures of a breakdown's cells and its total.
func Protect(cells []int64, total int64, opt Options) ([]Figure, Figure) {
	out := make([]Figure, len(cells))
	for i, c := range cells {
		out[i] = Figure{Count: c}
	}
	tot := Figure{Count: total}
	k := int64(opt.K)
	if k > 1 {
		if total > 0 && total < k {
			for i := range out {
				out[i] = Figure{Suppressed: true}
			}
			return out, Figure{Suppressed: true}
		}
		suppressed, sum := 0, int64(0)
		for i, c := range cells {
			if c > 0 && c < k {
				out[i].Suppressed = true
				suppressed++
				sum += c
			}
		}
		for suppressed > 0 && (suppressed < 2 || sum < k) {
			j := smallestPublished(cells, out)
			if j < 0 {
				// Nothing left to hide the suppressed cells behind: the total would reveal them.
				tot.Suppressed = true
				break
			}
			out[j].Suppressed = true
			suppressed++
			sum += cells[j]
		}
	}
	for i := range out {
		out[i] = publish(out[i], opt.Base)
	}
	return out, publish(tot, opt.Base)
}

// smallestPublished returns the index of the smallest non-zero cell not suppressed yet, or -1.
func smallestPublished(cells []int64, out []Figure) int {
	j := -1
	for i, c := range cells {
		if c > 0 && !out[i].Suppressed && (j < 0 || c < cells[j]) {
			j = i
		}
	}
	return j
}

// publish clears a suppressed figure's count and rounds a published one.
func publish(f Figure, base int) Figure {
	if f.Suppressed {
		return Figure{Suppressed: true}
	}
	f.Count = Round(f.Count, base)
	return f
}

// Round rounds n to the nearest multiple of base, halves up; a base of 1 or less leaves n as it is.
func Round(n int64, base int) int64 {
	if base <= 1 {
		return n
	}
	b := int64(base)
	return (n + b/2) / b * b
}

// Hidden reports whether the cell at index i of a breakdown is suppressed under opt: the hub uses it to
// keep a filtered panel consistent with the national breakdown it is a cell of (a panel filtered to one
// state has that state's cell of the by-state breakdown as its total, so if that cell is suppressed there,
// the whole filtered panel is).
func Hidden(cells []int64, total int64, i int, opt Options) bool {
	figs, tot := Protect(cells, total, opt)
	return tot.Suppressed || (i >= 0 && i < len(figs) && figs[i].Suppressed)
}

// Small reports whether a count is from 1 to k-1. A small cell of a list whose keys are not fixed in advance
// (citizenships) is folded into "OTHER" before Protect: even its key would say that someone of that kind
// exists.
func Small(n int64, opt Options) bool { return n > 0 && n < int64(opt.K) }

// Valid reports whether the options are usable: the base may not exceed the threshold.
func (o Options) Valid() bool { return o.K >= 1 && o.Base >= 0 && (o.Base <= 1 || o.Base <= o.K) }
