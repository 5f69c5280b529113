// Package bufpool keeps byte buffers from one use to the next, for hot
// paths that make a buffer per message and let it go once the message is
// written elsewhere (a campaign builds, encodes and compresses one message
// per contact). It is sync.Pool with two rules every such use needs: a
// buffer comes back empty, and one that grew past the pool's bound is left
// to the collector rather than held for a rare large message.
package bufpool

import "sync"

// Pool is a pool of byte buffers of at most Max bytes of capacity.
type Pool struct {
	pool sync.Pool
	max  int
}

// New returns a pool keeping buffers of up to max bytes.
func New(max int) *Pool { return &Pool{max: max} }

// Get returns an empty buffer, with the capacity of an earlier use when
// there is one. The caller owns it until Put.
func (p *Pool) Get() *[]byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return b
	}
	return new([]byte)
}

// Put gives b back for a later Get, emptied, unless it grew past the
// pool's bound. Nothing may use *b's memory after.
func (p *Pool) Put(b *[]byte) {
	if cap(*b) > p.max {
		return
	}
	*b = (*b)[:0]
	p.pool.Put(b)
}
