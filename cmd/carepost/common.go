package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/config"
)

// configFlags are the flags every command that reads the configuration
// accepts. Each maps onto a config key and is applied after the file and
// the environment.
type configFlags struct {
	file string
	sets map[string]*string // config key -> flag value ("" = not given)
}

func addConfigFlags(fs *flag.FlagSet, e *env) *configFlags {
	cf := &configFlags{sets: map[string]*string{}}
	fs.StringVar(&cf.file, "config", lookupEnv(e, "CAREPOST_CONFIG"), "TOML configuration `file` (default $CAREPOST_CONFIG; none needed)")
	for _, f := range []struct{ flag, key, help string }{
		{"data-dir", "data.dir", "folder for the SQLite database, key file and certificate (data.dir)"},
		{"database-url", "database.url", "database: a SQLite path or postgres:// URL (database.url)"},
		{"log-level", "log.level", "debug, info, warn or error (log.level)"},
		{"log-format", "log.format", "text or json (log.format)"},
	} {
		cf.sets[f.key] = fs.String(f.flag, "", f.help)
	}
	return cf
}

// addFlag maps one more flag onto a config key.
func (cf *configFlags) addFlag(fs *flag.FlagSet, name, key, help string) {
	cf.sets[key] = fs.String(name, "", help)
}

// load builds the effective configuration: defaults, file, environment,
// flags; then resolves derived paths and validates. Problems are printed for
// a person to fix and reported as exit code 2.
func (cf *configFlags) load(e *env) (*config.Config, int, bool) {
	cfg, err := config.Load(cf.file, e.environ)
	if err != nil {
		fmt.Fprintf(e.stderr, "carepost: %v\n", err)
		return nil, exitUsage, false
	}
	for key, v := range cf.sets {
		if *v == "" {
			continue
		}
		if err := cfg.Set(key, *v); err != nil {
			fmt.Fprintf(e.stderr, "carepost: flag for %s: %v\n", key, err)
			return nil, exitUsage, false
		}
	}
	cfg.Resolve()
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "carepost: invalid configuration:\n%v\n", err)
		return nil, exitUsage, false
	}
	return cfg, 0, true
}

func newLogger(w io.Writer, cfg *config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openApp loads the configuration and opens the core services. Config
// warnings are logged. The caller closes the App.
func openApp(ctx context.Context, e *env, cf *configFlags, opts app.Options) (*app.App, int, bool) {
	cfg, code, ok := cf.load(e)
	if !ok {
		return nil, code, false
	}
	log := newLogger(e.stderr, cfg)
	for _, w := range cfg.Warnings() {
		log.Warn("configuration", "warning", w)
	}
	a, err := app.Open(ctx, cfg, log, opts)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, exitFailure, false
		}
		fmt.Fprintf(e.stderr, "carepost: %v\n", err)
		return nil, exitFailure, false
	}
	return a, 0, true
}

// lookupEnv is the value of the environment variable name in e, or "".
func lookupEnv(e *env, name string) string {
	v := ""
	for _, kv := range e.environ {
		if rest, ok := strings.CutPrefix(kv, name+"="); ok {
			v = rest
		}
	}
	return v
}
