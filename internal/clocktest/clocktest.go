// Package clocktest is the settable clock tests and benchmarks hand to
// carepost's services instead of time.Now. It is safe for concurrent use:
// a node's goroutines read it while the test moves it.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a fake clock. It stands still unless moved, or, with a tick,
// moves on by the tick at every reading.
type Clock struct {
	mu   sync.Mutex
	now  time.Time
	tick time.Duration
}

// New returns a clock standing at t.
func New(t time.Time) *Clock { return &Clock{now: t} }

// Now reads the clock (and moves it on by the tick, if any).
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.tick)
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Tick makes every reading move the clock on by d, as real time moves
// while work is done. Benchmarks use it: ids carry their creation
// millisecond, and a clock that stands still makes all the ids of a run
// share one, so every insert lands at a random place in the indexes
// instead of at their end.
func (c *Clock) Tick(d time.Duration) {
	c.mu.Lock()
	c.tick = d
	c.mu.Unlock()
}
