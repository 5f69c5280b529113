package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/config"
)

const auditAbout = `
verify      checks every chain (or --chain): each entry's hash and link to the
            one before, sequence continuity, every signed checkpoint, and the
            chain head. It detects edited, deleted, reordered and truncated
            entries. --checkpoints FILE also checks checkpoints exported
            earlier (kept off this machine), so deleting checkpoints from
            the database hides nothing. Exit code 3 when problems are found.
export      writes entries as JSON lines for a SIEM, oldest first by chain
            (--since RFC 3339 time or a duration like 24h, --chain, --out).
checkpoint  writes signed checkpoints now (the server does it periodically).
checkpoints writes every signed checkpoint as JSON lines (--out), to keep
            apart from this machine for 'verify --checkpoints'.`

func runAudit(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "audit", "audit [flags] verify|export|checkpoint|checkpoints", auditAbout)
	cf := addConfigFlags(fs, e)
	chain := fs.String("chain", "", "limit to one `chain` (an organization id, or system)")
	since := fs.String("since", "", "export: entries at or after this `time` (RFC 3339) or this long ago (24h, 30d)")
	out := fs.String("out", "", "export: write to this `file` instead of standard output")
	cps := fs.String("checkpoints", "", "verify: also check checkpoints exported to this `file`")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	sub := fs.Arg(0)
	switch sub {
	case "verify", "export", "checkpoint", "checkpoints":
	default:
		fs.Usage()
		return exitUsage
	}
	a, code, ok := openApp(ctx, e, cf, app.Options{ReadOnly: sub != "checkpoint"})
	if !ok {
		return code
	}
	defer a.Close()
	switch sub {
	case "verify":
		return auditVerify(ctx, e, a, *chain, *cps)
	case "checkpoint":
		written, err := a.Audit.Checkpoint(ctx)
		if err != nil {
			return fail(e, "%v", err)
		}
		fmt.Fprintf(e.stdout, "wrote %d checkpoints\n", len(written))
		return exitOK
	}
	opts := audit.ExportOptions{Chain: *chain}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			fmt.Fprintf(e.stderr, "carepost: --since: %v\n", err)
			return exitUsage
		}
		opts.Since = t
	}
	w, closeOut, err := output(e, *out)
	if err != nil {
		return fail(e, "%v", err)
	}
	var n int
	if sub == "export" {
		n, err = a.Audit.Export(ctx, w, opts)
	} else {
		n, err = a.Audit.ExportCheckpoints(ctx, w, opts)
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(e, "%v", err)
	}
	fmt.Fprintf(e.stderr, "carepost: exported %d %s\n", n, map[bool]string{true: "entries", false: "checkpoints"}[sub == "export"])
	return exitOK
}

func auditVerify(ctx context.Context, e *env, a *app.App, chain, cpFile string) int {
	opts := audit.VerifyOptions{Chain: chain}
	if cpFile != "" {
		f, err := os.Open(cpFile)
		if err != nil {
			return fail(e, "%v", err)
		}
		opts.Checkpoints, err = audit.ReadCheckpoints(f)
		f.Close()
		if err != nil {
			return fail(e, "read %s: %v", cpFile, err)
		}
	}
	rep, err := a.Audit.Verify(ctx, opts)
	if err != nil {
		return fail(e, "%v", err)
	}
	for _, c := range rep.Chains {
		fmt.Fprintf(e.stdout, "chain %s: %d entries (seq %d..%d), %d checkpoints, %d problems\n",
			c.Chain, c.Entries, c.FirstSeq, c.LastSeq, c.Checkpoints, len(c.Problems)+c.Omitted)
	}
	for _, p := range rep.Problems() {
		fmt.Fprintf(e.stdout, "PROBLEM %s\n", p)
	}
	if rep.KeysFromDatabase {
		fmt.Fprintln(e.stdout, "note: checkpoint signatures were checked against keys recorded in the database only")
	}
	if !rep.OK() {
		fmt.Fprintln(e.stdout, "audit log verification FAILED")
		return exitProblems
	}
	fmt.Fprintln(e.stdout, "audit log verified: OK")
	return exitOK
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration like 24h or 30d", s)
	}
	return now.Add(-d.Duration()), nil
}

func output(e *env, path string) (io.Writer, func() error, error) {
	if path == "" {
		bw := bufio.NewWriter(e.stdout)
		return bw, bw.Flush, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriter(f)
	return bw, func() error {
		if err := bw.Flush(); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}, nil
}
