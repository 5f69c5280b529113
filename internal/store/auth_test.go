package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

var t0 = time.Date(2030, 1, 2, 9, 0, 0, 0, time.UTC)

// accountsFixture is one organization with one user.
func accountsFixture(t *testing.T, d store.Driver) (*store.DB, store.UserRow) {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, d)
	u := store.UserRow{ID: "usr_1", OrgID: "org_1", Email: "A@Example.org", EmailKey: "a@example.org", Name: "A",
		Status: store.UserActive, PasswordHash: "$argon2id$x", MustChangePassword: true, WebAuthnHandle: []byte{1, 2},
		CreatedAt: t0, UpdatedAt: t0}
	err := db.Tx(ctx, func(tx *store.Tx) error {
		o := store.OrgRow{ID: "org_1", Name: "One", Status: store.OrgActive, IdleTimeoutS: 900, SessionLifetimeS: 43200, CreatedAt: t0, UpdatedAt: t0}
		if err := store.InsertOrganization(ctx, tx, o); err != nil {
			return err
		}
		if err := store.InsertUser(ctx, tx, u); err != nil {
			return err
		}
		return store.SetUserRoles(ctx, tx, "org_1", "usr_1", []string{"owner", "sender"})
	})
	if err != nil {
		t.Fatal(err)
	}
	return db, u
}

func TestUsersRoundTripAndStayInTheirOrganization(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db, u := accountsFixture(t, d)
		got, err := store.GetUserByEmailKey(ctx, db.Reader(), "a@example.org")
		if err != nil || !got.MustChangePassword || got.TOTPSecret != nil || got.TOTPPending != nil || !got.CreatedAt.Equal(t0) {
			t.Fatalf("read back %+v, %v", got, err)
		}
		if _, err := store.GetUser(ctx, db.Reader(), "org_2", u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another organization reads the user: %v", err)
		}
		dup := u
		dup.ID, dup.OrgID = "usr_2", "org_1"
		err = db.Tx(ctx, func(tx *store.Tx) error { return store.InsertUser(ctx, tx, dup) })
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("a second user with the address: %v, want ErrConflict", err)
		}
		if n, err := store.CountActiveWithRole(ctx, db.Reader(), "org_1", "owner"); err != nil || n != 1 {
			t.Fatalf("owners = %d, %v", n, err)
		}
		err = db.Tx(ctx, func(tx *store.Tx) error {
			if err := store.SetUserTOTP(ctx, tx, "org_1", u.ID, store.UserTOTP{Pending: []byte("sealed"), DEKVersion: 3}, t0); err != nil {
				return err
			}
			return store.SetUserStatus(ctx, tx, "org_1", u.ID, store.UserDisabled, t0)
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ = store.GetUser(ctx, db.Reader(), "org_1", u.ID)
		if got.TOTPSecret != nil || string(got.TOTPPending) != "sealed" || got.DEKVersion != 3 || got.Status != store.UserDisabled || !got.DisabledAt.Equal(t0) {
			t.Fatalf("after updates %+v", got)
		}
		if n, _ := store.CountActiveWithRole(ctx, db.Reader(), "org_1", "owner"); n != 0 {
			t.Fatalf("a disabled owner counts as active")
		}
	})
}

