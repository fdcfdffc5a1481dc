package main

import "testing"

// The CPU figures rest on reading /proc/<pid>/stat right, including command names with spaces and
// parentheses, which would shift the fields of a naive split.
func TestParseStat(t *testing.T) {
	for _, c := range []struct {
		name, line string
		want       uint64
		fail       bool
	}{
		{"postgres backend", "4242 (postgres) S 100 4242 4242 0 -1 4194560 1500 0 0 0 37 12 0 0 20 0 1 0 9000 1000 200", 49, false},
		{"name with spaces and parens", "7 (node (main) x) R 1 7 7 0 -1 0 0 0 0 0 1000 234 0 0 20 0 11 0 1 2 3", 1234, false},
		{"own process", "1 (peer) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0", 0, false},
		{"truncated", "1 (peer) S 0 1", 0, true},
		{"no name", "1 peer S 0 1 1 0 -1 0 0 0 0 0 5 5 0 0", 0, true},
		{"not a number", "1 (peer) S 0 1 1 0 -1 0 0 0 0 0 x 5 0 0", 0, true},
	} {
		got, err := parseStat(c.line)
		if (err != nil) != c.fail || got != c.want {
			t.Errorf("%s: got %d, %v; want %d, failure %v", c.name, got, err, c.want, c.fail)
		}
	}
	if _, err := readTicks(1); err != nil {
		t.Errorf("reading pid 1: %v", err)
	}
}

// Backends that started during a step count from zero; those seen before count only their increase.
func TestSumDelta(t *testing.T) {
	before := map[int]uint64{1: 10, 2: 20, 3: 5}
	after := map[int]uint64{1: 15, 2: 20, 4: 7}
	if got := sumDelta(before, after); got != 12 {
		t.Errorf("sumDelta = %d, want 12", got)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
