package demo

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"time"

	"github.com/lindung/lindung"
)

const day = 24 * time.Hour

// gen holds the state of one generation. Two random streams keep the ids of partners, users and the base
// shelters independent of the size asked for.
type gen struct {
	fixed *rand.Rand
	r     *rand.Rand
	today time.Time
	ds    *lindung.Dataset

	partner    map[string]*lindung.Partner // by slug
	officer    *lindung.User               // the trained protection officer, who records consents
	confirmer  *lindung.User               // the second officer of the agency, who confirms consents (four eyes)
	shelterOf  map[bucket][]*lindung.Shelter
	people     []*person
	households []*household
	seq        map[string]int // order numbers issued, per order type
}

// uuid returns a version 4 UUID drawn from r.
func uuid(r *rand.Rand) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], r.Uint64())
	binary.BigEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

func (g *gen) id() string { return uuid(g.r) }

// w is a weighted choice.
type w[T any] struct {
	v T
	n int
}

// pick returns one of the choices, with probability proportional to its weight.
func pick[T any](r *rand.Rand, choices []w[T]) T {
	total := 0
	for _, c := range choices {
		total += c.n
	}
	x := r.IntN(total)
	for _, c := range choices {
		if x < c.n {
			return c.v
		}
		x -= c.n
	}
	return choices[len(choices)-1].v
}

// one returns a uniformly chosen element of s.
func one[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// chance reports true with probability p.
func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// between returns a whole number in [lo, hi].
func (g *gen) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + g.r.IntN(hi-lo+1)
}

// daysAgo returns the date n days before today (n < 0: after today).
func (g *gen) daysAgo(n int) time.Time { return g.today.Add(-time.Duration(n) * day) }

// since returns the whole days from d to today.
func (g *gen) since(d time.Time) int { return int(g.today.Sub(d) / day) }

// stamp returns a moment during office hours in Malaysia (UTC+8) on date d, moved to yesterday if d is not
// in the past, so that no timestamp lies after the moment the demo is seeded.
func (g *gen) stamp(d time.Time) time.Time {
	if !d.Before(g.today) {
		d = g.today.Add(-day)
	}
	return d.Add(time.Hour + time.Duration(g.r.IntN(8*60))*time.Minute)
}

// within returns a moment in (from, to), or to when the interval is empty.
func (g *gen) within(from, to time.Time) time.Time {
	span := to.Sub(from)
	if span <= time.Minute {
		return to
	}
	// Whole seconds: PostgreSQL keeps microseconds, and a record should read back as it was written.
	return from.Add(time.Minute + time.Duration(g.r.Int64N(int64(span-time.Minute))).Truncate(time.Second))
}

func ptr[T any](v T) *T { return &v }

func minDate(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxDate(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
