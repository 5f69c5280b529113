// Package apitest runs a real carepost node for API tests and provides the
// two-organization matrix: for every route that takes an
// organization-scoped id, a resource made in organization A must answer 404
// to organization B's credentials — never 403, never data — while
// organization A itself still finds it (so the check is not vacuous).
//
// Every tenant route needs a Fixture; the matrix fails when one is missing,
// so an endpoint added later cannot skip the check. Features add their
// fixtures next to their endpoints' tests.
package apitest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/api"
	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/dns/dnstest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// Env is a running node with two organizations.
type Env struct {
	App    *app.App
	Node   *app.Node
	URL    string
	A, B   *Tenant
	Clock  *Clock
	DNS    *dnstest.Server // answers the node's DNS lookups: no test query leaves loopback
	client *http.Client
}

// Tenant is one organization with an owner and an all-permission API key.
type Tenant struct {
	Org      auth.Org
	Owner    auth.User
	Password string
	Key      string // Bearer token with every permission
	// TOTPSecret is the owner's authenticator secret (for Login).
	TOTPSecret string
	// Session is the owner's browser session token from signing in, and
	// CSRF its token for state changes.
	Session, CSRF string

	senderOnce sync.Once // the sender domain is added and verified once
	senderErr  error
}

// Clock is a settable clock shared by the node (for expiry tests).
type Clock struct{ now time.Time }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return c.now }

// Advance moves the clock on.
func (c *Clock) Advance(d time.Duration) { c.now = c.now.Add(d) }

// New starts a node on driver d with two organizations. The clock starts at
// the real time and moves only when advanced.
func New(t *testing.T, d store.Driver) *Env {
	t.Helper()
	return NewWith(t, d, nil)
}

