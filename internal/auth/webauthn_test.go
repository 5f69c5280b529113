package auth_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

const (
	testRPID   = "carepost.test"
	testOrigin = "https://carepost.test"
)

// passkeySetup is setup with a service that is a WebAuthn relying party
// for testRPID.
func passkeySetup(t *testing.T, d store.Driver) *env {
	t.Helper()
	e := setup(t, d)
	e.svc = auth.New(e.app.DB, auth.Options{Clock: e.clk.Now, Keys: e.app.Keys, Audit: e.app.Audit, Hasher: fastHasher(),
		WebAuthn: auth.WebAuthnOptions{RPID: testRPID, Origins: []string{testOrigin}}})
	return e
}

// passkeyMember creates a user in p's organization who enrols a passkey
// (not TOTP) at first sign-in, and returns them with the authenticator.
func (e *env) passkeyMember(p auth.Principal, email string) (*account, *softKey) {
	e.t.Helper()
	u, otp, err := e.svc.CreateUser(e.ctx, p, auth.NewUser{Email: email, Name: "Passkey Person", Roles: []string{"sender"}})
	if err != nil {
		e.t.Fatal(err)
	}
	acc := &account{user: u, email: email, password: strongPassword("pk" + u.ID[len(u.ID)-6:])}
	flow, err := e.svc.BeginLogin(e.ctx, email, otp, client)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.FlowChangePassword(e.ctx, flow.Token, acc.password); err != nil {
		e.t.Fatal(err)
	}
	key := newSoftKey(e.t, testRPID, testOrigin)
	options, err := e.svc.FlowBeginPasskey(e.ctx, flow.Token)
	if err != nil {
		e.t.Fatal(err)
	}
	sess, codes, err := e.svc.FlowConfirmPasskey(e.ctx, flow.Token, "Laptop", key.register(options), client)
	if err != nil {
		e.t.Fatalf("confirm passkey: %v", err)
	}
	acc.token, acc.recovery = sess.Token, codes
	return acc, key
}

// passkeyFlow starts a sign-in of acc up to the passkey challenge.
func (e *env) passkeyFlow(acc *account) (auth.Flow, []byte) {
	e.t.Helper()
	flow, err := e.svc.BeginLogin(e.ctx, acc.email, acc.password, client)
	if err != nil {
		e.t.Fatal(err)
	}
	options, err := e.svc.FlowChallengePasskey(e.ctx, flow.Token)
	if err != nil {
		e.t.Fatal(err)
	}
	return flow, options
}

func TestPasskeyEnrolmentDuringSignInYieldsASessionOnlyAfterFinish(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := passkeySetup(t, d)
		org, owner := e.bootstrap("Harbor Clinic", "owner@harbor.example")
		p := e.principal(owner.token)
		u, otp, err := e.svc.CreateUser(e.ctx, p, auth.NewUser{Email: "nurse@harbor.example", Name: "Nora Nurse", Roles: []string{"sender"}})
		if err != nil {
			t.Fatal(err)
		}
		flow, err := e.svc.BeginLogin(e.ctx, "nurse@harbor.example", otp, client)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.FlowChangePassword(e.ctx, flow.Token, strongPassword("nurse")); err != nil {
			t.Fatal(err)
		}
		sessions := func() int { return e.count(`SELECT count(*) FROM sessions WHERE user_id = ?`, u.ID) }
		key := newSoftKey(t, testRPID, testOrigin)

		// A passkey cannot answer a challenge before one is enrolled.
		_, err = e.svc.FlowChallengePasskey(e.ctx, flow.Token)
		wantErr(t, err, auth.ErrWrongStage)

		options, err := e.svc.FlowBeginPasskey(e.ctx, flow.Token)
		if err != nil {
			t.Fatal(err)
		}
		if sessions() != 0 {
			t.Fatal("a session exists after beginning passkey enrolment")
		}
		// A broken response spends the challenge: the right answer to it
		// no longer works, and still there is no session.
		good := key.register(options)
		_, _, err = e.svc.FlowConfirmPasskey(e.ctx, flow.Token, "Laptop", []byte(`{"id":"x"}`), client)
		wantErr(t, err, auth.ErrPasskeyRejected)
		_, _, err = e.svc.FlowConfirmPasskey(e.ctx, flow.Token, "Laptop", good, client)
		wantErr(t, err, auth.ErrPasskeyRejected)
		if sessions() != 0 || e.count(`SELECT count(*) FROM webauthn_credentials`) != 0 {
			t.Fatal("a refused registration left a session or a passkey")
		}

		options, err = e.svc.FlowBeginPasskey(e.ctx, flow.Token)
		if err != nil {
			t.Fatal(err)
		}
		sess, codes, err := e.svc.FlowConfirmPasskey(e.ctx, flow.Token, "Work laptop", key.register(options), client)
		if err != nil {
			t.Fatal(err)
		}
		if sess.Token == "" || len(codes) != 10 || !slices.Contains(sess.AMR, auth.AMRWebAuthn) || sessions() != 1 {
			t.Fatalf("after enrolment: session %+v, %d codes, %d sessions", sess, len(codes), sessions())
		}
		list, err := e.svc.ListPasskeys(e.ctx, e.principal(sess.Token))
		if err != nil || len(list) != 1 || list[0].Name != "Work laptop" {
			t.Fatalf("passkeys = %+v, %v", list, err)
		}
		_, _, err = e.svc.FlowConfirmPasskey(e.ctx, flow.Token, "again", key.register(options), client)
		wantErr(t, err, auth.ErrFlowExpired) // the flow ended with the session
		e.wantActions(org.ID, "auth.mfa.enroll success", "auth.login failure", "auth.login success")
		var details string
		if err := store.Scan(e.app.DB.Reader().QueryRow(e.ctx, `SELECT details FROM audit_entries
			WHERE action = 'auth.mfa.enroll' AND target_id = ? AND details LIKE '%webauthn%'`, u.ID), &details); err != nil {
			t.Fatalf("no passkey enrolment audited: %v", err)
		}
	})
}

