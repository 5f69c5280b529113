package auth_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestFirstSignInChangesPasswordThenEnrolsBeforeAnySession(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		org, u, otp, err := e.svc.Bootstrap(e.ctx, "Riverside Clinic", "Owner@Riverside.example", "Olive Owner")
		if err != nil {
			t.Fatal(err)
		}
		if !u.MustChangePassword || u.MFA.Enrolled() || u.Roles[0] != access.Owner {
			t.Fatalf("bootstrapped owner = %+v", u)
		}
		sessions := func() int { return e.count(`SELECT count(*) FROM sessions`) }

		flow, err := e.svc.BeginLogin(e.ctx, "owner@riverside.example", otp, client) // address is case-insensitive
		if err != nil {
			t.Fatal(err)
		}
		if flow.Stage != auth.StageChangePassword || flow.Token == "" || flow.OrgID != org.ID {
			t.Fatalf("first flow = %+v", flow)
		}
		if sessions() != 0 {
			t.Fatal("a session exists after the password alone")
		}
		_, err = e.svc.FlowBeginTOTP(e.ctx, flow.Token)
		wantErr(t, err, auth.ErrWrongStage)
		_, err = e.svc.FlowChangePassword(e.ctx, flow.Token, "riverside clinic")
		wantInput(t, err, "password")
		_, err = e.svc.FlowChangePassword(e.ctx, flow.Token, otp)
		wantInput(t, err, "password")

		pw := strongPassword("first")
		flow2, err := e.svc.FlowChangePassword(e.ctx, flow.Token, pw)
		if err != nil {
			t.Fatal(err)
		}
		if flow2.Stage != auth.StageEnrollMFA || flow2.Token != "" || !slicesEqual(flow2.Methods, []string{"totp", "webauthn"}) {
			t.Fatalf("after the password change: %+v", flow2)
		}
		if sessions() != 0 {
			t.Fatal("a session exists before MFA enrolment")
		}
		en, err := e.svc.FlowBeginTOTP(e.ctx, flow.Token)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(en.URI, "otpauth://totp/carepost:") || !strings.Contains(en.URI, "secret="+en.Secret) ||
			!bytes.HasPrefix(en.QRPNG, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("enrolment = %q, %d bytes of QR", en.URI, len(en.QRPNG))
		}
		_, _, err = e.svc.FlowConfirmTOTP(e.ctx, flow.Token, "000000", client)
		wantErr(t, err, auth.ErrInvalidCode)
		err = e.app.DB.Tx(e.ctx, func(tx *store.Tx) error {
			_, err := e.svc.FinishFlow(e.ctx, tx, flowID(t, e, flow.OrgID), []string{auth.AMRPassword}, client)
			return err
		})
		wantErr(t, err, auth.ErrMFARequired)
		if sessions() != 0 {
			t.Fatal("a session exists before the TOTP code was confirmed")
		}

		sess, codes, err := e.svc.FlowConfirmTOTP(e.ctx, flow.Token, e.code(en.Secret), client)
		if err != nil {
			t.Fatal(err)
		}
		if sess.Token == "" || len(codes) != 10 || !slicesEqual(sess.AMR, []string{"otp", "pwd"}) {
			t.Fatalf("session %+v, %d recovery codes", sess, len(codes))
		}
		for _, c := range codes {
			if len(c) != 11 || c[5] != '-' {
				t.Fatalf("recovery code shape %q", c)
			}
		}
		if sessions() != 1 {
			t.Fatalf("%d sessions after sign-in, want 1", sessions())
		}
		_, err = e.svc.LoginFlow(e.ctx, flow.Token)
		wantErr(t, err, auth.ErrFlowExpired)
		p := e.principal(sess.Token)
		if p.OrgID != org.ID || p.UserID != u.ID || !p.Perms.Has(access.PHIRead) || p.Actor().Type != audit.ActorUser {
			t.Fatalf("principal = %+v", p)
		}
		_, err = e.svc.BeginLogin(e.ctx, "owner@riverside.example", otp, client)
		wantErr(t, err, auth.ErrInvalidCredentials)

		// Stored: hashes and ciphertext only.
		var tokenHash, secret []byte
		if err := store.Scan(e.app.DB.Reader().QueryRow(e.ctx, `SELECT s.token_hash, u.totp_secret FROM sessions s JOIN users u ON u.id = s.user_id`),
			&tokenHash, &secret); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(tokenHash, []byte(sess.Token)) || bytes.Contains(secret, []byte(en.Secret)) || len(secret) < 40 {
			t.Fatal("a token or TOTP secret is stored in the clear")
		}
		e.wantActions(org.ID, "org.create success", "user.create success", "auth.login success",
			"auth.password.change success", "auth.mfa.enroll success", "auth.login failure")
	})
}

// flowID reads the id of the one flow of an organization.
func flowID(t *testing.T, e *env, orgID string) string {
	t.Helper()
	var id string
	if err := store.Scan(e.app.DB.Reader().QueryRow(e.ctx, `SELECT id FROM login_flows WHERE org_id = ?`, orgID), &id); err != nil {
		t.Fatal(err)
	}
	return id
}

