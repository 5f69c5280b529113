package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

func runVersion(_ context.Context, e *env, args []string) int {
	fs := newFlags(e, "version", "version", "Prints the carepost version, the source revision it was built from, the Go version and the cryptographic module (Go or BoringCrypto, docs/BUILD.md).")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	rev := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	fmt.Fprintf(e.stdout, "carepost %s (revision %s, %s, crypto %s)\n", version, rev, runtime.Version(), cryptoModule)
	return exitOK
}