// NewWith is New with edit applied to the node's configuration first.
func NewWith(t *testing.T, d store.Driver, edit func(*config.Config)) *Env {
	t.Helper()
	cfg := config.Defaults()
	cfg.Data.Dir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	// Free ports for the SMTP listeners: parallel tests must not share them.
	cfg.Submission.Listen, cfg.Submission.TLSListen, cfg.Gateway.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if d == store.Postgres {
		cfg.Database.URL = storetest.URL(t, d)
	}
	cfg.Jobs.FetchPollInterval = config.Duration(50 * time.Millisecond)
	if edit != nil {
		edit(cfg)
	}
	cfg.Resolve()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	clock := &Clock{now: time.Now()}
	dnsSrv := dnstest.New(t)
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{Clock: clock.Now, DNSServers: []string{dnsSrv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	node, err := a.NewNode()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	e := &Env{App: a, Node: node, URL: "https://" + node.Addr().String(), Clock: clock, DNS: dnsSrv,
		client: &http.Client{Transport: insecure(), CheckRedirect: noRedirect}}
	e.A = e.tenant(t, "Org A Clinic", "owner-a@a.example")
	e.B = e.tenant(t, "Org B Hospital", "owner-b@b.example")
	return e
}

func insecure() *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // the node's self-signed development certificate
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// tenant bootstraps an organization, signs the owner in through the real
// login flow (password change, TOTP enrolment), and makes an API key.
func (e *Env) tenant(t *testing.T, org, email string) *Tenant {
	t.Helper()
	ctx := context.Background()
	o, u, otp, err := e.App.Auth.Bootstrap(ctx, org, email, "Owner")
	if err != nil {
		t.Fatal(err)
	}
	tn := &Tenant{Org: o, Owner: u, Password: "violet lighthouse marble harbor " + o.ID[len(o.ID)-6:]}
	c := auth.Client{IP: "127.0.0.1", UserAgent: "apitest"}
	flow, err := e.App.Auth.BeginLogin(ctx, email, otp, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Auth.FlowChangePassword(ctx, flow.Token, tn.Password); err != nil {
		t.Fatal(err)
	}
	en, err := e.App.Auth.FlowBeginTOTP(ctx, flow.Token)
	if err != nil {
		t.Fatal(err)
	}
	tn.TOTPSecret = en.Secret
	sess, _, err := e.App.Auth.FlowConfirmTOTP(ctx, flow.Token, e.Code(t, tn), c)
	if err != nil {
		t.Fatal(err)
	}
	tn.Session = sess.Token
	p, _, err := e.App.Auth.Authenticate(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, perm := range access.All {
		all = append(all, string(perm))
	}
	_, token, err := e.App.Auth.CreateAPIKey(ctx, p, "apitest", all, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tn.Key = token
	var cur struct {
		CSRF string `json:"csrf_token"`
	}
	e.DoSession(t, tn.Session, "", "GET", api.Prefix+"/session", nil).JSON(t, &cur)
	tn.CSRF = cur.CSRF
	return tn
}

// Code returns a current TOTP code for the tenant's owner. Codes are single
// use, so callers needing two codes advance the clock 30 seconds between.
func (e *Env) Code(t *testing.T, tn *Tenant) string {
	t.Helper()
	code, err := totp.GenerateCode(tn.TOTPSecret, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// Response is an answered request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorCode is the error.code of a JSON error body.
func (r Response) ErrorCode() string {
	var b struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &b)
	return b.Error.Code
}

// Do sends a request with a Bearer token (empty for none) and a JSON body.
func (e *Env) Do(t *testing.T, token, method, path string, body any) Response {
	t.Helper()
	return e.DoWith(t, method, path, body, func(req *http.Request) {
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	})
}

// DoSession sends a request as a browser would: the session cookie, the
// page's origin, and csrf as X-CSRF-Token (empty to omit it).
func (e *Env) DoSession(t *testing.T, session, csrf, method, path string, body any) Response {
	t.Helper()
	return e.DoWith(t, method, path, body, func(req *http.Request) {
		req.AddCookie(&http.Cookie{Name: "__Host-carepost-session", Value: session})
		req.Header.Set("Origin", e.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
	})
}

// DoWith sends a JSON request after edit adjusts it.
func (e *Env) DoWith(t *testing.T, method, path string, body any, edit func(*http.Request)) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte: // sent as is, for malformed-input tests
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	edit(req)
	return e.send(t, e.client, req)
}

func (e *Env) send(t *testing.T, c *http.Client, req *http.Request) Response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Browser is a cookie-keeping client, for console and CSRF tests.
func (e *Env) Browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: insecure(), Jar: jar, CheckRedirect: noRedirect}
}

// Fixture makes a resource in tn for one tenant route and returns its id
// and the request body the route takes (nil when none).
type Fixture func(t *testing.T, e *Env, tn *Tenant) (id string, body any)

// Matrix checks every tenant route of routes with its fixture.
func Matrix(t *testing.T, e *Env, routes []api.Route, fixtures map[string]Fixture) {
	t.Helper()
	for _, rt := range routes {
		if !rt.Tenant {
			continue
		}
		key := rt.Method + " " + rt.Path
		fx, ok := fixtures[key]
		if !ok {
			t.Errorf("%s takes an organization-scoped id but has no matrix fixture", key)
			continue
		}
		t.Run(key, func(t *testing.T) {
			id, body := fx(t, e, e.A)
			path := api.Prefix + strings.Replace(rt.Path, "{id}", id, 1)
			cross := e.Do(t, e.B.Key, rt.Method, path, body)
			if cross.Status != http.StatusNotFound || cross.ErrorCode() != "not_found" {
				t.Fatalf("organization B got %d %s for organization A's %s; want 404 not_found", cross.Status, cross.Body, id)
			}
			own := e.Do(t, e.A.Key, rt.Method, path, body)
			if own.Status == http.StatusNotFound {
				t.Fatalf("organization A cannot reach its own %s (%d %s): the fixture does not exercise the route", id, own.Status, own.Body)
			}
		})
	}
}

// Sender returns a From address the tenant may send from: in its own
// domain (a.example for A, b.example for B), which the first call adds
// and verifies as a customer would: POST /domains, the records published
// on e.DNS, POST /domains/{id}/verify.
func (e *Env) Sender(t *testing.T, tn *Tenant) string {
	t.Helper()
	domain := strings.Split(tn.Owner.Email, "@")[1]
	tn.senderOnce.Do(func() { tn.senderErr = e.verifySender(t, tn, domain) })
	if tn.senderErr != nil {
		t.Fatalf("verify sender domain %s: %v", domain, tn.senderErr)
	}
	return "clinic@" + domain
}

func (e *Env) verifySender(t *testing.T, tn *Tenant, domain string) error {
	r := e.Do(t, tn.Key, "POST", api.Prefix+"/domains", map[string]any{"domain": domain})
	if r.Status != http.StatusCreated {
		return fmt.Errorf("add: %d %s", r.Status, r.Body)
	}
	var added struct {
		Domain  struct{ ID string }
		Records []struct{ Name, Value string }
	}
	if err := json.Unmarshal(r.Body, &added); err != nil {
		return err
	}
	for _, rec := range added.Records {
		e.DNS.AddTXT(rec.Name, rec.Value)
	}
	r = e.Do(t, tn.Key, "POST", api.Prefix+"/domains/"+added.Domain.ID+"/verify", nil)
	var res struct{ Verified bool }
	if err := json.Unmarshal(r.Body, &res); err != nil || r.Status != http.StatusOK || !res.Verified {
		return fmt.Errorf("verify: %d %s", r.Status, r.Body)
	}
	return nil
}

// KeyWith creates an API key of the tenant's owner limited to scopes and
// returns its token.
func (e *Env) KeyWith(t *testing.T, tn *Tenant, scopes ...string) string {
	t.Helper()
	r := e.DoSession(t, tn.Session, tn.CSRF, "POST", api.Prefix+"/api-keys", map[string]any{"name": "scoped", "scopes": scopes})
	if r.Status != http.StatusCreated {
		t.Fatalf("create scoped key: %d %s", r.Status, r.Body)
	}
	var out struct{ Token string }
	r.JSON(t, &out)
	return out.Token
}
