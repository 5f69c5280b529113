package auth_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func throttled(t *testing.T, err error) time.Duration {
	t.Helper()
	var te *auth.ThrottledError
	if !errors.As(err, &te) || te.RetryAfter <= 0 {
		t.Fatalf("error = %v, want *ThrottledError with RetryAfter > 0", err)
	}
	return te.RetryAfter
}

// from is a client at a distinct address, so a test of the account counter
// is not also a test of the address counter.
func from(i int) auth.Client {
	return auth.Client{IP: fmt.Sprintf("203.0.113.%d", i%250+1), UserAgent: "throttle-test"}
}

func TestAccountThrottleGrowsIsCappedAndLifts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		org, owner := e.bootstrap("Throttle", "owner@throttle.example")
		for i := range 5 {
			_, err := e.svc.BeginLogin(e.ctx, owner.email, "wrong password "+fmt.Sprint(i), from(i))
			wantErr(t, err, auth.ErrInvalidCredentials)
		}
		// The sixth attempt is refused even with the right password.
		_, err := e.svc.BeginLogin(e.ctx, owner.email, owner.password, from(6))
		wait := throttled(t, err)
		if wait > time.Second {
			t.Fatalf("first delay %v, want 1s", wait)
		}
		e.clk.Advance(wait)
		if _, err := e.svc.BeginLogin(e.ctx, owner.email, owner.password, from(7)); err != nil {
			t.Fatalf("after the delay: %v", err)
		}

		// Success reset the account; now fail on and on: delays double up
		// to the cap and never beyond.
		var last time.Duration
		for i := range 30 {
			_, err := e.svc.BeginLogin(e.ctx, owner.email, "still wrong", from(10+i))
			if i < 4 {
				wantErr(t, err, auth.ErrInvalidCredentials)
				continue
			}
			wantErr(t, err, auth.ErrInvalidCredentials)
			_, err = e.svc.BeginLogin(e.ctx, owner.email, owner.password, from(100+i))
			last = throttled(t, err)
			if last > 15*time.Minute {
				t.Fatalf("delay %v exceeds the 15 minute cap", last)
			}
			e.clk.Advance(last)
		}
		if last != 15*time.Minute {
			t.Fatalf("delay after 30 failures = %v, want the cap", last)
		}
		if _, err := e.svc.BeginLogin(e.ctx, owner.email, owner.password, from(200)); err != nil {
			t.Fatalf("after the capped delay: %v", err)
		}
		recs, err := e.records(org.ID)
		if err != nil {
			t.Fatal(err)
		}
		var reasons, ips = map[string]int{}, 0
		for _, r := range recs {
			if r.Action == "auth.login" && r.Outcome == string(audit.Failure) {
				for _, rsn := range []string{"bad_password", "throttled"} {
					if strings.Contains(r.Details, `"`+rsn+`"`) {
						reasons[rsn]++
					}
				}
				if r.ClientIP != "" && r.UserAgent == "throttle-test" {
					ips++
				}
			}
		}
		if reasons["bad_password"] != 35 || reasons["throttled"] != 27 || ips != 62 {
			t.Fatalf("audited failures: %v, %d with client IP and agent", reasons, ips)
		}
	})
}

func TestAddressThrottleCoversUnknownAccounts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		org, owner := e.bootstrap("Spray", "owner@spray.example")
		attacker := auth.Client{IP: "198.51.100.66", UserAgent: "spray"}
		for i := range 5 {
			_, err := e.svc.BeginLogin(e.ctx, fmt.Sprintf("nobody%d@spray.example", i), "guess", attacker)
			wantErr(t, err, auth.ErrInvalidCredentials)
		}
		_, err := e.svc.BeginLogin(e.ctx, owner.email, owner.password, attacker)
		throttled(t, err)
		// The owner elsewhere is not affected.
		if _, err := e.svc.BeginLogin(e.ctx, owner.email, owner.password, client); err != nil {
			t.Fatal(err)
		}
		// Unknown accounts are audited install-wide, with no target and no
		// trace of the typed address (verifyAudit checks for '@').
		recs, err := e.records(audit.SystemChain)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range recs {
			if r.Action == "auth.login" && strings.Contains(r.Details, "unknown_account") {
				n++
				if r.TargetID != "" || r.ClientIP != "198.51.100.66" || strings.Contains(r.Details, "nobody") {
					t.Fatalf("unknown-account entry %+v", r)
				}
			}
		}
		if n != 5 {
			t.Fatalf("%d unknown-account failures audited, want 5", n)
		}
		e.wantActions(org.ID, "auth.login failure")
	})
}

func TestFailuresAboveTheThresholdRaiseOneAlertPerWindow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		org, owner := e.bootstrap("Alerts", "owner@alerts.example")
		fail := func(email string, i int) {
			t.Helper()
			for {
				_, err := e.svc.BeginLogin(e.ctx, email, "wrong", from(i))
				var te *auth.ThrottledError
				if errors.As(err, &te) {
					e.clk.Advance(te.RetryAfter)
					continue
				}
				wantErr(t, err, auth.ErrInvalidCredentials)
				return
			}
		}
		start := e.clk.Now()
		for i := range 12 {
			fail(owner.email, i)
		}
		if e.clk.Now().Sub(start) > 15*time.Minute {
			t.Fatalf("the failures took %v, more than the window", e.clk.Now().Sub(start))
		}
		p := e.principal(e.loginAfterThrottle(owner))
		alerts, err := e.svc.ListAlerts(e.ctx, p, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(alerts) != 1 || alerts[0].Kind != "auth.failures" || alerts[0].Details["user_id"] != owner.user.ID ||
			alerts[0].Details["failures"] != "10" || alerts[0].OrgID != org.ID {
			t.Fatalf("alerts = %+v", alerts)
		}
		// Unknown accounts alert install-wide, without the address.
		for i := range 10 {
			fail("ghost@alerts.example", 50+i)
		}
		sys, err := e.svc.SystemAlerts(e.ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(sys) != 1 || sys[0].Details["subject"] != "unknown_account" || strings.Contains(fmt.Sprint(sys[0].Details), "ghost") {
			t.Fatalf("system alerts = %+v", sys)
		}
		// A sender cannot read alerts.
		sender := e.member(p, "sender@alerts.example", "sender")
		_, err = e.svc.ListAlerts(e.ctx, e.principal(sender.token), time.Time{})
		wantErr(t, err, auth.ErrForbidden)
	})
}

// loginAfterThrottle waits out any block, then signs in.
func (e *env) loginAfterThrottle(acc *account) string {
	e.t.Helper()
	for range 3 {
		_, err := e.svc.BeginLogin(e.ctx, acc.email, acc.password, client)
		var te *auth.ThrottledError
		if errors.As(err, &te) {
			e.clk.Advance(te.RetryAfter)
			continue
		}
		if err != nil {
			e.t.Fatal(err)
		}
		break
	}
	return e.login(acc)
}
