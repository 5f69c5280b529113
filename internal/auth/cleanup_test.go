package auth_test

import (
	"testing"
	"time"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestCleanupRemovesOnlyDeadSignInState(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		_, owner := e.bootstrap("Cleanup", "owner@cleanup.example")
		e.login(owner)
		if _, err := e.svc.BeginLogin(e.ctx, owner.email, owner.password, from(1)); err != nil {
			t.Fatal(err) // a half sign-in, never finished
		}
		_, err := e.svc.BeginLogin(e.ctx, owner.email, "not the password at all", from(2))
		wantErr(t, err, auth.ErrInvalidCredentials)
		if e.count(`SELECT count(*) FROM login_throttle`) == 0 || e.count(`SELECT count(*) FROM login_flows`) == 0 {
			t.Fatal("the sign-ins left no throttle or flow rows to clean")
		}

		// Nothing is dead yet: nothing goes.
		if c, err := e.svc.Cleanup(e.ctx); err != nil || c != (auth.Cleaned{}) {
			t.Fatalf("cleanup of live state: %+v %v", c, err)
		}

		sessions := e.count(`SELECT count(*) FROM sessions`)
		e.clk.Advance(auth.SessionKeep + 24*time.Hour)
		c, err := e.svc.Cleanup(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.Sessions != sessions || c.LoginFlows == 0 || c.Throttle == 0 {
			t.Fatalf("cleaned %+v; want the %d old sessions, the stale flow and the quiet throttle counters", c, sessions)
		}
		if n := e.count(`SELECT count(*) FROM sessions`) + e.count(`SELECT count(*) FROM login_flows`) +
			e.count(`SELECT count(*) FROM login_throttle`); n != 0 {
			t.Fatalf("%d rows of dead sign-in state left", n)
		}
		fresh := e.login(owner)
		if c, err := e.svc.Cleanup(e.ctx); err != nil || c != (auth.Cleaned{}) {
			t.Fatalf("cleanup right after a sign-in: %+v %v", c, err)
		}
		if n := e.count(`SELECT count(*) FROM sessions WHERE id = ?`, e.principal(fresh).SessionID); n != 1 {
			t.Fatalf("the live session was removed (%d rows)", n)
		}
	})
}
