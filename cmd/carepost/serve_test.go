package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/app"
)

// TestServeGCPercent: serve runs the collector at app.GCPercent unless GOGC
// says otherwise.
func TestServeGCPercent(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })

	setGCPercent(&env{environ: []string{"PATH=/usr/bin"}})
	if got := debug.SetGCPercent(100); got != app.GCPercent {
		t.Fatalf("without GOGC the collector's target is %d, want %d", got, app.GCPercent)
	}
	setGCPercent(&env{environ: []string{"GOGC=50"}})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with GOGC set serve changed the target to %d", got)
	}
}

// TestVersionNamesTheCryptoModule: `carepost version` says which
// cryptographic module the binary was built with, so a benchmark figure or
// a compliance question can be answered from the binary itself.
func TestVersionNamesTheCryptoModule(t *testing.T) {
	t.Parallel()
	want := "crypto Go)"
	if strings.Contains(runtime.Version(), "boringcrypto") {
		want = "crypto BoringCrypto)"
	}
	code, out, _ := carepost(t, t.TempDir(), nil, "version")
	if code != exitOK || !strings.HasPrefix(out, "carepost ") || !strings.Contains(out, want) {
		t.Fatalf("version: code %d, %q; want it to end in %q", code, out, want)
	}
}
