package auth_test

import (
	"testing"
	"time"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestIdleTimeoutFollowsTheOrganization(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		org, owner := e.bootstrap("Idle", "owner@idle.example")
		// Default 15 minutes: activity keeps the session alive...
		tok := e.login(owner)
		for range 3 {
			e.clk.Advance(14 * time.Minute)
			e.principal(tok)
		}
		// ...and 15 minutes without ends it, on the server.
		e.clk.Advance(15 * time.Minute)
		_, _, err := e.svc.Authenticate(e.ctx, tok)
		wantErr(t, err, auth.ErrSessionExpired)
		if n := e.count(`SELECT count(*) FROM sessions WHERE end_reason = 'idle_timeout' AND ended_at > 0`); n != 1 {
			t.Fatalf("%d sessions ended for idleness, want 1", n)
		}
		e.wantActions(org.ID, "auth.session.end success")

		// The organization lowers it to 5 minutes: an open session obeys at once.
		tok = e.login(owner)
		p := e.principal(tok)
		five := 5 * time.Minute
		o, err := e.svc.UpdateOrganization(e.ctx, p, auth.OrgSettings{IdleTimeout: &five})
		if err != nil || o.IdleTimeout != five {
			t.Fatalf("update: %+v %v", o, err)
		}
		other := e.login(owner)
		e.clk.Advance(4 * time.Minute)
		_, s, err := e.svc.Authenticate(e.ctx, other)
		if err != nil || s.IdleTimeout != five {
			t.Fatalf("at 4 minutes: %+v %v", s, err)
		}
		e.clk.Advance(5 * time.Minute)
		_, _, err = e.svc.Authenticate(e.ctx, other)
		wantErr(t, err, auth.ErrSessionExpired)
		_, _, err = e.svc.Authenticate(e.ctx, tok)
		wantErr(t, err, auth.ErrSessionExpired)

		p = e.principal(e.login(owner))
		for _, bad := range []time.Duration{0, 30 * time.Second, 31 * time.Minute} {
			_, err := e.svc.UpdateOrganization(e.ctx, p, auth.OrgSettings{IdleTimeout: &bad})
			wantInput(t, err, "idle_timeout")
		}
		long := 13 * time.Hour
		_, err = e.svc.UpdateOrganization(e.ctx, p, auth.OrgSettings{SessionLifetime: &long})
		wantInput(t, err, "session_lifetime")
		e.wantActions(org.ID, "org.update success")
	})
}

func TestAbsoluteLifetimeEndsEvenAnActiveSession(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		_, owner := e.bootstrap("Lifetime", "owner@lifetime.example")
		tok := e.login(owner)
		_, s, err := e.svc.Authenticate(e.ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.ExpiresAt.Sub(s.CreatedAt); got != 12*time.Hour {
			t.Fatalf("lifetime %v, want 12h", got)
		}
		for e.clk.Now().Add(10 * time.Minute).Before(s.ExpiresAt) {
			e.clk.Advance(10 * time.Minute)
			e.principal(tok)
		}
		e.clk.Advance(s.ExpiresAt.Sub(e.clk.Now()))
		_, _, err = e.svc.Authenticate(e.ctx, tok)
		wantErr(t, err, auth.ErrSessionExpired)
		if n := e.count(`SELECT count(*) FROM sessions WHERE end_reason = 'expired'`); n != 1 {
			t.Fatalf("%d sessions ended by lifetime, want 1", n)
		}
	})
}

func TestLogoutAndEndSessionAreServerSide(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		org, owner := e.bootstrap("Logout", "owner@logout.example")
		a, b := e.login(owner), e.login(owner)
		if err := e.svc.Logout(e.ctx, a); err != nil {
			t.Fatal(err)
		}
		_, _, err := e.svc.Authenticate(e.ctx, a)
		wantErr(t, err, auth.ErrSessionExpired)
		if err := e.svc.Logout(e.ctx, a); err != nil {
			t.Fatalf("second logout: %v", err)
		}
		p := e.principal(b)
		list, err := e.svc.ListSessions(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		// The enrolment session and b are open; b is current.
		if len(list) != 2 || !list[0].Current || list[0].ID != p.SessionID || list[1].Current {
			t.Fatalf("sessions = %+v", list)
		}
		if err := e.svc.EndSession(e.ctx, p, list[1].ID); err != nil {
			t.Fatal(err)
		}
		_, _, err = e.svc.Authenticate(e.ctx, owner.token)
		wantErr(t, err, auth.ErrSessionExpired)

		// Another user's session needs sessions:manage.
		sender := e.member(p, "sender@logout.example", "sender")
		sp := e.principal(sender.token)
		wantErr(t, e.svc.EndSession(e.ctx, sp, p.SessionID), auth.ErrForbidden)
		if err := e.svc.EndSession(e.ctx, p, sp.SessionID); err != nil {
			t.Fatal(err)
		}
		_, _, err = e.svc.Authenticate(e.ctx, sender.token)
		wantErr(t, err, auth.ErrSessionExpired)
		e.wantActions(org.ID, "auth.logout success", "auth.session.end success")
	})
}

func TestChangePasswordNeedsTheCurrentOneAndEndsOtherSessions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		org, owner := e.bootstrap("Change", "owner@change.example")
		keep := e.login(owner)
		p := e.principal(keep)
		next := strongPassword("renewed")
		wantErr(t, e.svc.ChangePassword(e.ctx, p, "not my password at all", next), auth.ErrInvalidCredentials)
		wantInput(t, e.svc.ChangePassword(e.ctx, p, owner.password, "password1234"), "password")
		wantInput(t, e.svc.ChangePassword(e.ctx, p, owner.password, owner.password), "password")
		if err := e.svc.ChangePassword(e.ctx, p, owner.password, next); err != nil {
			t.Fatal(err)
		}
		e.principal(keep)
		_, _, err := e.svc.Authenticate(e.ctx, owner.token)
		wantErr(t, err, auth.ErrSessionExpired)
		_, err = e.svc.BeginLogin(e.ctx, owner.email, owner.password, client)
		wantErr(t, err, auth.ErrInvalidCredentials)
		owner.password = next
		e.login(owner)
		e.wantActions(org.ID, "auth.password.change success", "auth.password.change failure")
	})
}
