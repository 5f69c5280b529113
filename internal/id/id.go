// Package id makes the identifiers carepost hands out: a short type prefix
// and 26 characters of Crockford base32 over 48 bits of milliseconds and 80
// random bits ("msg_01jd8x3k9w…"). They sort by creation time, which keeps
// B-tree inserts local and gives cursors a natural order, and they carry no
// information about the content they name.
//
// Ids made in the same millisecond sort in the order they were made, as in
// ULID's monotonic mode (https://github.com/ulid/spec): the 80 low bits of
// the next id are the previous id's plus a random step of 1 to 2^32, so
// they stay unguessable from one another. Without that, a thousand ids made
// in one millisecond — an enrolment's runs, a batch's events — sorted at
// random among themselves, and every table keyed by them (a run's history,
// its messages' idempotency keys) took its inserts at random places: the
// workflow engine's log carried each history page a dozen times over.
package id

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz" // Crockford base32, lower case

// New returns prefix + "_" + a fresh time-ordered random id.
func New(prefix string) string {
	return NewAt(prefix, time.Now())
}

// NewAt is New with an explicit time, for deterministic tests.
func NewAt(prefix string, t time.Time) string {
	return prefix + "_" + encode(gen.next(uint64(t.UnixMilli())))
}

// gen is the process's generator.
var gen generator

// generator keeps the last id of each of the few milliseconds most
// recently used. A handful, not one: the real clock and a fake one (a
// test's, the engine's injected clock) make ids side by side, and with a
// single slot each would reset the other's sequence at every turn.
type generator struct {
	mu    sync.Mutex
	slots [4]slot
	tick  uint64
}

type slot struct {
	ms, used uint64 // used: the tick of the slot's last id; 0 for an empty slot
	hi       uint16 // the top 16 of the 80 low bits
	lo       uint64 // the bottom 64
}

// find returns the slot of millisecond ms, or nil.
func (g *generator) find(ms uint64) *slot {
	for i := range g.slots {
		if c := &g.slots[i]; c.used != 0 && c.ms == ms {
			return c
		}
	}
	return nil
}

// reset gives the slot millisecond ms and the 80 fresh bits in r.
func (sl *slot) reset(ms uint64, r []byte) {
	sl.ms = ms
	sl.hi = binary.BigEndian.Uint16(r[0:2])
	sl.lo = binary.BigEndian.Uint64(r[2:10])
}

// advance adds step to the slot's 80 bits; false (and no change) when
// they would overflow.
func (sl *slot) advance(step uint64) bool {
	lo, hi := sl.lo+step, sl.hi
	if lo < sl.lo {
		if hi == ^uint16(0) {
			return false
		}
		hi++
	}
	sl.lo, sl.hi = lo, hi
	return true
}

// replace picks the slot a new millisecond takes: the one its own clock
// used last (an earlier millisecond within the second before), else an
// empty one, else the least recently used — so a clock moving on keeps one
// slot, and another clock's slot survives it.
func (g *generator) replace(ms uint64) *slot {
	var lru, empty *slot
	for i := range g.slots {
		c := &g.slots[i]
		switch {
		case c.used == 0:
			if empty == nil {
				empty = c
			}
		case c.ms < ms && ms-c.ms <= 1000:
			return c
		case lru == nil || c.used < lru.used:
			lru = c
		}
	}
	if empty != nil {
		return empty
	}
	return lru
}

// next returns the 128 bits of an id made at millisecond ms. The first id
// of a millisecond (or of one no slot remembers) takes 80 fresh random
// bits; the next ones add a random step to the last one's, so they sort
// in the order they were made. Were the 80 bits to overflow (2^48 ids in
// one millisecond at the least), the id takes fresh bits: uniqueness
// holds, only that id's order within the millisecond does not.
func (g *generator) next(ms uint64) [16]byte {
	var r [14]byte
	if _, err := rand.Read(r[:]); err != nil {
		panic("id: crypto/rand failed: " + err.Error()) // the kernel's CSPRNG does not fail
	}
	g.mu.Lock()
	g.tick++
	sl := g.find(ms)
	if sl == nil {
		sl = g.replace(ms)
		sl.reset(ms, r[:10])
	} else if !sl.advance(uint64(binary.BigEndian.Uint32(r[10:14])) + 1) {
		sl.reset(ms, r[:10]) // all 80 bits overflowed
	}
	sl.used = g.tick
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], ms<<16|uint64(sl.hi))
	binary.BigEndian.PutUint64(b[8:16], sl.lo)
	g.mu.Unlock()
	return b
}

// encode writes 128 bits as 26 base32 characters (the top two bits of the
// first character are always zero).
func encode(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// Valid reports whether s looks like an id with the given prefix. It checks
// form only; the store decides whether the id exists.
func Valid(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix+"_")
	if !ok || len(rest) != 26 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(alphabet, rest[i]) < 0 {
			return false
		}
	}
	return true
}
