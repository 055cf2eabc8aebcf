package auth

import (
	"math"
	"sync"
	"time"
)

// RateLimiter allows each key (a user) Limit events per Window, as a token
// bucket: a full bucket of Limit that refills continuously, so a user may
// burst up to Limit submissions and then one per Window/Limit. It is safe
// for concurrent use.
type RateLimiter struct {
	limit  float64
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the memory of the limiter: past it, buckets that have
// refilled are dropped (a full bucket is the same as none).
const maxBuckets = 10000

// NewRateLimiter returns a limiter of limit events per window; a nil now is
// time.Now.
func NewRateLimiter(limit int, window time.Duration, now func() time.Time) *RateLimiter {
	if now == nil {
		now = time.Now
	}
	return &RateLimiter{limit: float64(limit), window: window, now: now, buckets: map[string]*bucket{}}
}

// Allow takes one event for key. When none is left it returns false and how
// long until there is one.
func (l *RateLimiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	rate := l.limit / l.window.Seconds() // tokens per second
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.prune(now, rate)
		}
		b = &bucket{tokens: l.limit, at: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.at).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.limit, b.tokens+elapsed*rate)
	}
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
	return false, wait
}

func (l *RateLimiter) prune(now time.Time, rate float64) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*rate >= l.limit {
			delete(l.buckets, k)
		}
	}
}
