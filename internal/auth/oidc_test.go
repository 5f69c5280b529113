package auth_test

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/auth/oidctest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

const testRedirect = "https://carepost.test/login/sso/callback"

// ssoSetup is setup with a loopback OpenID provider knowing clients, and a
// service that trusts its CA.
func ssoSetup(t *testing.T, d store.Driver, clients map[string]string) (*env, *oidctest.Provider) {
	t.Helper()
	e := setup(t, d)
	idp := oidctest.New(t, e.clk.Now, clients)
	e.svc = auth.New(e.app.DB, auth.Options{Clock: e.clk.Now, Keys: e.app.Keys, Audit: e.app.Audit, Hasher: fastHasher(),
		OIDC: auth.OIDCOptions{RedirectURL: testRedirect, HTTPClient: idp.Client}})
	return e, idp
}

func secret(s string) *string { return &s }

// configure sets up p's organization's provider.
func (e *env) configure(p auth.Principal, idp *oidctest.Provider, clientID, slug string, trust bool) {
	e.t.Helper()
	_, err := e.svc.PutSSO(e.ctx, p, auth.SSOInput{Issuer: idp.Issuer, ClientID: clientID, ClientSecret: secret(idp.Secret(clientID)),
		Slug: slug, RoleMap: map[string][]string{"clinicians": {"sender"}, "analysts": {"analyst"}}, TrustAMR: trust, Enabled: true})
	if err != nil {
		e.t.Fatalf("configure SSO: %v", err)
	}
}

// sso signs u in at the provider of ref and brings the answer back.
func (e *env) sso(idp *oidctest.Provider, ref string, u oidctest.User, tweak func(map[string]any)) (auth.SSOResult, error) {
	e.t.Helper()
	idp.Next(u, tweak)
	start, err := e.svc.BeginSSO(e.ctx, ref)
	if err != nil {
		e.t.Fatalf("begin SSO: %v", err)
	}
	code, state := idp.Approve(start.URL)
	if state != start.State || code == "" {
		e.t.Fatalf("provider returned state %q code %q", state, code)
	}
	return e.svc.FinishSSO(e.ctx, state, code, "", client)
}

func (e *env) userByEmail(email string) (id string, roles []string, pwHash string) {
	e.t.Helper()
	var org string
	if err := store.Scan(e.app.DB.Reader().QueryRow(e.ctx, `SELECT id, org_id, password_hash FROM users WHERE email_key = ?`,
		strings.ToLower(email)), &id, &org, &pwHash); err != nil {
		e.t.Fatalf("user %s: %v", email, err)
	}
	roles, err := store.UserRoles(e.ctx, e.app.DB.Reader(), org, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return id, roles, pwHash
}

func TestSSOProvisionsJustInTimeAndMapsGroupsToRolesOnEverySignIn(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e, idp := ssoSetup(t, d, map[string]string{"carepost-a": "s3cret-client-a"})
		org, owner := e.bootstrap("Harbor Clinic", "owner@harbor.example")
		e.configure(e.principal(owner.token), idp, "carepost-a", "harbor", true)
		carol := oidctest.User{Sub: "idp-carol", Email: "Carol@Harbor.example", Name: "Carol Clinician", Groups: []string{"clinicians", "it"},
			AMR: []string{"pwd", "mfa"}}

		res, err := e.sso(idp, "harbor", carol, nil)
		if err != nil || res.Session == nil || res.Flow != nil {
			t.Fatalf("first SSO sign-in: %+v, %v", res, err)
		}
		id, roles, pw := e.userByEmail("carol@harbor.example")
		if !slices.Equal(roles, []string{"sender"}) || pw != "" {
			t.Fatalf("provisioned with roles %v, password %q", roles, pw)
		}
		if s := strings.Join(res.Session.AMR, " "); s != "idp:mfa idp:pwd sso" {
			t.Fatalf("session amr = %q", s)
		}
		// A password never signs an SSO account in.
		_, err = e.svc.BeginLogin(e.ctx, "carol@harbor.example", "", client)
		wantErr(t, err, auth.ErrInvalidCredentials)

		// The next sign-in brings new groups: the roles follow, same user.
		carol.Groups = []string{"analysts", "clinicians"}
		if res, err = e.sso(idp, org.ID, carol, nil); err != nil || res.Session == nil {
			t.Fatalf("second SSO sign-in: %+v, %v", res, err)
		}
		id2, roles, _ := e.userByEmail("carol@harbor.example")
		if id2 != id || !slices.Equal(roles, []string{"analyst", "sender"}) {
			t.Fatalf("after the second sign-in: user %s roles %v", id2, roles)
		}
		// In no mapped group and no default role: no access at all.
		carol.Groups = []string{"visitors"}
		_, err = e.sso(idp, "harbor", carol, nil)
		wantErr(t, err, auth.ErrSSORefused)
		e.wantActions(org.ID, "user.create success", "user.roles success", "auth.login failure")
		if n := e.count(`SELECT count(*) FROM users WHERE sso_subject = 'idp-carol'`); n != 1 {
			t.Fatalf("%d linked accounts", n)
		}
	})
}

