package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/dns/dnstest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// zoneLine matches a printed zone-file line: name, then the quoted strings.
var zoneLine = regexp.MustCompile(`(?m)^(\S+)\. IN TXT (".*")$`)

// publishZone serves the zone-file lines printed by domain add.
func publishZone(t *testing.T, srv *dnstest.Server, out string) int {
	t.Helper()
	n := 0
	for _, m := range zoneLine.FindAllStringSubmatch(out, -1) {
		var value strings.Builder
		for _, part := range regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`).FindAllStringSubmatch(m[2], -1) {
			value.WriteString(strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(part[1]))
		}
		srv.AddTXT(m[1], value.String())
		n++
	}
	return n
}

func TestDomainCommands(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		dir := t.TempDir()
		var environ []string
		if d == store.Postgres {
			environ = append(environ, "CAREPOST_DATABASE_URL="+storetest.URL(t, d))
		}
		run := func(args ...string) (int, string, string) { return carepost(t, dir, environ, args...) }
		code, out, errs := run("init", "--org", "Northside Clinic", "--owner", "olivia@northside.example")
		org := orgIDPattern.FindString(out)
		if code != exitOK || org == "" {
			t.Fatalf("init: %d %q %q", code, out, errs)
		}
		srv := dnstest.New(t)

		if code, _, errs := run("domain", "add", "northside.example"); code != exitUsage || !strings.Contains(errs, "--org") {
			t.Fatalf("add without --org: %d %q", code, errs)
		}
		if code, _, errs := run("domain", "add", "--org", org, "192.0.2.7"); code != exitFailure || !strings.Contains(errs, "domain: an IP address") {
			t.Fatalf("add an IP address: %d %q", code, errs)
		}
		code, out, errs = run("domain", "add", "Northside.Example", "--org", org)
		if code != exitOK || !strings.Contains(out, "pending verification") || !strings.Contains(out, "DKIM key, Ed25519") {
			t.Fatalf("add: %d %q %q", code, out, errs)
		}
		if n := publishZone(t, srv, out); n != 3 { // both DKIM keys and DMARC; no SPF is configured
			t.Fatalf("add printed %d zone-file lines:\n%s", n, out)
		}
		if code, _, errs := run("domain", "add", "--org", org, "northside.example"); code != exitFailure || !strings.Contains(errs, "already registered") {
			t.Fatalf("add twice: %d %q", code, errs)
		}

		// A check against a server that has nothing: not verified, exit 3.
		empty := dnstest.New(t)
		code, out, _ = run("domain", "verify", "--org", org, "--dns-server", empty.Addr(), "northside.example")
		if code != exitProblems || !strings.Contains(out, "is not verified") || !strings.Contains(out, "missing") {
			t.Fatalf("verify against an empty zone: %d %q", code, out)
		}
		code, out, errs = run("domain", "verify", "--org", org, "--dns-server", srv.Addr(), "northside.example")
		if code != exitOK || !strings.Contains(out, "northside.example is verified") || !strings.Contains(out, "spf") || !strings.Contains(out, "1 warnings") {
			t.Fatalf("verify: %d %q %q", code, out, errs)
		}
		if srv.Queries("_dmarc.northside.example", "TXT") == 0 {
			t.Fatal("verify did not ask the given DNS server")
		}
		code, out, _ = run("domain", "list", "--org", org)
		if code != exitOK || !strings.Contains(out, "northside.example") || !strings.Contains(out, "verified") || !strings.Contains(out, "dns") {
			t.Fatalf("list: %d %q", code, out)
		}
		if code, out, _ = run("domain", "show", "--org", org, "northside.example"); code != exitOK || !strings.Contains(out, "Last check") {
			t.Fatalf("show: %d %q", code, out)
		}
		if code, _, errs := run("domain", "show", "--org", "org_00000000000000000000000000", "northside.example"); code != exitFailure || !strings.Contains(errs, "no such organization") {
			t.Fatalf("unknown organization: %d %q", code, errs)
		}

		a := openCore(t, dir, environ)
		if got := auditActions(t, a.DB, org); !strings.Contains(got, "domain.add/system:cli domain.check/system:cli domain.check/system:cli domain.verify/system:cli") {
			t.Fatalf("audit: %s", got)
		}
		if code, out, errs = run("domain", "delete", "--org", org, "northside.example"); code != exitOK || !strings.Contains(out, "Deleted") {
			t.Fatalf("delete: %d %q %q", code, out, errs)
		}
		if code, out, _ = run("domain", "list", "--org", org); code != exitOK || strings.Contains(out, "northside.example") {
			t.Fatalf("list after delete: %d %q", code, out)
		}
	})
}

func auditActions(t *testing.T, db *store.DB, chain string) string {
	t.Helper()
	rows, err := db.Reader().Query(context.Background(), `SELECT action, actor_type, actor_id FROM audit_entries WHERE chain = ? ORDER BY seq`, chain)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var action, typ, id string
		if err := rows.Scan(&action, &typ, &id); err != nil {
			t.Fatal(err)
		}
		out = append(out, action+"/"+typ+":"+id)
	}
	return strings.Join(out, " ")
}
