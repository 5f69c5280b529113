package auth_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestBreakGlassGrantsPHIForItsDurationOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		org, owner := e.bootstrap("Emergency", "owner@emergency.example")
		op := e.principal(owner.token)
		admin := e.member(op, "admin@emergency.example", access.Admin)
		analyst := e.member(op, "analyst@emergency.example", access.Analyst)
		tok := admin.token
		ap := e.principal(tok)
		if ap.Perms.Has(access.PHIRead) {
			t.Fatal("an administrator reads PHI without emergency access")
		}
		const reason = "Patient Jane Roe 1961-04-02 unconscious in the ED, chart needed"
		_, err := e.svc.ActivateBreakGlass(e.ctx, ap, "need it", time.Hour)
		wantInput(t, err, "reason")
		_, err = e.svc.ActivateBreakGlass(e.ctx, ap, reason, 5*time.Hour)
		wantInput(t, err, "duration")
		_, err = e.svc.ActivateBreakGlass(e.ctx, e.principal(analyst.token), reason, time.Hour)
		wantErr(t, err, auth.ErrForbidden)

		g, err := e.svc.ActivateBreakGlass(e.ctx, ap, reason, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if g.ExpiresAt.Sub(g.StartedAt) != 10*time.Minute || g.UserID != admin.user.ID {
			t.Fatalf("grant = %+v", g)
		}
		ap = e.principal(tok)
		if !ap.Perms.Has(access.PHIRead) || !ap.Perms.Has(access.MessagesReadAll) || !ap.BreakGlassUntil.Equal(g.ExpiresAt) {
			t.Fatalf("during emergency access: %v until %v", ap.Perms.Strings(), ap.BreakGlassUntil)
		}
		// Emergency permissions are the holder's, never grantable.
		_, err = e.svc.CreateRole(e.ctx, ap, "Leak", "", []string{"phi:read"})
		wantErr(t, err, auth.ErrForbidden)
		_, _, err = e.svc.CreateAPIKey(e.ctx, ap, "leak", []string{"phi:read"}, time.Time{})
		wantErr(t, err, auth.ErrForbidden)

		alerts, err := e.svc.ListAlerts(e.ctx, op, time.Time{})
		if err != nil || len(alerts) != 1 || alerts[0].Kind != "auth.breakglass" || alerts[0].Severity != auth.SeverityHigh ||
			alerts[0].Details["grant_id"] != g.ID {
			t.Fatalf("alerts = %+v, %v", alerts, err)
		}
		e.clk.Advance(10*time.Minute + time.Second)
		ap = e.principal(tok)
		if ap.Perms.Has(access.PHIRead) || !ap.BreakGlassUntil.IsZero() {
			t.Fatalf("after expiry: %v", ap.Perms.Strings())
		}

		// Ending early.
		ap = e.principal(e.login(admin))
		if _, err := e.svc.ActivateBreakGlass(e.ctx, ap, reason, 0); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.EndBreakGlass(e.ctx, ap); err != nil {
			t.Fatal(err)
		}
		if e.principal(tok).Perms.Has(access.PHIRead) {
			t.Fatal("emergency access survives its end")
		}

		// The reason is sealed; a compliance review opens it, audited.
		_, got, err := e.svc.BreakGlassReason(e.ctx, op, g.ID)
		if err != nil || got != reason {
			t.Fatalf("review: %q %v", got, err)
		}
		_, _, err = e.svc.BreakGlassReason(e.ctx, e.principal(analyst.token), g.ID)
		wantErr(t, err, auth.ErrForbidden)
		if path := e.app.DB.Path(); path != "" {
			for _, f := range []string{path, path + "-wal"} {
				raw, err := os.ReadFile(f)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				if bytes.Contains(raw, []byte("Jane Roe")) {
					t.Fatalf("the reason is in the clear in %s", f)
				}
			}
		}
		if n := e.count(`SELECT count(*) FROM alerts WHERE details LIKE '%Roe%'`); n != 0 {
			t.Fatal("the reason reached an alert")
		}
		recs, _ := e.records(org.ID)
		for _, r := range recs {
			if strings.Contains(r.Details, "Roe") {
				t.Fatal("the reason reached the audit log")
			}
		}
		e.wantActions(org.ID, "auth.breakglass.activate success", "auth.breakglass.end success", "auth.breakglass.review success")
	})
}
