package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/clocktest"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/password"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// clock is the shared fake clock.
type clock = clocktest.Clock

// env is a real carepost core (store, keyring, audit log) on one driver with
// an auth service on a fake clock.
type env struct {
	t   *testing.T
	app *app.App
	svc *auth.Service
	clk *clock
	ctx context.Context
}

// fastHasher keeps argon2id but with tiny costs, so tests that sign in
// dozens of times stay quick. The policy and the code paths are the same.
func fastHasher() *password.Hasher {
	return password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
}

func setup(t *testing.T, d store.Driver) *env {
	t.Helper()
	cfg := config.Defaults()
	cfg.Data.Dir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	if d == store.Postgres {
		cfg.Database.URL = storetest.URL(t, d)
	}
	cfg.Resolve()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	clk := clocktest.New(time.Date(2030, 1, 2, 9, 0, 0, 0, time.UTC))
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{Clock: clk.Now})
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	svc := auth.New(a.DB, auth.Options{Clock: clk.Now, Keys: a.Keys, Audit: a.Audit, Hasher: fastHasher()})
	e := &env{t: t, app: a, svc: svc, clk: clk, ctx: context.Background()}
	t.Cleanup(e.verifyAudit)
	return e
}

// verifyAudit runs at the end of every test: the chains must verify and no
// entry may carry an e-mail address.
func (e *env) verifyAudit() {
	if e.t.Failed() {
		return
	}
	rep, err := e.app.Audit.Verify(e.ctx, audit.VerifyOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	if !rep.OK() {
		e.t.Fatalf("audit verify: %v", rep.Problems())
	}
	var n int
	err = store.Scan(e.app.DB.Reader().QueryRow(e.ctx, `SELECT count(*) FROM audit_entries
		WHERE details LIKE '%@%' OR target_id LIKE '%@%' OR actor_id LIKE '%@%'`), &n)
	if err != nil || n != 0 {
		e.t.Fatalf("%d audit entries carry an address (%v)", n, err)
	}
}

var client = auth.Client{IP: "192.0.2.10", UserAgent: "auth-test/1.0"}

// account is a signed-in person.
type account struct {
	user     auth.User
	email    string
	password string
	secret   string // TOTP
	recovery []string
	token    string
}

func strongPassword(tag string) string { return "violet lighthouse marble harbor " + tag }

// code is the current TOTP code for secret; each is single use, so callers
// needing another advance the clock by 30 seconds.
func (e *env) code(secret string) string {
	e.t.Helper()
	c, err := totp.GenerateCode(secret, e.clk.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) bootstrap(org, email string) (auth.Org, *account) {
	e.t.Helper()
	o, u, otp, err := e.svc.Bootstrap(e.ctx, org, email, "Owner "+org)
	if err != nil {
		e.t.Fatal(err)
	}
	acc := e.activate(u, email, otp)
	return o, acc
}

// activate takes a new user through their first sign-in: password change
// and TOTP enrolment.
func (e *env) activate(u auth.User, email, otp string) *account {
	e.t.Helper()
	acc := &account{user: u, email: email, password: strongPassword(u.ID[len(u.ID)-8:])}
	flow, err := e.svc.BeginLogin(e.ctx, email, otp, client)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.FlowChangePassword(e.ctx, flow.Token, acc.password); err != nil {
		e.t.Fatal(err)
	}
	en, err := e.svc.FlowBeginTOTP(e.ctx, flow.Token)
	if err != nil {
		e.t.Fatal(err)
	}
	acc.secret = en.Secret
	sess, codes, err := e.svc.FlowConfirmTOTP(e.ctx, flow.Token, e.code(acc.secret), client)
	if err != nil {
		e.t.Fatal(err)
	}
	acc.recovery, acc.token = codes, sess.Token
	e.clk.Advance(30 * time.Second) // the confirming code is spent
	return acc
}

// login signs acc in again with password and a fresh TOTP code.
func (e *env) login(acc *account) string {
	e.t.Helper()
	flow, err := e.svc.BeginLogin(e.ctx, acc.email, acc.password, client)
	if err != nil {
		e.t.Fatal(err)
	}
	sess, err := e.svc.FlowVerifyTOTP(e.ctx, flow.Token, e.code(acc.secret), client)
	if err != nil {
		e.t.Fatal(err)
	}
	e.clk.Advance(30 * time.Second)
	return sess.Token
}

func (e *env) principal(token string) auth.Principal {
	e.t.Helper()
	p, _, err := e.svc.Authenticate(e.ctx, token)
	if err != nil {
		e.t.Fatalf("authenticate: %v", err)
	}
	return p
}

// member creates a user with roles in p's organization and signs them in.
func (e *env) member(p auth.Principal, email string, roles ...string) *account {
	e.t.Helper()
	u, otp, err := e.svc.CreateUser(e.ctx, p, auth.NewUser{Email: email, Name: "Member " + email[:strings.IndexByte(email, '@')], Roles: roles})
	if err != nil {
		e.t.Fatalf("create user: %v", err)
	}
	return e.activate(u, email, otp)
}

// count runs a count(*) query.
func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := store.Scan(e.app.DB.Reader().QueryRow(e.ctx, query, args...), &n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// actions lists the audit actions of chain in order, with outcome and reason.
func (e *env) actions(chain string) []string {
	e.t.Helper()
	entries, err := e.records(chain)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, r := range entries {
		out = append(out, r.Action+" "+r.Outcome)
	}
	return out
}

func (e *env) records(chain string) ([]store.AuditRecord, error) {
	return store.AuditRecords(e.ctx, e.app.DB.Reader(), chain, 0, 1<<62, 100000)
}

func (e *env) wantActions(chain string, want ...string) {
	e.t.Helper()
	have := e.actions(chain)
	for _, w := range want {
		if !slices.Contains(have, w) {
			e.t.Errorf("audit chain %s lacks %q; has %v", chain, w, have)
		}
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func wantInput(t *testing.T, err error, field string) {
	t.Helper()
	var ie *auth.InputError
	if !errors.As(err, &ie) || ie.Field != field {
		t.Fatalf("error = %v, want an InputError on %q", err, field)
	}
}
