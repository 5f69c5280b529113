package auth_test

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestAPIKeysAreShownOnceScopedAndRevocable(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		org, owner := e.bootstrap("Keys", "owner@keys.example")
		p := e.principal(owner.token)
		key, token, err := e.svc.CreateAPIKey(e.ctx, p, "reminders", []string{"messages:send", "users:read"}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(token, key.Prefix+"_") || len(key.Prefix) != 12 || !strings.HasPrefix(key.Prefix, "cpk_") ||
			len(token) < 12+1+27 { // 27 base64url characters are 160 bits
			t.Fatalf("key %+v, token of %d characters", key, len(token))
		}
		secret := token[len(key.Prefix)+1:]
		var stored []byte
		if err := store.Scan(e.app.DB.Reader().QueryRow(e.ctx, `SELECT secret_hash FROM api_keys WHERE id = ?`, key.ID), &stored); err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256([]byte(secret)); string(stored) != string(sum[:]) {
			t.Fatal("the stored secret is not its SHA-256")
		}
		got, err := e.svc.GetAPIKey(e.ctx, p, key.ID)
		if err != nil || got.Prefix != key.Prefix || !slicesEqual(got.Scopes, []string{"messages:send", "users:read"}) {
			t.Fatalf("get: %+v %v", got, err)
		}

		kp, err := e.svc.AuthenticateAPIKey(e.ctx, token, client)
		if err != nil {
			t.Fatal(err)
		}
		if kp.APIKeyID != key.ID || kp.UserID != owner.user.ID || kp.Actor().Type != audit.ActorAPIKey ||
			!slicesEqual(kp.Perms.Strings(), []string{"messages:send", "users:read"}) {
			t.Fatalf("key principal = %+v", kp)
		}
		// A key is not a person: no fresh authentication, no new keys.
		_, _, err = e.svc.CreateAPIKey(e.ctx, kp, "child", []string{"users:read"}, time.Time{})
		wantErr(t, err, auth.ErrForbidden)

		flipped := token[:len(token)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(token, "A")]
		for _, bad := range []string{flipped, key.Prefix + "_" + strings.Repeat("A", 32), "cpk_zzzzzzzz_x", "nonsense", ""} {
			_, err := e.svc.AuthenticateAPIKey(e.ctx, bad, auth.Client{IP: "192.0.2.77"})
			if bad == "" || bad == "nonsense" {
				if err == nil {
					t.Fatalf("%q authenticated", bad)
				}
				continue
			}
			wantErr(t, err, auth.ErrInvalidCredentials)
		}
		// Five failures from one address block it, even for a good key.
		_, err = e.svc.AuthenticateAPIKey(e.ctx, token, auth.Client{IP: "192.0.2.77"})
		throttled(t, err)
		// And for a key that does not exist, or is not a key at all.
		for _, other := range []string{"cpk_zzzzzzzz_x", "nonsense"} {
			_, err = e.svc.AuthenticateAPIKey(e.ctx, other, auth.Client{IP: "192.0.2.77"})
			throttled(t, err)
		}
		// Another address is not blocked.
		if _, err := e.svc.AuthenticateAPIKey(e.ctx, token, auth.Client{IP: "192.0.2.78"}); err != nil {
			t.Fatalf("a good key from another address: %v", err)
		}

		if err := e.svc.RevokeAPIKey(e.ctx, p, key.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.AuthenticateAPIKey(e.ctx, token, client)
		wantErr(t, err, auth.ErrInvalidCredentials)

		soon := e.clk.Now().Add(time.Hour)
		_, short, err := e.svc.CreateAPIKey(e.ctx, p, "short", []string{"users:read"}, soon)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AuthenticateAPIKey(e.ctx, short, client); err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(time.Hour)
		_, err = e.svc.AuthenticateAPIKey(e.ctx, short, client)
		wantErr(t, err, auth.ErrInvalidCredentials)
		_, _, err = e.svc.CreateAPIKey(e.ctx, e.principal(e.login(owner)), "past", []string{"users:read"}, e.clk.Now().Add(-time.Second))
		wantInput(t, err, "expires_at")

		if n := e.count(`SELECT count(*) FROM api_keys WHERE last_used_at > 0`); n != 2 {
			t.Fatalf("%d keys record their last use, want 2", n)
		}
		e.wantActions(org.ID, "apikey.create success", "apikey.revoke success", "auth.login failure")
	})
}

func TestAPIKeyNarrowsWithItsOwner(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		_, owner := e.bootstrap("Narrow", "owner@narrow.example")
		op := e.principal(owner.token)
		admin := e.member(op, "admin@narrow.example", access.Admin, access.Sender)
		ap := e.principal(admin.token)
		_, token, err := e.svc.CreateAPIKey(e.ctx, ap, "integration", []string{"messages:send", "users:read"}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		// An administrator cannot give a key PHI access they lack.
		_, _, err = e.svc.CreateAPIKey(e.ctx, ap, "phi", []string{"phi:read"}, time.Time{})
		wantErr(t, err, auth.ErrForbidden)
		_, _, err = e.svc.CreateAPIKey(e.ctx, ap, "typo", []string{"messages:sned"}, time.Time{})
		wantInput(t, err, "scopes")

		op = e.principal(e.login(owner)) // fresh for SetRoles
		if _, err := e.svc.SetRoles(e.ctx, op, admin.user.ID, []string{access.Admin}); err != nil {
			t.Fatal(err)
		}
		kp, err := e.svc.AuthenticateAPIKey(e.ctx, token, client)
		if err != nil {
			t.Fatal(err)
		}
		if kp.Perms.Has(access.MessagesSend) || !kp.Perms.Has(access.UsersRead) {
			t.Fatalf("after demotion the key holds %v", kp.Perms.Strings())
		}
	})
}

func TestDisablingAUserEndsSessionsAndKeysAtOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		org, owner := e.bootstrap("Disable", "owner@disable.example")
		op := e.principal(owner.token)
		admin := e.member(op, "admin@disable.example", access.Admin)
		second := e.login(admin)
		_, token, err := e.svc.CreateAPIKey(e.ctx, e.principal(admin.token), "k", []string{"users:read"}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.DisableUser(e.ctx, op, admin.user.ID); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{admin.token, second} {
			_, _, err := e.svc.Authenticate(e.ctx, tok)
			wantErr(t, err, auth.ErrSessionExpired)
		}
		_, err = e.svc.AuthenticateAPIKey(e.ctx, token, client)
		wantErr(t, err, auth.ErrInvalidCredentials)
		if n := e.count(`SELECT count(*) FROM sessions WHERE user_id = ? AND (ended_at = 0 OR end_reason <> 'user_disabled')`, admin.user.ID); n != 0 {
			t.Fatalf("%d sessions of the disabled user not ended", n)
		}
		if n := e.count(`SELECT count(*) FROM api_keys WHERE user_id = ? AND revoked_at = 0`, admin.user.ID); n != 0 {
			t.Fatalf("%d keys of the disabled user not revoked", n)
		}
		_, err = e.svc.BeginLogin(e.ctx, admin.email, admin.password, client)
		wantErr(t, err, auth.ErrInvalidCredentials)

		// Not oneself, and never the last owner.
		wantInput(t, e.svc.DisableUser(e.ctx, op, owner.user.ID), "id")
		wantInput(t, e.svc.AdminDisableUser(e.ctx, org.ID, owner.email), "id")
		if err := e.svc.EnableUser(e.ctx, op, admin.user.ID); err != nil {
			t.Fatal(err)
		}
		e.login(admin)
		e.wantActions(org.ID, "user.disable success", "user.enable success")
	})
}
