package server

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/lindung/lindung"
)

// RateLimits are token buckets: each request takes a token from its user's bucket and from its partner's,
// and each eligibility check (every occurrence of EligibilityField in an operation) one from its
// partner's eligibility bucket. A bucket holds at most Burst tokens and refills at Rate tokens a second.
// A zero field takes its value from DefaultRateLimits; a negative rate turns that bucket off. The buckets
// live in the process's memory: each replica of the hub holds its own, so N replicas behind a load
// balancer admit up to N times the rate.
type RateLimits struct {
	UserRate         float64
	UserBurst        int
	PartnerRate      float64
	PartnerBurst     int
	EligibilityRate  float64
	EligibilityBurst int
}

// DefaultRateLimits let a person work through a case file as fast as GraphiQL or a partner's system
// plausibly sends (bursts of 50, 10 a second), a partner's users together five times that, and an
// employer one eligibility check a second with bursts of 20: enough for a hiring run, too slow to guess
// eligibility codes.
var DefaultRateLimits = RateLimits{UserRate: 10, UserBurst: 50, PartnerRate: 50, PartnerBurst: 250,
	EligibilityRate: 1, EligibilityBurst: 20}

func (r RateLimits) withDefaults() RateLimits {
	if r.UserRate == 0 {
		r.UserRate = DefaultRateLimits.UserRate
	}
	if r.UserBurst <= 0 {
		r.UserBurst = DefaultRateLimits.UserBurst
	}
	if r.PartnerRate == 0 {
		r.PartnerRate = DefaultRateLimits.PartnerRate
	}
	if r.PartnerBurst <= 0 {
		r.PartnerBurst = DefaultRateLimits.PartnerBurst
	}
	if r.EligibilityRate == 0 {
		r.EligibilityRate = DefaultRateLimits.EligibilityRate
	}
	if r.EligibilityBurst <= 0 {
		r.EligibilityBurst = DefaultRateLimits.EligibilityBurst
	}
	return r
}

// rateLimiter holds the buckets, keyed by kind and name, under one lock: taking from two buckets is all
// or nothing, and the work under the lock is a few float operations.
type rateLimiter struct {
	limits    RateLimits
	now       func() time.Time
	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
	rate   float64
	burst  float64
}

// level returns the bucket's tokens at now.
func (b *bucket) level(now time.Time) float64 {
	return math.Min(b.burst, b.tokens+now.Sub(b.at).Seconds()*b.rate)
}

type bucketSpec struct {
	key   string
	rate  float64
	burst int
}

func newRateLimiter(l RateLimits) *rateLimiter {
	return &rateLimiter{limits: l.withDefaults(), now: time.Now, buckets: map[string]*bucket{}}
}

// takeRequest takes one token for a request from the user's and the partner's buckets.
func (r *rateLimiter) takeRequest(partner, user string) *lindung.Error {
	return r.take(1, "requests",
		bucketSpec{"user\x00" + partner + "\x00" + user, r.limits.UserRate, r.limits.UserBurst},
		bucketSpec{"partner\x00" + partner, r.limits.PartnerRate, r.limits.PartnerBurst})
}

// takeEligibility takes n tokens, one for each eligibility check of an operation, from the partner's
// eligibility bucket. More checks than the bucket can ever hold are a limit, not a wait.
func (r *rateLimiter) takeEligibility(partner string, n int64) *lindung.Error {
	if r.limits.EligibilityRate > 0 && n > int64(r.limits.EligibilityBurst) {
		return limitError("eligibilityChecks", r.limits.EligibilityBurst,
			"the operation asks for %d eligibility checks; at most %d fit in one request", n, r.limits.EligibilityBurst)
	}
	return r.take(float64(n), "eligibility checks",
		bucketSpec{"eligibility\x00" + partner, r.limits.EligibilityRate, r.limits.EligibilityBurst})
}

// take takes n tokens from every bucket, or from none, and says when enough would be back.
func (r *rateLimiter) take(n float64, what string, specs ...bucketSpec) *lindung.Error {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweep(now)
	var wait time.Duration
	bs := make([]*bucket, 0, len(specs))
	for _, s := range specs {
		if s.rate < 0 {
			continue
		}
		b := r.buckets[s.key]
		if b == nil {
			b = &bucket{tokens: float64(s.burst), at: now, rate: s.rate, burst: float64(s.burst)}
			r.buckets[s.key] = b
		}
		if lv := b.level(now); lv < n {
			wait = max(wait, time.Duration((n-lv)/b.rate*float64(time.Second)))
		}
		bs = append(bs, b)
	}
	if wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		return &lindung.Error{Code: lindung.ERATELIMITED, Err: retryDelay(secs),
			Message: fmt.Sprintf("too many %s: retry in %d s", what, secs)}
	}
	for _, b := range bs {
		b.tokens, b.at = b.level(now)-n, now
	}
	return nil
}

// sweep forgets, once a minute, the buckets that have refilled: they hold nothing a new bucket would not,
// and memory stays bounded by the callers active in the last minute.
func (r *rateLimiter) sweep(now time.Time) {
	if now.Sub(r.lastSweep) < time.Minute {
		return
	}
	r.lastSweep = now
	for k, b := range r.buckets {
		if b.level(now) >= b.burst {
			delete(r.buckets, k)
		}
	}
}

// retryDelay is the cause of a RATE_LIMITED error: the seconds after which the request would pass, sent
// as the Retry-After header.
type retryDelay int

func (d retryDelay) Error() string { return fmt.Sprintf("retry after %d s", int(d)) }

// retryAfter returns the seconds a refused request should wait, 0 when it was not rate limited.
func retryAfter(err error) int {
	var d retryDelay
	if errors.As(err, &d) {
		return int(d)
	}
	return 0
}
