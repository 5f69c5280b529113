package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/store"
)

const domainAbout = `
Manages the domains an organization sends mail from. Every change is recorded
in the organization's audit log with actor system "cli". docs/DOMAINS.md
explains each record.

add DOMAIN     generates the domain's DKIM keys (RSA-2048 and Ed25519) and
               prints the DNS records to publish. The domain sends once
               verified (in demo mode at once).
verify DOMAIN  looks the records up in DNS. Both DKIM keys published exactly
               verify the domain; SPF, DMARC and TLS-RPT problems are
               warnings. Exit code 3 when the domain is still not verified.
               --dns-server asks that server (your DNS provider's, to skip
               caches) instead of the system resolver.
show DOMAIN    prints the records to publish and the last check.
list           lists the organization's domains.
delete DOMAIN  deletes a domain and its keys (refused while mail from it is
               still waiting for delivery).`

func runDomain(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "domain", "domain add|verify|show|list|delete --org ORG_ID [DOMAIN] [flags]", domainAbout)
	cf := addConfigFlags(fs, e)
	org := fs.String("org", "", "the organization `id` (org_…), as printed by carepost init")
	dnsServer := fs.String("dns-server", "", "verify: ask this DNS server (`ip:port`) instead of the system resolver")
	pos, code, ok := parseInterspersed(fs, args)
	if !ok {
		return code
	}
	usage := func(msg string) int {
		fmt.Fprintln(e.stderr, "carepost domain: "+msg)
		fs.Usage()
		return exitUsage
	}
	var sub, name string
	if len(pos) > 0 {
		sub = pos[0]
	}
	switch {
	case sub != "add" && sub != "verify" && sub != "show" && sub != "list" && sub != "delete":
		return usage("say add, verify, show, list or delete")
	case *org == "":
		return usage("--org is required")
	case sub == "list" && len(pos) != 1:
		return usage("list takes no domain")
	case sub != "list" && len(pos) != 2:
		return usage(sub + " takes one domain")
	}
	if len(pos) == 2 {
		name = pos[1]
	}
	opts := app.Options{}
	if *dnsServer != "" {
		opts.DNSServers = []string{*dnsServer}
	}
	a, code, ok := openApp(ctx, e, cf, opts)
	if !ok {
		return code
	}
	defer a.Close()
	if _, err := store.GetOrganization(ctx, a.DB.Reader(), *org); err != nil {
		return failDomain(e, err)
	}
	actor := senderdomain.System(*org, "cli")
	s := a.Domains
	switch sub {
	case "list":
		return domainList(ctx, e, s, actor)
	case "add":
		d, recs, err := s.Add(ctx, actor, name)
		if err != nil {
			return failDomain(e, err)
		}
		if d.Status == senderdomain.StatusVerified {
			fmt.Fprintf(e.stdout, "Added %s (%s): verified at once in demo mode, where mail is captured locally.\n", d.Name, d.ID)
		} else {
			fmt.Fprintf(e.stdout, "Added %s (%s): pending verification.\n", d.Name, d.ID)
		}
		fmt.Fprintf(e.stdout, "Publish these DNS records, then run: carepost domain verify --org %s %s\n\n", *org, d.Name)
		printRecords(e.stdout, recs)
		return exitOK
	}
	d, err := s.ByName(ctx, actor, name)
	if err != nil {
		return failDomain(e, err)
	}
	switch sub {
	case "show":
		recs, err := s.Records(ctx, actor, d.ID)
		if err != nil {
			return failDomain(e, err)
		}
		fmt.Fprintf(e.stdout, "%s (%s): %s\n\n", d.Name, d.ID, describe(d))
		printRecords(e.stdout, recs)
		if d.LastCheck != nil {
			fmt.Fprintf(e.stdout, "\nLast check, %s:\n", d.LastCheck.At.Format(time.RFC3339))
			printChecks(e.stdout, d.LastCheck.Checks)
		}
		return exitOK
	case "delete":
		if err := s.Delete(ctx, actor, d.ID); err != nil {
			return failDomain(e, err)
		}
		fmt.Fprintf(e.stdout, "Deleted %s and its DKIM keys; remove its DKIM records from DNS.\n", d.Name)
		return exitOK
	}
	d, res, err := s.Check(ctx, actor, d.ID)
	if err != nil {
		return failDomain(e, err)
	}
	printChecks(e.stdout, res.Checks)
	if d.Status != senderdomain.StatusVerified {
		hint := "publish the records marked required and run verify again"
		for _, c := range res.Checks {
			if c.Required && c.Status == senderdomain.Error {
				hint = "a DNS lookup failed; run verify again later"
			}
		}
		fmt.Fprintf(e.stdout, "\n%s is not verified: %s.\n", d.Name, hint)
		return exitProblems
	}
	fmt.Fprintf(e.stdout, "\n%s is verified: %s\n", d.Name, describe(d))
	if w := len(res.Warnings()); w > 0 {
		fmt.Fprintf(e.stdout, "%d warnings: mail is sent, but receivers may trust it less until they are fixed.\n", w)
	}
	return exitOK
}

