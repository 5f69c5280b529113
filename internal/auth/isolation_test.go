package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// Every operation that names a record by id answers store.ErrNotFound for a
// record of another organization: never its data, never "forbidden".
func TestAnotherOrganizationsRecordsAreNotFound(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		orgA, ownerA := e.bootstrap("Alpha Clinic", "owner@alpha.example")
		orgB, ownerB := e.bootstrap("Beta Hospital", "owner@beta.example")
		pb := e.principal(ownerB.token)
		userB := e.member(pb, "sender@beta.example", access.Sender)
		roleB, err := e.svc.CreateRole(e.ctx, pb, "Beta role", "", []string{"users:read"})
		if err != nil {
			t.Fatal(err)
		}
		keyB, keyBToken, err := e.svc.CreateAPIKey(e.ctx, pb, "beta", []string{"users:read"}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		pb = e.principal(e.login(ownerB))
		grantB, err := e.svc.ActivateBreakGlass(e.ctx, pb, "beta emergency access for the isolation test", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		sessB := e.principal(userB.token).SessionID

		pa := e.principal(e.login(ownerA))
		checks := map[string]func() error{
			"GetUser":     func() error { _, err := e.svc.GetUser(e.ctx, pa, userB.user.ID); return err },
			"SetRoles":    func() error { _, err := e.svc.SetRoles(e.ctx, pa, userB.user.ID, []string{access.Analyst}); return err },
			"DisableUser": func() error { return e.svc.DisableUser(e.ctx, pa, userB.user.ID) },
			"EnableUser":  func() error { return e.svc.EnableUser(e.ctx, pa, userB.user.ID) },
			"ResetMFA":    func() error { return e.svc.ResetMFA(e.ctx, pa, userB.user.ID) },
			"GetRole":     func() error { _, err := e.svc.GetRole(e.ctx, pa, roleB.ID); return err },
			"UpdateRole": func() error {
				_, err := e.svc.UpdateRole(e.ctx, pa, roleB.ID, "x", "", []string{"users:read"})
				return err
			},
			"DeleteRole":       func() error { return e.svc.DeleteRole(e.ctx, pa, roleB.ID) },
			"GetAPIKey":        func() error { _, err := e.svc.GetAPIKey(e.ctx, pa, keyB.ID); return err },
			"RevokeAPIKey":     func() error { return e.svc.RevokeAPIKey(e.ctx, pa, keyB.ID) },
			"EndSession":       func() error { return e.svc.EndSession(e.ctx, pa, sessB) },
			"BreakGlassReason": func() error { _, _, err := e.svc.BreakGlassReason(e.ctx, pa, grantB.ID); return err },
			"AdminDisableUser": func() error { return e.svc.AdminDisableUser(e.ctx, orgA.ID, userB.email) },
			"AdminResetMFA":    func() error { return e.svc.AdminResetMFA(e.ctx, orgA.ID, userB.email) },
			"SetRoles(role B)": func() error {
				_, err := e.svc.SetRoles(e.ctx, pa, ownerA.user.ID, []string{access.Owner, roleB.ID})
				return err
			},
			"AdminListUsers(?)": func() error { _, err := e.svc.AdminListUsers(e.ctx, "org_nonexistent"); return err },
		}
		for name, call := range checks {
			err := call()
			if name == "SetRoles(role B)" {
				wantInput(t, err, "roles") // an unknown role, as far as Alpha can tell
				continue
			}
			if err == nil || !isNotFound(err) {
				t.Errorf("%s with Beta's id: %v, want store.ErrNotFound", name, err)
			}
		}
		// Beta's records are untouched.
		if _, err := e.svc.AuthenticateAPIKey(e.ctx, keyBToken, client); err != nil {
			t.Fatal(err)
		}
		e.principal(userB.token)

		users, err := e.svc.ListUsers(e.ctx, pa)
		if err != nil || len(users) != 1 || users[0].ID != ownerA.user.ID {
			t.Fatalf("Alpha lists %+v, %v", users, err)
		}
		keys, err := e.svc.ListAPIKeys(e.ctx, pa)
		if err != nil || len(keys) != 0 {
			t.Fatalf("Alpha lists keys %+v, %v", keys, err)
		}
		roles, err := e.svc.ListRoles(e.ctx, pa)
		if err != nil || len(roles) != len(access.BuiltIn()) {
			t.Fatalf("Alpha lists %d roles, %v", len(roles), err)
		}
		if alerts, err := e.svc.ListAlerts(e.ctx, pa, time.Time{}); err != nil || len(alerts) != 0 {
			t.Fatalf("Alpha sees alerts %+v, %v", alerts, err)
		}
		// An address in use anywhere cannot be used, and nothing says where.
		_, _, err = e.svc.CreateUser(e.ctx, pa, auth.NewUser{Email: "Sender@Beta.example", Name: "Copy", Roles: []string{access.Sender}})
		wantInput(t, err, "email")
		if err.Error() != "email: this e-mail address cannot be used" {
			t.Fatalf("message %q", err)
		}
		if o, err := e.svc.Organization(e.ctx, pa); err != nil || o.ID != orgA.ID {
			t.Fatalf("organization %+v %v", o, err)
		}
		if n := e.count(`SELECT count(*) FROM users WHERE org_id = ? AND status = 'active'`, orgB.ID); n != 2 {
			t.Fatalf("Beta has %d active users, want 2", n)
		}
	})
}

func isNotFound(err error) bool { return err != nil && errors.Is(err, store.ErrNotFound) }
