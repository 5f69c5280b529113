package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

var (
	orgIDPattern   = regexp.MustCompile(`org_[0-9a-z]{26}`)
	oneTimePattern = regexp.MustCompile(`One-time password: +([0-9a-z]{5}(-[0-9a-z]{5}){3})`)
)

// openCore opens the same install the CLI used, in-process.
func openCore(t *testing.T, dir string, environ []string) *app.App {
	t.Helper()
	cfg, err := config.Load("", append([]string{"CAREPOST_DATA_DIR=" + dir}, environ...))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Resolve()
	a, err := app.Open(context.Background(), cfg, nil, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestInitAndUserCommands(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		dir := t.TempDir()
		var environ []string
		if d == store.Postgres {
			environ = append(environ, "CAREPOST_DATABASE_URL="+storetest.URL(t, d))
		}
		run := func(args ...string) (int, string, string) { return carepost(t, dir, environ, args...) }

		if code, _, errs := run("init", "--org", "Clinic"); code != exitUsage || !strings.Contains(errs, "--owner") {
			t.Fatalf("init without --owner: %d %q", code, errs)
		}
		code, out, errs := run("init", "--org", "Northside Clinic", "--owner", "olivia@northside.example", "--name", "Olivia Owner")
		if code != exitOK {
			t.Fatalf("init: %d %q", code, errs)
		}
		org := orgIDPattern.FindString(out)
		m := oneTimePattern.FindStringSubmatch(out)
		if org == "" || m == nil || !strings.Contains(out, "https://127.0.0.1:8443/login") || !strings.Contains(out, "second factor") {
			t.Fatalf("init printed %q", out)
		}
		if code, _, errs := run("init", "--org", "Second", "--owner", "x@second.example"); code != exitFailure || !strings.Contains(errs, "--another") {
			t.Fatalf("second init: %d %q", code, errs)
		}
		if code, out, errs := run("init", "--another", "--org", "Second", "--owner", "x@second.example"); code != exitOK || orgIDPattern.FindString(out) == org {
			t.Fatalf("init --another: %d %q %q", code, out, errs)
		}

		code, out, errs = run("user", "create", "--org", org, "--email", "sam@northside.example", "--name", "Sam Sender", "--role", "sender", "--role", "analyst")
		sam := oneTimePattern.FindStringSubmatch(out)
		if code != exitOK || sam == nil || !strings.Contains(out, "analyst, sender") {
			t.Fatalf("user create: %d %q %q", code, out, errs)
		}
		if code, _, errs := run("user", "create", "--org", org, "--email", "sam@northside.example", "--name", "Again", "--role", "sender"); code != exitFailure || !strings.Contains(errs, "cannot be used") {
			t.Fatalf("duplicate address: %d %q", code, errs)
		}
		if code, _, errs := run("user", "create", "--org", org, "--email", "r@northside.example", "--name", "R", "--role", "superuser"); code != exitFailure || !strings.Contains(errs, "roles:") {
			t.Fatalf("unknown role: %d %q", code, errs)
		}
		if code, _, errs := run("user", "list", "--org", "org_00000000000000000000000000"); code != exitFailure || !strings.Contains(errs, "no such organization") {
			t.Fatalf("unknown organization: %d %q", code, errs)
		}

		// The one-time password from the CLI starts a real sign-in.
		a := openCore(t, dir, environ)
		f, err := a.Auth.BeginLogin(context.Background(), "sam@northside.example", sam[1], auth.Client{IP: "127.0.0.1"})
		if err != nil || f.Stage != auth.StageChangePassword {
			t.Fatalf("sign-in with the printed password: %+v %v", f, err)
		}
		a.Close()

		if code, _, errs := run("user", "disable", "--org", org, "--email", "olivia@northside.example"); code != exitFailure || !strings.Contains(errs, "owner") {
			t.Fatalf("disabling the last owner: %d %q", code, errs)
		}
		if code, out, errs := run("user", "disable", "--org", org, "--email", "sam@northside.example"); code != exitOK || !strings.Contains(out, "Disabled") {
			t.Fatalf("disable: %d %q %q", code, out, errs)
		}
		if code, _, errs := run("user", "reset-mfa", "--org", org, "--email", "olivia@northside.example"); code != exitOK {
			t.Fatalf("reset-mfa: %d %q", code, errs)
		}
		if code, _, errs := run("user", "disable", "--org", org, "--email", "x@second.example"); code != exitFailure || !strings.Contains(errs, "no such") {
			t.Fatalf("another organization's user: %d %q", code, errs)
		}
		code, out, errs = run("user", "list", "--org", org)
		if code != exitOK || !strings.Contains(out, "olivia@northside.example") || !regexp.MustCompile(`sam@northside.example\s+Sam Sender\s+disabled\s+analyst,sender`).MatchString(out) ||
			strings.Contains(out, "x@second.example") {
			t.Fatalf("user list: %d %q %q", code, out, errs)
		}
		if code, out, errs := run("audit", "verify"); code != exitOK {
			t.Fatalf("audit verify: %d %q %q", code, out, errs)
		}
		a = openCore(t, dir, environ)
		recs, err := store.AuditRecords(context.Background(), a.DB.Reader(), org, 0, 1<<62, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var cli []string
		for _, r := range recs {
			if r.ActorType == "system" && r.ActorID == "cli" {
				cli = append(cli, r.Action)
			}
		}
		if got := strings.Join(cli, " "); got != "org.create user.create user.create user.disable auth.mfa.reset" {
			t.Fatalf("CLI actions audited: %q", got)
		}
	})
}

func TestInitAndUserHelp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, cmd := range []string{"init", "user"} {
		code, _, errs := carepost(t, dir, nil, cmd, "--help")
		if code != exitOK || !strings.Contains(errs, "Usage: carepost "+cmd) {
			t.Errorf("%s --help: %d %q", cmd, code, errs)
		}
	}
	if code, _, errs := carepost(t, dir, nil, "user", "frobnicate", "--org", "x"); code != exitUsage || !strings.Contains(errs, "list, create") {
		t.Fatalf("unknown subcommand: %d %q", code, errs)
	}
}
