package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/auth"
)

const userAbout = `
Administers users without the web console. Every change is recorded in the
organization's audit log with actor system "cli".

list       lists the organization's users with roles and second factors.
create     adds a user with --email, --name and one or more --role (built-in
           role names: owner, admin, compliance, sender, marketer, analyst;
           or a custom role id) and prints a one-time password, shown only
           now, to be changed at first sign-in.
disable    disables the user with --email: ends every session and revokes
           every API key at once. The last active owner cannot be disabled.
reset-mfa  removes the --email user's authenticator, passkeys and recovery
           codes and ends their sessions; they enrol again at next sign-in.`

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string { return strings.Join(*r, ",") }

func (r *repeated) Set(v string) error {
	*r = append(*r, v)
	return nil
}

func runUser(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "user", "user list|create|disable|reset-mfa --org ORG_ID [--email E --name N --role R ...] [flags]", userAbout)
	cf := addConfigFlags(fs, e)
	org := fs.String("org", "", "the organization `id` (org_…), as printed by carepost init")
	email := fs.String("email", "", "the user's e-mail `address`")
	name := fs.String("name", "", "create: the user's full `name`")
	var roles repeated
	fs.Var(&roles, "role", "create: a `role` to give the user (repeat for several)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	sub := fs.Arg(0)
	usage := func(msg string) int {
		fmt.Fprintln(e.stderr, "carepost user: "+msg)
		fs.Usage()
		return exitUsage
	}
	switch {
	case sub != "list" && sub != "create" && sub != "disable" && sub != "reset-mfa":
		return usage("say list, create, disable or reset-mfa")
	case *org == "":
		return usage("--org is required")
	case sub != "list" && *email == "":
		return usage("--email is required")
	case sub == "create" && (*name == "" || len(roles) == 0):
		return usage("create needs --name and at least one --role")
	}
	a, code, ok := openApp(ctx, e, cf, app.Options{})
	if !ok {
		return code
	}
	defer a.Close()
	switch sub {
	case "list":
		return userList(ctx, e, a, *org)
	case "create":
		u, oneTime, err := a.Auth.AdminCreateUser(ctx, *org, auth.NewUser{Email: *email, Name: *name, Roles: roles})
		if err != nil {
			return failAccount(e, err)
		}
		fmt.Fprintf(e.stdout, "Created user %s (%s) with roles %s.\n", u.Email, u.ID, strings.Join(u.Roles, ", "))
		fmt.Fprintf(e.stdout, "One-time password: %s\n", oneTime)
		fmt.Fprintln(e.stdout, "Shown only now; to be changed at first sign-in, with a second factor enrolled.")
	case "disable":
		if err := a.Auth.AdminDisableUser(ctx, *org, *email); err != nil {
			return failAccount(e, err)
		}
		fmt.Fprintf(e.stdout, "Disabled %s: their sessions are ended and their API keys revoked.\n", *email)
	case "reset-mfa":
		if err := a.Auth.AdminResetMFA(ctx, *org, *email); err != nil {
			return failAccount(e, err)
		}
		fmt.Fprintf(e.stdout, "Reset the second factors of %s: they enrol again at their next sign-in.\n", *email)
	}
	return exitOK
}

func userList(ctx context.Context, e *env, a *app.App, org string) int {
	users, err := a.Auth.AdminListUsers(ctx, org)
	if err != nil {
		return failAccount(e, err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tSTATUS\tROLES\tMFA\tLAST SIGN-IN")
	for _, u := range users {
		var mfa []string
		if u.MFA.TOTP {
			mfa = append(mfa, "totp")
		}
		if u.MFA.Passkeys > 0 {
			mfa = append(mfa, fmt.Sprintf("%d passkeys", u.MFA.Passkeys))
		}
		if u.MFA.RecoveryCodesLeft > 0 {
			mfa = append(mfa, fmt.Sprintf("%d recovery codes", u.MFA.RecoveryCodesLeft))
		}
		if len(mfa) == 0 {
			mfa = append(mfa, "none")
		}
		last := "never"
		if !u.LastLoginAt.IsZero() {
			last = u.LastLoginAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, u.Status,
			strings.Join(u.Roles, ","), strings.Join(mfa, ", "), last)
	}
	if err := tw.Flush(); err != nil {
		return fail(e, "%v", err)
	}
	return exitOK
}