func TestSSOStillNeedsCarepostMFAUnlessTheProviderIsTrusted(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e, idp := ssoSetup(t, d, map[string]string{"carepost-a": "s3cret-client-a"})
		_, owner := e.bootstrap("Harbor Clinic", "owner@harbor.example")
		p := e.principal(owner.token)
		e.configure(p, idp, "carepost-a", "", false) // amr not trusted
		dan := oidctest.User{Sub: "idp-dan", Email: "dan@harbor.example", Name: "Dan", Groups: []string{"clinicians"}, AMR: []string{"mfa"}}
		sessions := func() int {
			return e.count(`SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.sso_subject = 'idp-dan'`)
		}

		res, err := e.sso(idp, p.OrgID, dan, nil)
		if err != nil || res.Session != nil || res.Flow == nil || res.Flow.Stage != auth.StageEnrollMFA {
			t.Fatalf("untrusted amr: %+v, %v", res, err)
		}
		if sessions() != 0 {
			t.Fatal("a session exists before carepost's second factor")
		}
		en, err := e.svc.FlowBeginTOTP(e.ctx, res.Flow.Token)
		if err != nil {
			t.Fatal(err)
		}
		sess, _, err := e.svc.FlowConfirmTOTP(e.ctx, res.Flow.Token, e.code(en.Secret), client)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(sess.AMR, " ") != "otp sso" {
			t.Fatalf("amr = %v", sess.AMR)
		}
		e.clk.Advance(30 * time.Second)
		// Next time the stage is mfa: still no password asked.
		if res, err = e.sso(idp, p.OrgID, dan, nil); err != nil || res.Flow == nil || res.Flow.Stage != auth.StageMFA {
			t.Fatalf("second sign-in: %+v, %v", res, err)
		}
		if _, err := e.svc.FlowVerifyTOTP(e.ctx, res.Flow.Token, e.code(en.Secret), client); err != nil {
			t.Fatal(err)
		}
		// Trusted, but the provider names only a password: carepost's MFA.
		e.clk.Advance(6 * time.Minute)
		owner.token = e.login(owner)
		e.configure(e.principal(owner.token), idp, "carepost-a", "", true)
		dan.AMR = []string{"pwd"}
		if res, err = e.sso(idp, p.OrgID, dan, nil); err != nil || res.Flow == nil || res.Session != nil {
			t.Fatalf("trusted provider, password only: %+v, %v", res, err)
		}
	})
}