func TestPasskeySignsInAsTheSecondFactor(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := passkeySetup(t, d)
		org, owner := e.bootstrap("Harbor Clinic", "owner@harbor.example")
		acc, key := e.passkeyMember(e.principal(owner.token), "nurse@harbor.example")

		flow, options := e.passkeyFlow(acc)
		if !slices.Contains(flow.Methods, auth.MethodWebAuthn) || slices.Contains(flow.Methods, auth.MethodTOTP) {
			t.Fatalf("methods = %v", flow.Methods)
		}
		// The password alone made a flow, not a session.
		if n := e.count(`SELECT count(*) FROM sessions WHERE user_id = ?`, acc.user.ID); n != 1 {
			t.Fatalf("%d sessions before the passkey (want only the enrolment's)", n)
		}
		sess, err := e.svc.FlowVerifyPasskey(e.ctx, flow.Token, key.assert(options), client)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(sess.AMR, " ") != "pwd webauthn" {
			t.Fatalf("amr = %v", sess.AMR)
		}
		var count int64
		var used int64
		if err := store.Scan(e.app.DB.Reader().QueryRow(e.ctx, `SELECT sign_count, last_used_at FROM webauthn_credentials WHERE user_id = ?`,
			acc.user.ID), &count, &used); err != nil || count != 1 || used == 0 {
			t.Fatalf("counter %d, last used %d, %v", count, used, err)
		}
		n := e.count(`SELECT count(*) FROM audit_entries WHERE chain = ? AND action = 'auth.login' AND outcome = 'success'
			AND details LIKE '%"amr":"pwd webauthn"%'`, org.ID)
		if n != 2 { // the enrolment's sign-in and this one
			t.Fatalf("%d audited passkey sign-ins", n)
		}
	})
}

func TestPasskeyRefusesReplayWrongRelyingPartyAndOriginAndCounterGoingBack(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := passkeySetup(t, d)
		org, owner := e.bootstrap("Harbor Clinic", "owner@harbor.example")
		acc, key := e.passkeyMember(e.principal(owner.token), "nurse@harbor.example")

		flow1, options1 := e.passkeyFlow(acc)
		captured := key.assert(options1)
		if _, err := e.svc.FlowVerifyPasskey(e.ctx, flow1.Token, captured, client); err != nil {
			t.Fatal(err)
		}
		// Replayed into a new sign-in: its challenge is another.
		flow2, _ := e.passkeyFlow(acc)
		_, err := e.svc.FlowVerifyPasskey(e.ctx, flow2.Token, captured, client)
		wantErr(t, err, auth.ErrPasskeyRejected)
		// Replayed again: the failure spent flow2's challenge, so there is
		// nothing to answer at all.
		_, err = e.svc.FlowVerifyPasskey(e.ctx, flow2.Token, captured, client)
		wantErr(t, err, auth.ErrPasskeyRejected)

		refused := func(name string, bend func(k *softKey)) {
			t.Helper()
			flow, options := e.passkeyFlow(acc)
			bad := *key
			bend(&bad)
			_, err := e.svc.FlowVerifyPasskey(e.ctx, flow.Token, bad.assert(options), client)
			if err != auth.ErrPasskeyRejected {
				t.Fatalf("%s: error = %v, want ErrPasskeyRejected", name, err)
			}
			key.count = bad.count // a real authenticator counts refused uses too
		}
		refused("wrong RP ID", func(k *softKey) { k.rpID = "evil.test" })
		refused("wrong origin", func(k *softKey) { k.origin = "https://evil.test" })
		refused("counter going backwards", func(k *softKey) { k.count = 0 })
		if e.count(`SELECT count(*) FROM alerts WHERE org_id = ? AND kind = 'auth.passkey.clone'`, org.ID) != 1 {
			t.Fatal("a counter going backwards raised no alert")
		}
		reasons := e.count(`SELECT count(*) FROM audit_entries WHERE chain = ? AND action = 'auth.login' AND outcome = 'failure'
			AND (details LIKE '%clone_warning%' OR details LIKE '%bad_passkey%' OR details LIKE '%no_ceremony%')`, org.ID)
		if reasons != 5 {
			t.Fatalf("%d refusals audited, want 5", reasons)
		}
		// After all that (and the throttle's one-second pause the fifth
		// failure from this address earned), the genuine authenticator
		// still works.
		e.clk.Advance(2 * time.Second)
		flow, options := e.passkeyFlow(acc)
		e.clk.Advance(2 * time.Second)
		if _, err := e.svc.FlowVerifyPasskey(e.ctx, flow.Token, key.assert(options), client); err != nil {
			t.Fatalf("genuine passkey after refusals: %v", err)
		}
		// A registration from another site is refused too.
		p := e.principal(owner.token)
		opts, err := e.svc.BeginPasskey(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		evil := newSoftKey(t, "evil.test", testOrigin)
		_, _, err = e.svc.ConfirmPasskey(e.ctx, p, "Evil", evil.register(opts))
		wantErr(t, err, auth.ErrPasskeyRejected)
	})
}