func TestTOTPStepsAndRecoveryCodesAreSingleUse(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db, u := accountsFixture(t, d)
		step := func(s int64) bool {
			var ok bool
			if err := db.Tx(ctx, func(tx *store.Tx) (err error) { ok, err = store.AdvanceTOTPStep(ctx, tx, u.ID, s); return err }); err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !step(100) || step(100) || step(99) || !step(101) {
			t.Fatal("TOTP steps are not strictly increasing")
		}
		err := db.Tx(ctx, func(tx *store.Tx) error {
			return store.ReplaceRecoveryCodes(ctx, tx, u.ID, [][]byte{[]byte("h1"), []byte("h2")}, t0)
		})
		if err != nil {
			t.Fatal(err)
		}
		use := func(h string) bool {
			var ok bool
			if err := db.Tx(ctx, func(tx *store.Tx) (err error) {
				ok, err = store.UseRecoveryCode(ctx, tx, u.ID, []byte(h), t0)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !use("h1") || use("h1") || use("nope") {
			t.Fatal("recovery codes are not single use")
		}
		if n, _ := store.CountRecoveryCodes(ctx, db.Reader(), u.ID); n != 1 {
			t.Fatalf("%d codes left, want 1", n)
		}
	})
}

func TestSessionsEndOnTheServer(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db, u := accountsFixture(t, d)
		err := db.Tx(ctx, func(tx *store.Tx) error {
			for _, id := range []string{"ses_1", "ses_2", "ses_3"} {
				s := store.SessionRow{ID: id, TokenHash: []byte("hash-" + id), OrgID: u.OrgID, UserID: u.ID, AMR: "otp pwd",
					CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour), IdleTimeoutS: 900, ReauthAt: t0,
					ClientIP: "192.0.2.1", UserAgent: "ua"}
				if err := store.InsertSession(ctx, tx, s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		a, err := store.GetSessionByToken(ctx, db.Reader(), []byte("hash-ses_1"))
		if err != nil || a.Session.ID != "ses_1" || a.UserStatus != store.UserActive || a.IdleTimeoutS != 900 || a.Email != u.Email {
			t.Fatalf("by token: %+v %v", a, err)
		}
		var ended int
		err = db.Tx(ctx, func(tx *store.Tx) (err error) {
			if err := store.TouchSession(ctx, tx, "ses_1", t0.Add(time.Minute), t0.Add(30*time.Second)); err != nil {
				return err
			}
			ended, err = store.EndUserSessions(ctx, tx, u.OrgID, u.ID, "ses_2", t0, "password_change")
			return err
		})
		if err != nil || ended != 2 {
			t.Fatalf("ended %d, %v", ended, err)
		}
		open, err := store.ListOpenSessions(ctx, db.Reader(), u.OrgID, u.ID)
		if err != nil || len(open) != 1 || open[0].ID != "ses_2" {
			t.Fatalf("open sessions %+v, %v", open, err)
		}
		s1, _ := store.GetSession(ctx, db.Reader(), u.OrgID, "ses_1")
		if !s1.LastSeenAt.Equal(t0.Add(time.Minute)) || s1.EndReason != "password_change" {
			t.Fatalf("ses_1 = %+v", s1)
		}
		err = db.Tx(ctx, func(tx *store.Tx) error {
			ok, err := store.EndSession(ctx, tx, u.OrgID, "ses_1", t0, "logout")
			if err == nil && ok {
				t.Error("an ended session ended again")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.GetSession(ctx, db.Reader(), "org_2", "ses_2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another organization reads the session: %v", err)
		}
	})
}

func TestThrottleCountersLockCreateAndPrune(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		err := db.Tx(ctx, func(tx *store.Tx) error {
			r, err := store.LockThrottle(ctx, tx, "acct:a@example.org")
			if err != nil {
				return err
			}
			if r.Failures != 0 || !r.BlockedUntil.IsZero() {
				t.Errorf("new counter %+v", r)
			}
			r.Failures, r.LastFailureAt, r.BlockedUntil, r.WindowStart, r.WindowFailures = 6, t0, t0.Add(time.Second), t0, 6
			return store.SaveThrottle(ctx, tx, r)
		})
		if err != nil {
			t.Fatal(err)
		}
		r, err := store.GetThrottle(ctx, db.Reader(), "acct:a@example.org")
		if err != nil || r.Failures != 6 || !r.BlockedUntil.Equal(t0.Add(time.Second)) || r.WindowFailures != 6 {
			t.Fatalf("read back %+v, %v", r, err)
		}
		var n int
		err = db.Tx(ctx, func(tx *store.Tx) (err error) {
			n, err = store.PruneThrottle(ctx, tx, t0, t0.Add(time.Hour)) // still blocked at t0: kept
			return err
		})
		if err != nil || n != 0 {
			t.Fatalf("pruned %d (%v) while blocked", n, err)
		}
		err = db.Tx(ctx, func(tx *store.Tx) (err error) {
			n, err = store.PruneThrottle(ctx, tx, t0.Add(time.Minute), t0.Add(time.Hour))
			return err
		})
		if err != nil || n != 1 {
			t.Fatalf("pruned %d, %v", n, err)
		}
	})
}

func TestAPIKeysAndBreakGlassGrants(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db, u := accountsFixture(t, d)
		err := db.Tx(ctx, func(tx *store.Tx) error {
			k := store.APIKeyRow{ID: "key_abcdefgh", OrgID: u.OrgID, UserID: u.ID, Name: "k", SecretHash: []byte("h"),
				Scopes: "users:read", CreatedAt: t0}
			if err := store.InsertAPIKey(ctx, tx, k); err != nil {
				return err
			}
			g := store.BreakGlassRow{ID: "bgl_1", OrgID: u.OrgID, UserID: u.ID, Reason: []byte("sealed"), DEKVersion: 1,
				StartedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			return store.InsertBreakGlass(ctx, tx, g)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.GetAPIKey(ctx, db.Reader(), "org_2", "key_abcdefgh"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("another organization reads the key: %v", err)
		}
		revoke := func() (n int) {
			if err := db.Tx(ctx, func(tx *store.Tx) (err error) {
				n, err = store.RevokeUserAPIKeys(ctx, tx, u.OrgID, u.ID, t0)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if revoke() != 1 || revoke() != 0 {
			t.Fatal("revoking is not once")
		}
		if _, err := store.ActiveBreakGlass(ctx, db.Reader(), u.OrgID, u.ID, t0.Add(59*time.Minute)); err != nil {
			t.Fatalf("active grant: %v", err)
		}
		if _, err := store.ActiveBreakGlass(ctx, db.Reader(), u.OrgID, u.ID, t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired grant still active: %v", err)
		}
	})
}