func TestSSORefusesBadTokensAndReplayedOrExpiredState(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e, idp := ssoSetup(t, d, map[string]string{"carepost-a": "s3cret-client-a"})
		org, owner := e.bootstrap("Harbor Clinic", "owner@harbor.example")
		e.configure(e.principal(owner.token), idp, "carepost-a", "harbor", true)
		eve := oidctest.User{Sub: "idp-eve", Email: "eve@harbor.example", Groups: []string{"clinicians"}, AMR: []string{"mfa"}}
		for name, tweak := range map[string]func(map[string]any){
			"wrong nonce":        func(c map[string]any) { c["nonce"] = "not-the-one-we-sent" },
			"wrong audience":     func(c map[string]any) { c["aud"] = "someone-else" },
			"several audiences":  func(c map[string]any) { c["aud"] = []string{"carepost-a", "someone-else"} },
			"expired token":      func(c map[string]any) { c["exp"] = e.clk.Now().Add(-time.Minute).Unix() },
			"wrong issuer":       func(c map[string]any) { c["iss"] = "https://evil.example" },
			"unverified address": func(c map[string]any) { c["email_verified"] = false },
		} {
			if _, err := e.sso(idp, "harbor", eve, tweak); err != auth.ErrSSORefused {
				t.Errorf("%s: error = %v, want ErrSSORefused", name, err)
			}
		}
		if n := e.count(`SELECT count(*) FROM users WHERE sso_subject = 'idp-eve'`); n != 0 {
			t.Fatalf("a refused token provisioned %d accounts", n)
		}
		for _, reason := range []string{"bad_nonce", "bad_id_token", "bad_azp", "expired_token", "email_unverified"} {
			if e.count(`SELECT count(*) FROM audit_entries WHERE chain = ? AND action = 'auth.login' AND details LIKE ?`,
				org.ID, "%"+reason+"%") == 0 {
				t.Errorf("no refusal audited with reason %s", reason)
			}
		}

		// A state works once.
		idp.Next(eve, nil)
		start, err := e.svc.BeginSSO(e.ctx, "harbor")
		if err != nil {
			t.Fatal(err)
		}
		code, state := idp.Approve(start.URL)
		if res, err := e.svc.FinishSSO(e.ctx, state, code, "", client); err != nil || res.Session == nil {
			t.Fatalf("good sign-in: %+v, %v", res, err)
		}
		_, err = e.svc.FinishSSO(e.ctx, state, code, "", client)
		wantErr(t, err, auth.ErrFlowExpired)
		// A state expires after ten minutes, and is spent even so.
		start, _ = e.svc.BeginSSO(e.ctx, "harbor")
		code, state = idp.Approve(start.URL)
		e.clk.Advance(11 * time.Minute)
		_, err = e.svc.FinishSSO(e.ctx, state, code, "", client)
		wantErr(t, err, auth.ErrFlowExpired)
		// The provider's refusal is a refusal, and spends the state.
		start, _ = e.svc.BeginSSO(e.ctx, "harbor")
		_, state = idp.Approve(start.URL)
		_, err = e.svc.FinishSSO(e.ctx, state, "", "access_denied", client)
		wantErr(t, err, auth.ErrSSORefused)
		_, err = e.svc.FinishSSO(e.ctx, "made-up-state", "code", "", client)
		wantErr(t, err, auth.ErrFlowExpired)
		// An unknown organization offers nothing to start.
		_, err = e.svc.BeginSSO(e.ctx, "no-such-org")
		wantErr(t, err, auth.ErrSSOUnavailable)
	})
}

func TestSSOProviderOfOneOrganizationCannotSignIntoAnother(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e, idp := ssoSetup(t, d, map[string]string{"client-a": "secret-of-client-a", "client-b": "secret-of-client-b"})
		orgA, ownerA := e.bootstrap("Harbor Clinic", "owner@harbor.example")
		orgB, ownerB := e.bootstrap("Summit Hospital", "owner@summit.example")
		e.configure(e.principal(ownerA.token), idp, "client-a", "harbor", true)
		e.configure(e.principal(ownerB.token), idp, "client-b", "summit", true)
		shared := oidctest.User{Sub: "idp-shared", Email: "pat@harbor.example", Groups: []string{"clinicians"}, AMR: []string{"mfa"}}

		if res, err := e.sso(idp, "harbor", shared, nil); err != nil || res.Session == nil || res.Session.OrgID != orgA.ID {
			t.Fatalf("sign-in to A: %+v, %v", res, err)
		}
		// The same person at B's provider: their account is A's, so no.
		_, err := e.sso(idp, "summit", shared, nil)
		wantErr(t, err, auth.ErrSSORefused)
		// A state begun for A, finished with a code issued to B's client:
		// the state binds A, A's client cannot redeem B's code.
		idp.Next(shared, nil)
		startA, _ := e.svc.BeginSSO(e.ctx, "harbor")
		startB, _ := e.svc.BeginSSO(e.ctx, "summit")
		_, stateA := idp.Approve(startA.URL)
		codeB, _ := idp.Approve(startB.URL)
		_, err = e.svc.FinishSSO(e.ctx, stateA, codeB, "", client)
		wantErr(t, err, auth.ErrSSORefused)
		if n := e.count(`SELECT count(*) FROM users WHERE org_id = ? AND sso_subject <> ''`, orgB.ID); n != 0 {
			t.Fatalf("organization B got %d SSO accounts", n)
		}
		if e.count(`SELECT count(*) FROM audit_entries WHERE chain = ? AND details LIKE '%other_org%'`, orgB.ID) != 1 {
			t.Fatal("the cross-organization attempt was not audited in B")
		}
	})
}