func slicesEqual(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func TestTOTPWrongAndReplayedCodesAreRefused(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		org, owner := e.bootstrap("Hillside", "owner@hillside.example")
		begin := func() auth.Flow {
			t.Helper()
			f, err := e.svc.BeginLogin(e.ctx, owner.email, owner.password, client)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		f := begin()
		if f.Stage != auth.StageMFA || !slicesEqual(f.Methods, []string{"totp", "recovery"}) {
			t.Fatalf("flow = %+v", f)
		}
		_, err := e.svc.FlowVerifyTOTP(e.ctx, f.Token, "123456", client)
		wantErr(t, err, auth.ErrInvalidCode)
		code := e.code(owner.secret)
		if _, err := e.svc.FlowVerifyTOTP(e.ctx, f.Token, code, client); err != nil {
			t.Fatal(err)
		}
		// The same code in a new sign-in, still inside its 30 seconds.
		f = begin()
		_, err = e.svc.FlowVerifyTOTP(e.ctx, f.Token, code, client)
		wantErr(t, err, auth.ErrInvalidCode)
		// The previous step's code (within the skew) is older: refused too.
		_, err = e.svc.FlowVerifyTOTP(e.ctx, f.Token, e.codeAt(owner.secret, -30*time.Second), client)
		wantErr(t, err, auth.ErrInvalidCode)
		e.clk.Advance(30 * time.Second)
		if _, err := e.svc.FlowVerifyTOTP(e.ctx, f.Token, e.code(owner.secret), client); err != nil {
			t.Fatalf("the next step's code: %v", err)
		}
		// Five wrong codes end a flow.
		e.clk.Advance(30 * time.Second)
		f = begin()
		for range 5 {
			e.clk.Advance(20 * time.Second) // past the throttle's short blocks
			_, err = e.svc.FlowVerifyTOTP(e.ctx, f.Token, "999999", client)
			wantErr(t, err, auth.ErrInvalidCode)
		}
		e.clk.Advance(time.Minute)
		_, err = e.svc.FlowVerifyTOTP(e.ctx, f.Token, e.code(owner.secret), client)
		wantErr(t, err, auth.ErrFlowExpired)
		e.wantActions(org.ID, "auth.login failure")
		var reasons []string
		recs, _ := e.records(org.ID)
		for _, r := range recs {
			if r.Outcome == "failure" {
				reasons = append(reasons, r.Details)
			}
		}
		if !strings.Contains(strings.Join(reasons, " "), `"replayed_code"`) {
			t.Fatalf("replay not audited as such: %v", reasons)
		}
	})
}

func (e *env) codeAt(secret string, offset time.Duration) string {
	e.t.Helper()
	c, err := totp.GenerateCode(secret, e.clk.Now().Add(offset))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func TestTOTPCodeIsSingleUseUnderConcurrentRequests(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		_, owner := e.bootstrap("Parallel", "owner@parallel.example")
		var flows []auth.Flow
		for range 4 {
			f, err := e.svc.BeginLogin(e.ctx, owner.email, owner.password, auth.Client{IP: "198.51.100.1"})
			if err != nil {
				t.Fatal(err)
			}
			flows = append(flows, f)
		}
		code := e.code(owner.secret)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for _, f := range flows {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.svc.FlowVerifyTOTP(e.ctx, f.Token, code, client); err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if ok != 1 {
			t.Fatalf("one code opened %d sessions, want 1", ok)
		}
	})
}

func TestRecoveryCodesAreSingleUse(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		org, owner := e.bootstrap("Lakeside", "owner@lakeside.example")
		use := func(code string) error {
			t.Helper()
			f, err := e.svc.BeginLogin(e.ctx, owner.email, owner.password, client)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.FlowVerifyRecovery(e.ctx, f.Token, code, client)
			return err
		}
		// Typed loosely: upper case, no dash.
		if err := use(strings.ToUpper(strings.ReplaceAll(owner.recovery[0], "-", ""))); err != nil {
			t.Fatal(err)
		}
		p := e.principal(e.login(owner))
		u, err := e.svc.GetUser(e.ctx, p, owner.user.ID)
		if err != nil || u.MFA.RecoveryCodesLeft != 9 || !u.MFA.TOTP {
			t.Fatalf("after one recovery code: %+v %v", u.MFA, err)
		}
		wantErr(t, use(owner.recovery[0]), auth.ErrInvalidCode)
		wantErr(t, use("aaaaa-aaaaa"), auth.ErrInvalidCode)
		if err := use(owner.recovery[1]); err != nil {
			t.Fatalf("another code: %v", err)
		}

		// Regenerating replaces every code, after a fresh re-authentication.
		tok := e.login(owner)
		e.clk.Advance(6 * time.Minute)
		p = e.principal(tok)
		_, err = e.svc.RegenerateRecoveryCodes(e.ctx, p)
		wantErr(t, err, auth.ErrReauthRequired)
		if err := e.svc.Reauthenticate(e.ctx, p, owner.password, e.code(owner.secret)); err != nil {
			t.Fatal(err)
		}
		p = e.principal(tok)
		fresh, err := e.svc.RegenerateRecoveryCodes(e.ctx, p)
		if err != nil || len(fresh) != 10 {
			t.Fatalf("regenerate: %d codes, %v", len(fresh), err)
		}
		wantErr(t, use(owner.recovery[2]), auth.ErrInvalidCode)
		if err := use(fresh[0]); err != nil {
			t.Fatal(err)
		}
		e.wantActions(org.ID, "auth.recovery.regenerate success", "auth.reauth success")
	})
}
