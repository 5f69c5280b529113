package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/app"
)

const apikeyAbout = `
Creates an API key for a user without the web console, for automation and
for integrations set up by an administrator. The key acts for the user given
by --email, with at most that user's permissions, and is recorded in the
organization's audit log with actor system "cli". The token is printed once:
send it as "Authorization: Bearer <token>" to the REST API, or as the SMTP
AUTH password for submission.

create  --org ORG_ID --email OWNER --name NAME --scope PERM [--scope PERM ...]
        [--expires 720h]`

func runAPIKey(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "apikey", "apikey create --org ORG_ID --email OWNER --name NAME --scope PERM ... [flags]", apikeyAbout)
	cf := addConfigFlags(fs, e)
	org := fs.String("org", "", "the organization `id` (org_…)")
	email := fs.String("email", "", "the e-mail `address` of the user the key acts for")
	name := fs.String("name", "", "a `name` saying what the key is for")
	expires := fs.Duration("expires", 0, "optional lifetime, e.g. 720h (default: no expiry)")
	var scopes repeated
	fs.Var(&scopes, "scope", "a `permission` the key carries, e.g. messages:send (repeat for several)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.Arg(0) != "create" || *org == "" || *email == "" || *name == "" || len(scopes) == 0 {
		fmt.Fprintln(e.stderr, "carepost apikey: say create with --org, --email, --name and at least one --scope")
		fs.Usage()
		return exitUsage
	}
	a, code, ok := openApp(ctx, e, cf, app.Options{})
	if !ok {
		return code
	}
	defer a.Close()
	var exp time.Time
	if *expires > 0 {
		exp = a.Clock().Add(*expires)
	}
	k, token, err := a.Auth.AdminCreateAPIKey(ctx, *org, *email, *name, scopes, exp)
	if err != nil {
		return fail(e, "%v", err)
	}
	fmt.Fprintf(e.stdout, "API key %s (%s) with scopes %s\n", k.ID, k.Prefix, strings.Join(k.Scopes, " "))
	fmt.Fprintf(e.stdout, "token (shown only now): %s\n", token)
	return exitOK
}
