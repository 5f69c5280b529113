package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/jobs"
)

func runMigrate(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "migrate", "migrate [flags] up|status", `
up      applies every pending migration (carepost's schema and the job
        engine's), each in its own transaction. serve does this at start-up;
        run it by hand to migrate before starting new nodes.
status  lists carepost's migrations with the time each was applied, and the
        number of job engine migrations pending. It changes nothing.`)
	cf := addConfigFlags(fs, e)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	switch fs.Arg(0) {
	case "up":
		a, code, ok := openApp(ctx, e, cf, app.Options{SkipKeys: true})
		if !ok {
			return code
		}
		defer a.Close()
		before, err := a.DB.Pending(ctx)
		if err != nil {
			return fail(e, "%v", err)
		}
		if err := a.Migrate(ctx); err != nil {
			return fail(e, "%v", err)
		}
		fmt.Fprintf(e.stdout, "applied %d migrations; the database is current\n", before)
		return exitOK
	case "status":
		a, code, ok := openApp(ctx, e, cf, app.Options{SkipKeys: true})
		if !ok {
			return code
		}
		defer a.Close()
		st, err := a.DB.MigrationStatus(ctx)
		if err != nil {
			return fail(e, "%v", err)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "VERSION\tNAME\tAPPLIED\n")
		pending := 0
		for _, m := range st {
			when := "pending"
			if !m.AppliedAt.IsZero() {
				when = m.AppliedAt.Format("2006-01-02 15:04:05Z")
			} else {
				pending++
			}
			fmt.Fprintf(tw, "%04d\t%s\t%s\n", m.Version, m.Name, when)
		}
		tw.Flush()
		jp, err := jobs.Pending(ctx, a.DB)
		if err != nil {
			return fail(e, "%v", err)
		}
		fmt.Fprintf(e.stdout, "database: %s; carepost migrations pending: %d; job engine migrations pending: %d\n", a.DB.Driver(), pending, jp)
		return exitOK
	default:
		fs.Usage()
		return exitUsage
	}
}
