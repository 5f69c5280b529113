package auth_test

import (
	"testing"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestNobodyGrantsWhatTheyDoNotHold(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		org, owner := e.bootstrap("Grant", "owner@grant.example")
		op := e.principal(owner.token)
		admin := e.member(op, "admin@grant.example", access.Admin)
		ap := e.principal(admin.token)

		_, err := e.svc.CreateRole(e.ctx, ap, "PHI reader", "", []string{"phi:read", "contacts:read"})
		wantErr(t, err, auth.ErrForbidden)
		_, _, err = e.svc.CreateUser(e.ctx, ap, auth.NewUser{Email: "o2@grant.example", Name: "Second Owner", Roles: []string{access.Owner}})
		wantErr(t, err, auth.ErrForbidden)
		_, err = e.svc.CreateRole(e.ctx, ap, "Owner", "", []string{"users:read"})
		wantInput(t, err, "name")
		_, err = e.svc.CreateRole(e.ctx, ap, "Empty", "", nil)
		wantInput(t, err, "permissions")

		role, err := e.svc.CreateRole(e.ctx, ap, "Helpdesk", "Looks people up", []string{"users:read", "sessions:manage"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.CreateRole(e.ctx, ap, "Helpdesk", "", []string{"users:read"})
		wantInput(t, err, "name")
		_, err = e.svc.UpdateRole(e.ctx, ap, role.ID, "Helpdesk", "", []string{"users:read", "phi:read"})
		wantErr(t, err, auth.ErrForbidden)
		_, err = e.svc.UpdateRole(e.ctx, op, access.Admin, "Admin", "", []string{"users:read"})
		wantInput(t, err, "id")
		role, err = e.svc.UpdateRole(e.ctx, ap, role.ID, "Help desk", "", []string{"users:read"})
		if err != nil || role.Name != "Help desk" {
			t.Fatalf("update: %+v %v", role, err)
		}
		roles, err := e.svc.ListRoles(e.ctx, ap)
		if err != nil || len(roles) != len(access.BuiltIn())+1 {
			t.Fatalf("list: %d roles, %v", len(roles), err)
		}

		helper := e.member(ap, "helper@grant.example", role.ID)
		hp := e.principal(helper.token)
		if !hp.Perms.Has(access.UsersRead) || hp.Perms.Has(access.SessionsManage) {
			t.Fatalf("custom role grants %v", hp.Perms.Strings())
		}
		wantInput(t, e.svc.DeleteRole(e.ctx, ap, role.ID), "id")

		// An administrator cannot act on the owner, who holds more.
		ap = e.principal(e.login(admin))
		_, err = e.svc.SetRoles(e.ctx, ap, owner.user.ID, []string{access.Analyst})
		wantErr(t, err, auth.ErrForbidden)
		wantErr(t, e.svc.DisableUser(e.ctx, ap, owner.user.ID), auth.ErrForbidden)
		wantErr(t, e.svc.ResetMFA(e.ctx, ap, owner.user.ID), auth.ErrForbidden)
		_, err = e.svc.SetRoles(e.ctx, ap, helper.user.ID, []string{"nonexistent"})
		wantInput(t, err, "roles")
		if _, err := e.svc.SetRoles(e.ctx, ap, helper.user.ID, []string{access.Analyst}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.DeleteRole(e.ctx, ap, role.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.GetRole(e.ctx, ap, role.ID)
		wantErr(t, err, store.ErrNotFound)

		// The last owner cannot be demoted; with a second owner, they can.
		op = e.principal(e.login(owner))
		_, err = e.svc.SetRoles(e.ctx, op, owner.user.ID, []string{access.Admin})
		wantInput(t, err, "roles")
		second := e.member(op, "owner2@grant.example", access.Owner)
		if _, err := e.svc.SetRoles(e.ctx, op, owner.user.ID, []string{access.Admin}); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.SetRoles(e.ctx, e.principal(second.token), second.user.ID, []string{access.Admin})
		wantInput(t, err, "roles")
		e.wantActions(org.ID, "role.create success", "role.update success", "role.delete success", "user.roles success")
	})
}

func TestSensitiveChangesNeedFreshReauthentication(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		org, owner := e.bootstrap("Fresh", "owner@fresh.example")
		tok := e.login(owner)
		op := e.principal(tok)
		sender := e.member(op, "sender@fresh.example", access.Sender)
		e.clk.Advance(5*time.Minute + time.Second)
		op = e.principal(tok)

		_, err := e.svc.SetRoles(e.ctx, op, sender.user.ID, []string{access.Analyst})
		wantErr(t, err, auth.ErrReauthRequired)
		wantErr(t, e.svc.ResetMFA(e.ctx, op, sender.user.ID), auth.ErrReauthRequired)
		_, err = e.svc.ActivateBreakGlass(e.ctx, op, "patient transferred from the emergency room", time.Hour)
		wantErr(t, err, auth.ErrReauthRequired)
		_, err = e.svc.BeginTOTP(e.ctx, op)
		wantErr(t, err, auth.ErrReauthRequired)

		wantErr(t, e.svc.Reauthenticate(e.ctx, op, "wrong password", e.code(owner.secret)), auth.ErrInvalidCredentials)
		wantErr(t, e.svc.Reauthenticate(e.ctx, op, owner.password, "000000"), auth.ErrInvalidCredentials)
		wantErr(t, e.svc.Reauthenticate(e.ctx, op, owner.password, ""), auth.ErrMFARequired)
		if err := e.svc.Reauthenticate(e.ctx, op, owner.password, e.code(owner.secret)); err != nil {
			t.Fatal(err)
		}
		op = e.principal(tok)
		if _, err := e.svc.SetRoles(e.ctx, op, sender.user.ID, []string{access.Analyst}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ResetMFA(e.ctx, op, sender.user.ID); err != nil {
			t.Fatal(err)
		}
		// The reset ended the sender's sessions and their next sign-in
		// must enrol again.
		_, _, err = e.svc.Authenticate(e.ctx, sender.token)
		wantErr(t, err, auth.ErrSessionExpired)
		f, err := e.svc.BeginLogin(e.ctx, sender.email, sender.password, client)
		if err != nil || f.Stage != auth.StageEnrollMFA {
			t.Fatalf("after reset: %+v %v", f, err)
		}
		e.wantActions(org.ID, "auth.reauth success", "auth.reauth failure", "auth.mfa.reset success")
	})
}

func TestReplacingTheAuthenticatorKeepsTheOldOneUntilConfirmed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		_, owner := e.bootstrap("Replace", "owner@replace.example")
		p := e.principal(e.login(owner))
		en, err := e.svc.BeginTOTP(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		// Abandoned: the old authenticator still signs in.
		e.clk.Advance(time.Minute)
		tok := e.login(owner)
		p = e.principal(tok)
		if en, err = e.svc.BeginTOTP(e.ctx, p); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.ConfirmTOTP(e.ctx, p, e.codeAt(owner.secret, 0))
		wantErr(t, err, auth.ErrInvalidCode)
		codes, err := e.svc.ConfirmTOTP(e.ctx, p, e.code(en.Secret))
		if err != nil || codes != nil {
			t.Fatalf("confirm: %v codes, %v (recovery codes remain, so none are issued)", codes, err)
		}
		e.clk.Advance(30 * time.Second)
		old := owner.secret
		owner.secret = en.Secret
		e.login(owner)
		f, err := e.svc.BeginLogin(e.ctx, owner.email, owner.password, client)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.FlowVerifyTOTP(e.ctx, f.Token, e.code(old), client)
		wantErr(t, err, auth.ErrInvalidCode)
	})
}
