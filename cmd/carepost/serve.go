package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"

	"github.com/carepost/carepost/internal/app"
)

// cpuProfileEnv names the file serve writes a Go CPU profile of its whole run
// to, for benchmarking (docs/BENCHMARKS.md): an environment variable rather
// than a configuration key, since it is a development knob and not a
// setting of the product.
const cpuProfileEnv = "CAREPOST_CPU_PROFILE"

func runServe(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "serve", "serve [flags]", `
Runs carepost: the HTTPS server (health at /healthz, readiness at /readyz,
Prometheus metrics at /metrics) and the background job workers. With no
configuration it keeps everything in ./carepost-data: a SQLite database, a
generated key-encryption key file and a self-signed certificate, listening
on https://127.0.0.1:8443. It applies pending migrations at start-up and
shuts down gracefully on SIGTERM or Ctrl-C.`)
	cf := addConfigFlags(fs, e)
	cf.addFlag(fs, "listen", "http.listen", "HTTPS listen `address` (http.listen)")
	demo := fs.Bool("demo", false, "demo mode: capture outbound mail locally (demo.enabled)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *demo {
		v := "true"
		cf.sets["demo.enabled"] = &v
	}
	setGCPercent(e)
	a, code, ok := openApp(ctx, e, cf, app.Options{})
	if !ok {
		return code
	}
	defer a.Close()
	if path := lookupEnv(e, cpuProfileEnv); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			return fail(e, "%v", err)
		}
		defer stop()
	}
	node, err := a.NewNode()
	if err != nil {
		return fail(e, "%v", err)
	}
	if err := node.Run(ctx); err != nil {
		return fail(e, "%v", err)
	}
	fmt.Fprintln(e.stderr, "carepost: stopped")
	return exitOK
}

// setGCPercent gives the collector serve's target (app.GCPercent, which
// says why) unless the environment sets GOGC, which wins as it does for
// any Go program.
func setGCPercent(e *env) {
	if lookupEnv(e, "GOGC") == "" {
		debug.SetGCPercent(app.GCPercent)
	}
}

// startCPUProfile profiles the process's CPU into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
