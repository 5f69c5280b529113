package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/store"
)

const initAbout = `
Creates the first organization and its owner, and prints the owner's
one-time password and where to sign in. The password is shown only now. At
the first sign-in it must be changed, and a second factor (an authenticator
app or a passkey) enrolled before anything else.

Refuses when the install has an organization already, unless --another.
Recorded in the new organization's audit log with actor system "cli".`

func runInit(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "init", "init --org NAME --owner EMAIL [--name NAME] [flags]", initAbout)
	cf := addConfigFlags(fs, e)
	org := fs.String("org", "", "the organization's `name`")
	owner := fs.String("owner", "", "the owner's e-mail `address`, their sign-in")
	name := fs.String("name", "", "the owner's full `name` (default: the address before the @)")
	another := fs.Bool("another", false, "create a further organization on an install that has one")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *org == "" || *owner == "" || fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "carepost init: --org and --owner are required")
		fs.Usage()
		return exitUsage
	}
	ownerName := *name
	if ownerName == "" {
		ownerName, _, _ = strings.Cut(*owner, "@")
	}
	a, code, ok := openApp(ctx, e, cf, app.Options{})
	if !ok {
		return code
	}
	defer a.Close()
	has, err := a.Auth.HasOrganizations(ctx)
	if err != nil {
		return fail(e, "%v", err)
	}
	if has && !*another {
		return fail(e, "this install has an organization already; add --another to create one more, or manage users with 'carepost user'")
	}
	o, u, oneTime, err := a.Auth.Bootstrap(ctx, *org, *owner, ownerName)
	if err != nil {
		return failAccount(e, err)
	}
	login := strings.TrimSuffix(a.Config.HTTP.PublicURL, "/") + "/login"
	if a.Config.HTTP.PublicURL == "" {
		login = "/login on the server's public URL (set http.public_url)"
	}
	w := e.stdout
	fmt.Fprintf(w, "Created organization %q (%s).\n", o.Name, o.ID)
	fmt.Fprintf(w, "Owner:              %s (%s)\n", u.Email, u.ID)
	fmt.Fprintf(w, "One-time password:  %s\n", oneTime)
	fmt.Fprintf(w, "Sign in at:         %s\n", login)
	fmt.Fprintln(w, "\nThe password is shown only now. It must be changed at the first sign-in,")
	fmt.Fprintln(w, "and a second factor (an authenticator app or a passkey) enrolled before anything else.")
	return exitOK
}

// failAccount reports an error of an account operation in words for the
// person at the terminal.
func failAccount(e *env, err error) int {
	var ie *auth.InputError
	switch {
	case errors.As(err, &ie):
		return fail(e, "%s: %s", ie.Field, ie.Msg)
	case errors.Is(err, store.ErrNotFound):
		return fail(e, "no such organization or user")
	default:
		return fail(e, "%v", err)
	}
}
