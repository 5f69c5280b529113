// Command carepost is the whole carepost platform in one binary: the server
// (serve) and the administration commands that run beside it.
//
// Exit codes: 0 success; 1 the command failed (the message says why);
// 2 bad usage or invalid configuration; 3 a check ran and found problems
// (audit verify).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitProblems = 3
)

// command is one subcommand. run receives the arguments after its name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) int
}

// env is what commands read and write besides their arguments, so tests can
// run them in-process.
type env struct {
	stdout, stderr io.Writer
	environ        []string
}

func commands() []command {
	return []command{
		{"serve", "run the carepost server (HTTPS, background jobs)", runServe},
		{"migrate", "apply or report database migrations (up, status)", runMigrate},
		{"init", "create the first organization and its owner (one-time password)", runInit},
		{"user", "administer users without the web (list, create, disable, reset-mfa)", runUser},
		{"apikey", "create an API key for a user without the web (create)", runAPIKey},
		{"domain", "manage sender domains and their DKIM keys (add, verify, show, list, delete)", runDomain},
		{"config", "print the effective configuration, secrets redacted (show, keys, check)", runConfig},
		{"keys", "inspect and rotate encryption keys (status, rotate, rotate-kek, rewrap, generate-kek)", runKeys},
		{"audit", "verify or export the tamper-evident audit log (verify, export)", runAudit},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ()}, os.Args[1:]))
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return run(ctx, e, []string{args[1], "--help"})
		}
		usage(e.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "carepost: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "carepost: HIPAA-compliant secure healthcare communications, in one binary.")
	fmt.Fprintln(w, "\nUsage: carepost <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'carepost <command> --help' for a command's flags.")
	fmt.Fprintln(w, "Configuration: defaults, then --config FILE (TOML), then CAREPOST_<SECTION>_<KEY> variables, then flags.")
	fmt.Fprintln(w, "'carepost config keys' lists every setting with its default.")
}

// newFlags makes a FlagSet whose --help prints summary, usage and flags.
func newFlags(e *env, name, usageLine, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: carepost %s\n\n%s\n", usageLine, strings.TrimSpace(about))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(w, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses flags, mapping --help to exit 0 and bad flags to exit 2.
// ok is false when the caller should return code. A leading subcommand
// ("keys rotate --wait") is moved behind the flags, so flags may come before
// or after it; fs.Arg(0) is the subcommand either way.
func parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		args = append(append([]string{}, args[1:]...), args[0])
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

func fail(e *env, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "carepost: "+format+"\n", args...)
	return exitFailure
}