func TestSSOSettingsAreFreshOnlyScopedAndTheSecretStaysSealed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		const clientSecret = "very-distinctive-client-secret-7f3a9"
		e, idp := ssoSetup(t, d, map[string]string{"carepost-a": clientSecret})
		_, owner := e.bootstrap("Harbor Clinic", "owner@harbor.example")
		p := e.principal(owner.token)
		admin := e.member(p, "admin@harbor.example", "admin")
		ap := e.principal(admin.token)
		in := auth.SSOInput{Issuer: idp.Issuer, ClientID: "carepost-a", ClientSecret: secret(clientSecret), Enabled: true,
			RoleMap: map[string][]string{"leaders": {"owner"}}}
		// An admin cannot map a group to a role holding more than they do.
		_, err := e.svc.PutSSO(e.ctx, ap, in)
		wantErr(t, err, auth.ErrForbidden)
		in.RoleMap = map[string][]string{"clinicians": {"no-such-role"}}
		_, err = e.svc.PutSSO(e.ctx, ap, in)
		wantInput(t, err, "role_map")
		in.RoleMap, in.DefaultRole = nil, "analyst"
		in.Issuer = "http://insecure.example"
		_, err = e.svc.PutSSO(e.ctx, ap, in)
		wantInput(t, err, "issuer")
		in.Issuer = idp.Issuer
		cfg, err := e.svc.PutSSO(e.ctx, ap, in)
		if err != nil || !cfg.ClientSecretSet || cfg.RedirectURL != testRedirect || !slices.Equal(cfg.Scopes, []string{"openid", "email", "profile"}) {
			t.Fatalf("put: %+v, %v", cfg, err)
		}
		// Replacing without a secret keeps it: the default role signs in.
		in.ClientSecret = nil
		if _, err := e.svc.PutSSO(e.ctx, ap, in); err != nil {
			t.Fatal(err)
		}
		if res, err := e.sso(idp, p.OrgID, oidctest.User{Sub: "s1", Email: "sam@harbor.example", AMR: []string{"otp"}}, nil); err != nil || res.Flow == nil {
			t.Fatalf("sign-in with the kept secret: %+v, %v", res, err)
		}
		// Changing SSO needs a fresh re-authentication.
		e.clk.Advance(6 * time.Minute)
		_, err = e.svc.PutSSO(e.ctx, e.principal(admin.token), in)
		wantErr(t, err, auth.ErrReauthRequired)
		wantErr(t, e.svc.DeleteSSO(e.ctx, e.principal(admin.token)), auth.ErrReauthRequired)

		if d == store.SQLite {
			var raw []byte
			for _, f := range []string{e.app.DB.Path(), e.app.DB.Path() + "-wal"} {
				b, err := os.ReadFile(f)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				raw = append(raw, b...)
			}
			if len(raw) == 0 || bytes.Contains(raw, []byte(clientSecret)) {
				t.Fatalf("the client secret is readable in the database file (%d bytes read)", len(raw))
			}
		}
		admin.token = e.login(admin)
		if err := e.svc.DeleteSSO(e.ctx, e.principal(admin.token)); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.SSO(e.ctx, e.principal(admin.token))
		wantErr(t, err, store.ErrNotFound)
		_, err = e.svc.BeginSSO(e.ctx, p.OrgID)
		wantErr(t, err, auth.ErrSSOUnavailable)
	})
}
