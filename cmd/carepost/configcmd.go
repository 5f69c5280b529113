package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/carepost/carepost/internal/config"
)

func runConfig(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "config", "config [flags] [show|keys|check]", `
show   (the default) prints the effective configuration as TOML, after the
       file, the environment and the flags, with secrets redacted. Save it
       as a starting point for a configuration file.
keys   lists every setting: its key, type, default and meaning, and the
       environment variable that sets it.
check  validates the configuration and reports every problem at once.`)
	cf := addConfigFlags(fs, e)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	switch fs.Arg(0) {
	case "", "show":
		cfg, code, ok := cf.load(e)
		if !ok {
			return code
		}
		fmt.Fprint(e.stdout, cfg.Redacted().TOML())
		return exitOK
	case "check":
		if _, code, ok := cf.load(e); !ok {
			return code
		}
		fmt.Fprintln(e.stdout, "configuration is valid")
		return exitOK
	case "keys":
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tTYPE\tDEFAULT\tENVIRONMENT\tMEANING")
		for _, k := range config.Keys() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Name, k.Type, k.Default, k.Env, k.Doc)
		}
		tw.Flush()
		return exitOK
	default:
		fs.Usage()
		return exitUsage
	}
}
