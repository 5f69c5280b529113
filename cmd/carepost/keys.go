package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/keyring"
)

const keysAbout = `
status        lists every key scope (each organization, and "system") with its
              data-key versions, their state, the KEK that wraps them, and how
              many sealed rows each version still protects.
rotate        adds a new data-key version for every scope (or --scope). New
              writes use it at once; a background job on the running server
              re-encrypts older rows, then retires versions nothing uses.
              --wait re-encrypts here instead, for when no server runs.
rotate-kek    replaces the key-encryption key in the key file: writes a new
              primary beside the old key, re-wraps every data key under it,
              then drops the old key. Sealed rows are not touched. For
              several nodes, see docs/KEYS.md (add, distribute, rewrap, drop).
rewrap        re-wraps every data key under the configured keyset's primary
              KEK (the middle step of a multi-node or environment KEK change).
generate-kek  prints a new keyset line for keys.kek_env or to add to a file.`

func runKeys(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "keys", "keys [flags] status|rotate|rotate-kek|rewrap|generate-kek", keysAbout)
	cf := addConfigFlags(fs, e)
	scope := fs.String("scope", "", "rotate only this `scope` (an organization id, or system)")
	wait := fs.Bool("wait", false, "rotate: re-encrypt old rows now instead of in the background")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	sub := fs.Arg(0)
	if sub == "generate-kek" {
		ks, err := keyring.GenerateKeyset()
		if err != nil {
			return fail(e, "%v", err)
		}
		fmt.Fprint(e.stdout, string(ks.EncodeSecret()))
		return exitOK
	}
	if sub != "status" && sub != "rotate" && sub != "rotate-kek" && sub != "rewrap" {
		fs.Usage()
		return exitUsage
	}
	a, code, ok := openApp(ctx, e, cf, app.Options{ReadOnly: sub == "status"})
	if !ok {
		return code
	}
	defer a.Close()
	switch sub {
	case "status":
		return keysStatus(ctx, e, a)
	case "rotate":
		return keysRotate(ctx, e, a, *scope, *wait)
	case "rewrap":
		n, err := a.Keys.RewrapAll(ctx)
		if err != nil {
			return fail(e, "%v", err)
		}
		if err := recordKEKChange(ctx, a, "keys.rewrap", n); err != nil {
			return fail(e, "%v", err)
		}
		fmt.Fprintf(e.stdout, "re-wrapped %d data keys under KEK %s\n", n, a.KEK.Keyset.PrimaryID())
		return exitOK
	default:
		return keysRotateKEK(ctx, e, a)
	}
}

func keysStatus(ctx context.Context, e *env, a *app.App) int {
	st, err := a.Keys.Status(ctx)
	if err != nil {
		return fail(e, "%v", err)
	}
	fmt.Fprintf(e.stdout, "key-encryption key: %s (%s %s)\n", a.KEK.Keyset.PrimaryID(), a.KEK.Source, a.KEK.Path)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCOPE\tVERSION\tSTATE\tKEK\tCREATED\tROWS")
	for _, s := range st {
		for _, v := range s.Versions {
			state := v.State
			if v.Version == s.Current {
				state += " (current)"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\n", s.Scope, v.Version, state, v.KEKID, v.CreatedAt.Format("2006-01-02 15:04Z"), v.Rows)
		}
	}
	tw.Flush()
	return exitOK
}

func keysRotate(ctx context.Context, e *env, a *app.App, scope string, wait bool) int {
	scopes := []string{scope}
	if scope == "" {
		var err error
		if scopes, err = a.Keys.Scopes(ctx); err != nil {
			return fail(e, "%v", err)
		}
	}
	for _, s := range scopes {
		v, err := a.RotateScope(ctx, s, audit.Actor{Type: audit.ActorSystem, ID: "cli"})
		if err != nil {
			return fail(e, "%v", err)
		}
		fmt.Fprintf(e.stdout, "%s: new data key version %d\n", s, v)
		if wait {
			n, err := a.ReencryptScope(ctx, s)
			if err != nil {
				return fail(e, "%v", err)
			}
			fmt.Fprintf(e.stdout, "%s: re-encrypted %d rows\n", s, n)
		}
	}
	if !wait {
		fmt.Fprintln(e.stdout, "older rows are re-encrypted in the background by the running server; 'carepost keys status' shows progress")
	}
	return exitOK
}

func keysRotateKEK(ctx context.Context, e *env, a *app.App) int {
	if a.KEK.Source != "file" {
		return fail(e, "rotate-kek changes a key file, but the KEK comes from %s: put a new primary followed by the current key in that variable (carepost keys generate-kek), restart, run carepost keys rewrap, then remove the old key", a.KEK.Path)
	}
	old := a.KEK.Keyset
	next, err := old.WithNewPrimary()
	if err != nil {
		return fail(e, "%v", err)
	}
	// Both keys are in the file before any data key is re-wrapped, and the
	// old one leaves only after every data key is under the new one, so a
	// crash at any point leaves a file that opens every data key.
	if err := keyring.WriteKeysetFile(a.KEK.Path, next); err != nil {
		return fail(e, "%v", err)
	}
	kr := keyring.New(a.DB, next, keyring.Options{})
	n, err := kr.RewrapAll(ctx)
	if err != nil {
		return fail(e, "re-wrap data keys (the key file now holds both keys; run carepost keys rewrap to finish): %v", err)
	}
	final := next
	for _, id := range old.IDs() {
		if final, err = final.Without(id); err != nil {
			return fail(e, "%v", err)
		}
	}
	if err := keyring.WriteKeysetFile(a.KEK.Path, final); err != nil {
		return fail(e, "%v", err)
	}
	a.KEK.Keyset = final
	if err := recordKEKChange(ctx, a, "keys.rotate_kek", n); err != nil {
		return fail(e, "%v", err)
	}
	fmt.Fprintf(e.stdout, "new key-encryption key %s; re-wrapped %d data keys; removed %s\n", final.PrimaryID(), n, strings.Join(old.IDs(), ", "))
	return exitOK
}

func recordKEKChange(ctx context.Context, a *app.App, action string, n int) error {
	_, err := a.Audit.Record(ctx, audit.Entry{
		Chain: audit.SystemChain, Actor: audit.Actor{Type: audit.ActorSystem, ID: "cli"},
		Action: action, TargetType: "kek", TargetID: a.KEK.Keyset.PrimaryID(), Outcome: audit.Success,
		Details: map[string]string{"data_keys": fmt.Sprint(n)},
	})
	return err
}