// parseInterspersed parses flags wherever they stand among the positional
// arguments ("add --org X example.org" and "add example.org --org X") and
// returns the positional ones. --help is exit 0, a bad flag exit 2.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		if fs.NArg() == 0 {
			return pos, 0, true
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func describe(d senderdomain.Domain) string {
	switch {
	case d.Status == senderdomain.StatusVerified && d.VerifiedBy == senderdomain.VerifiedByDemo:
		return "verified by demo mode (counts only while demo mode is on)"
	case d.Status == senderdomain.StatusVerified:
		return "verified " + d.VerifiedAt.Format(time.RFC3339) + "; it may send"
	default:
		return "pending: it cannot send until both DKIM records are published and verify passes"
	}
}

var purposes = map[string]string{
	senderdomain.KindDKIMRSA:     "DKIM key, RSA (RFC 6376)",
	senderdomain.KindDKIMEd25519: "DKIM key, Ed25519 (RFC 8463)",
	senderdomain.KindSPF:         "SPF (RFC 7208)",
	senderdomain.KindDMARC:       "DMARC policy (RFC 7489)",
	senderdomain.KindTLSRPT:      "TLS reports (RFC 8460)",
}

// printRecords writes a table of what to publish, then the records as
// zone-file lines to paste.
func printRecords(w io.Writer, recs []senderdomain.Record) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PURPOSE\tNAME\tTYPE\tNEEDED TO VERIFY")
	spf := false
	for _, r := range recs {
		spf = spf || r.Kind == senderdomain.KindSPF
		need := "recommended"
		if r.Required() {
			need = "required"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", purposes[r.Kind], r.Name, r.Type, need)
	}
	_ = tw.Flush()
	if !spf {
		fmt.Fprintln(w, "(SPF: this server has no sending addresses configured; add carepost's outbound addresses to the domain's SPF record yourself.)")
	}
	fmt.Fprintln(w, "\nAs zone-file lines:")
	for _, r := range recs {
		fmt.Fprintln(w, r.String())
	}
}

func printChecks(w io.Writer, checks []senderdomain.Check) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RECORD\tSTATUS\tNAME\tDETAIL")
	for _, c := range checks {
		status := c.Status
		if !c.Required && c.Status != senderdomain.Found {
			status += " (warning)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Kind, status, c.Name, c.Detail)
	}
	_ = tw.Flush()
}

func domainList(ctx context.Context, e *env, s *senderdomain.Service, actor senderdomain.Actor) int {
	ds, err := s.List(ctx, actor)
	if err != nil {
		return failDomain(e, err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDOMAIN\tSTATUS\tVERIFIED BY\tLAST CHECK")
	for _, d := range ds {
		last, by := "never", d.VerifiedBy
		if d.LastCheck != nil {
			last = d.LastCheck.At.Format(time.RFC3339)
		}
		if by == "" {
			by = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.ID, d.Name, d.Status, by, last)
	}
	if err := tw.Flush(); err != nil {
		return fail(e, "%v", err)
	}
	return exitOK
}

func failDomain(e *env, err error) int {
	var ie *auth.InputError
	var inUse *senderdomain.InUseError
	switch {
	case errors.As(err, &ie):
		return fail(e, "%s: %s", ie.Field, ie.Msg)
	case errors.As(err, &inUse):
		return fail(e, "%s", inUse.Error())
	case errors.Is(err, store.ErrNotFound):
		return fail(e, "no such organization, or it has no such domain")
	case errors.Is(err, senderdomain.ErrNoResolver):
		return fail(e, "%v: give --dns-server ip:port", err)
	default:
		return fail(e, "%v", err)
	}
}
