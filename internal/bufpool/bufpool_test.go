package bufpool

import "testing"

// TestPutEmptiesAndBounds: a buffer comes back empty with its capacity,
// and one past the bound is not kept.
func TestPutEmptiesAndBounds(t *testing.T) {
	p := New(64)
	b := p.Get()
	if len(*b) != 0 {
		t.Fatalf("a new buffer holds %d bytes", len(*b))
	}
	*b = append(*b, "hello"...)
	p.Put(b)
	if len(*b) != 0 {
		t.Fatalf("a buffer put back still holds %q", *b)
	}
	big := p.Get()
	*big = make([]byte, 0, 65)
	p.Put(big)
	// sync.Pool may drop anything at any time, so what is asserted of
	// Get is the bound: the 65-byte buffer never comes back.
	for range 10 {
		if got := p.Get(); cap(*got) > 64 {
			t.Fatalf("got a buffer of capacity %d from a pool bounded at 64", cap(*got))
		}
	}
}
