package main

import (
	"runtime/debug"
	"testing"
)

// TestServeGCPercent: serve runs the collector at gcPercent unless GOGC
// says otherwise.
func TestServeGCPercent(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })

	setGCPercent(&env{environ: []string{"PATH=/usr/bin"}})
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Fatalf("without GOGC the collector's target is %d, want %d", got, gcPercent)
	}
	setGCPercent(&env{environ: []string{"GOGC=50"}})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with GOGC set serve changed the target to %d", got)
	}
}