func TestPasskeysOfASignedInPerson(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := passkeySetup(t, d)
		org, owner := e.bootstrap("Harbor Clinic", "owner@harbor.example")
		_, other := e.bootstrap("Other Hospital", "owner@other.example")
		p := e.principal(owner.token)
		acc, _ := e.passkeyMember(p, "nurse@harbor.example")
		nurse := e.principal(acc.token)
		// The nurse's only second factor cannot be removed.
		mine, err := e.svc.ListPasskeys(e.ctx, nurse)
		if err != nil || len(mine) != 1 {
			t.Fatalf("nurse's passkeys = %v, %v", mine, err)
		}
		wantInput(t, e.svc.RemovePasskey(e.ctx, nurse, mine[0].ID), "id")

		// Adding a passkey from the account needs a fresh re-authentication.
		e.clk.Advance(6 * time.Minute)
		_, err = e.svc.BeginPasskey(e.ctx, e.principal(owner.token))
		wantErr(t, err, auth.ErrReauthRequired)
		owner.token = e.login(owner)
		p = e.principal(owner.token)
		key := newSoftKey(t, testRPID, testOrigin)
		opts, err := e.svc.BeginPasskey(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		pk, codes, err := e.svc.ConfirmPasskey(e.ctx, p, "Security key", key.register(opts))
		if err != nil {
			t.Fatal(err)
		}
		if pk.Name != "Security key" || codes != nil { // the owner still has recovery codes
			t.Fatalf("passkey %+v, codes %v", pk, codes)
		}
		// The same challenge cannot register a second time.
		_, _, err = e.svc.ConfirmPasskey(e.ctx, p, "Again", key.register(opts))
		wantErr(t, err, auth.ErrPasskeyRejected)

		// Nobody else can remove it: not another person, not another
		// organization, not an API key.
		wantErr(t, e.svc.RemovePasskey(e.ctx, nurse, pk.ID), store.ErrNotFound)
		wantErr(t, e.svc.RemovePasskey(e.ctx, e.principal(other.token), pk.ID), store.ErrNotFound)
		// The owner has TOTP as well, so the passkey can go.
		if err := e.svc.RemovePasskey(e.ctx, p, pk.ID); err != nil {
			t.Fatal(err)
		}
		wantErr(t, e.svc.RemovePasskey(e.ctx, p, pk.ID), store.ErrNotFound)
		e.wantActions(org.ID, "auth.passkey.remove success")
	})
}

func TestPasskeyReauthenticates(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := passkeySetup(t, d)
		org, owner := e.bootstrap("Harbor Clinic", "owner@harbor.example")
		acc, key := e.passkeyMember(e.principal(owner.token), "nurse@harbor.example")
		e.clk.Advance(6 * time.Minute)
		p := e.principal(acc.token)
		_, err := e.svc.BeginPasskey(e.ctx, p)
		wantErr(t, err, auth.ErrReauthRequired)

		// The wrong password spends the challenge: the right one then
		// finds nothing to answer.
		options, err := e.svc.BeginPasskeyReauth(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		answer := key.assert(options)
		wantErr(t, e.svc.ReauthenticatePasskey(e.ctx, p, "not the password at all", answer), auth.ErrInvalidCredentials)
		wantErr(t, e.svc.ReauthenticatePasskey(e.ctx, p, acc.password, answer), auth.ErrInvalidCredentials)
		options, err = e.svc.BeginPasskeyReauth(e.ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ReauthenticatePasskey(e.ctx, p, acc.password, key.assert(options)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.BeginPasskey(e.ctx, e.principal(acc.token)); err != nil {
			t.Fatalf("after re-authenticating with the passkey: %v", err)
		}
		e.wantActions(org.ID, "auth.reauth failure", "auth.reauth success")
		// Someone without a passkey has nothing to re-authenticate with.
		_, err = e.svc.BeginPasskeyReauth(e.ctx, e.principal(owner.token))
		wantErr(t, err, auth.ErrNoPasskey)
	})
}
