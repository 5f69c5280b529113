package smtpd

import (
	"sync"
	"time"
)

// limiter is a token bucket per key (an API key id): each holds up to
// perMinute tokens, refills at perMinute a minute, and a message takes one.
// It lives in memory, so on several nodes each node counts on its own: the
// limit is per node, and a client spreading its connections over n nodes
// gets up to n times the rate. A zero perMinute means no limit.
type limiter struct {
	perMinute float64
	clock     func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// pruneAbove is the number of buckets beyond which full ones (idle keys)
// are dropped; a full bucket is the same as no bucket.
const pruneAbove = 4096

func newLimiter(perMinute int, clock func() time.Time) *limiter {
	return &limiter{perMinute: float64(perMinute), clock: clock, buckets: map[string]*bucket{}}
}

// allow takes a token for key, reporting false when none is left.
func (l *limiter) allow(key string) bool {
	if l.perMinute <= 0 {
		return true
	}
	now := l.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= pruneAbove {
			l.prune(now)
		}
		b = &bucket{tokens: l.perMinute, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.perMinute, b.tokens+now.Sub(b.last).Minutes()*l.perMinute)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Minutes()*l.perMinute >= l.perMinute {
			delete(l.buckets, k)
		}
	}
}
