package web_test

import (
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/auth/oidctest"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/web"
	"github.com/carepost/carepost/internal/webauth"
)

// The passkey controls and the SSO pages. The test node of apitest is
// reached by an IP address, so it cannot offer passkeys: the pages must
// then show nothing of them and still work. The SSO walk runs the pages
// against a loopback OpenID provider (package oidctest).

func TestPasskeyControlsStayAwayWithoutARelyingParty(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	b := &browser{t: t, e: e, c: e.Browser(t)}
	_, page, _ := b.get("/login")
	token := csrf(t, page)
	if !strings.Contains(page, `href="/login/sso"`) {
		t.Error("the sign-in page does not offer SSO")
	}
	// The JSON endpoints want the pre-session token in X-CSRF-Token.
	if code, body, _ := b.post("/login/passkey/begin", nil, nil); code != 403 || !strings.Contains(body, `"csrf"`) {
		t.Fatalf("passkey begin without a token = %d %s", code, body)
	}
	code, body, _ := b.post("/login/passkey/register/begin", nil, map[string]string{"X-CSRF-Token": token})
	if code != 401 || !strings.Contains(body, `"expired"`) {
		t.Fatalf("passkey begin without a sign-in = %d %s", code, body)
	}
	// Signed in: the passkeys page explains, offers no control.
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: webauth.SessionCookie, Value: e.A.Session, Path: "/"}})
	b.c.Jar = jar
	code, page, _ = b.get("/account/passkeys")
	if code != 200 || strings.Contains(page, "data-passkey=") || !strings.Contains(page, "need a domain name") {
		t.Fatalf("passkeys page = %d:\n%s", code, page)
	}
	labelled(t, page)
	if code, _, _ := b.post("/account/passkeys/pky_nope/remove", url.Values{"csrf": {csrf(t, page)}}, nil); code != 404 {
		t.Fatalf("removing an unknown passkey = %d", code)
	}
}

// pagesServer is the console's pages on a loopback TLS server, with an
// auth service that is a WebAuthn relying party for wa and knows the
// provider idp's CA (either may be zero).
func pagesServer(t *testing.T, wa auth.WebAuthnOptions, idp *oidctest.Provider) (*app.App, *auth.Service, *httptest.Server) {
	t.Helper()
	cfg := config.Defaults()
	cfg.Data.Dir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Resolve()
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	mux := http.NewServeMux()
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	opts := auth.Options{Keys: a.Keys, Audit: a.Audit, WebAuthn: wa}
	if idp != nil {
		opts.OIDC = auth.OIDCOptions{RedirectURL: srv.URL + "/login/sso/callback", HTTPClient: idp.Client}
	}
	svc := auth.New(a.DB, opts)
	web.New(web.Deps{Auth: svc, WebAuth: &webauth.Authenticator{Auth: svc, Secure: true}, SSO: idp != nil}).Mount(mux)
	return a, svc, srv
}

// pagesBrowser is a browser of srv with its own cookies.
func pagesBrowser(t *testing.T, srv *httptest.Server) *browser {
	c := *srv.Client()
	c.Jar, _ = cookiejar.New(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, e: &apitest.Env{URL: srv.URL}, c: &c}
}

// owner bootstraps an organization and returns its owner's principal.
func owner(t *testing.T, svc *auth.Service) auth.Principal {
	t.Helper()
	ctx, c := context.Background(), auth.Client{IP: "127.0.0.1"}
	_, u, otp, err := svc.Bootstrap(ctx, "Web Clinic", "owner@webclinic.example", "Owner")
	if err != nil {
		t.Fatal(err)
	}
	flow, err := svc.BeginLogin(ctx, u.Email, otp, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.FlowChangePassword(ctx, flow.Token, "quiet lighthouse paints violet storms"); err != nil {
		t.Fatal(err)
	}
	en, err := svc.FlowBeginTOTP(ctx, flow.Token)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(en.Secret, time.Now())
	sess, _, err := svc.FlowConfirmTOTP(ctx, flow.Token, code, c)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := svc.Authenticate(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var refresh = regexp.MustCompile(`<meta http-equiv="refresh" content="0;url=([^"]+)">`)

func TestSSOThroughThePages(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, time.Now, map[string]string{"carepost-web": "web-client-secret"})
	a, svc, srv := pagesServer(t, auth.WebAuthnOptions{}, idp)
	p := owner(t, svc)
	_, err := svc.PutSSO(context.Background(), p, auth.SSOInput{Issuer: idp.Issuer, ClientID: "carepost-web",
		ClientSecret: func(s string) *string { return &s }("web-client-secret"), Slug: "webclinic",
		RoleMap: map[string][]string{"staff": {"sender"}}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	b := pagesBrowser(t, srv)
	code, page, _ := b.get("/login/sso?org=webclinic")
	if code != 200 || !strings.Contains(page, `value="webclinic"`) {
		t.Fatalf("SSO page = %d:\n%s", code, page)
	}
	labelled(t, page)
	token := csrf(t, page)
	if code, page, _ := b.post("/login/sso", url.Values{"org": {"nobody"}, "csrf": {token}}, nil); code != 400 || !strings.Contains(page, "not available") {
		t.Fatalf("unknown organization = %d", code)
	}
	code, page, hdr := b.post("/login/sso", url.Values{"org": {"webclinic"}, "csrf": {token}}, nil)
	m := refresh.FindStringSubmatch(page)
	if code != 200 || m == nil || !strings.Contains(hdr.Get("Set-Cookie"), "SameSite=Lax") {
		t.Fatalf("start = %d %q:\n%s", code, hdr.Get("Set-Cookie"), page)
	}
	authURL := html.UnescapeString(m[1])
	if !strings.HasPrefix(authURL, idp.Issuer+"/authorize?") || !strings.Contains(authURL, "code_challenge_method=S256") {
		t.Fatalf("authorization URL %s", authURL)
	}

	idp.Next(oidctest.User{Sub: "web-1", Email: "ward@webclinic.example", Groups: []string{"staff"}, AMR: []string{"mfa"}}, nil)
	code2, state := idp.Approve(authURL)
	callback := "/login/sso/callback?" + url.Values{"code": {code2}, "state": {state}}.Encode()
	// Another browser cannot finish this sign-in: the state is bound to
	// the one that started it (no login CSRF).
	if code, page, _ := pagesBrowser(t, srv).get(callback); code != 400 || !strings.Contains(page, "not started in this browser") {
		t.Fatalf("callback in another browser = %d", code)
	}
	code, page, _ = b.get(callback)
	m = refresh.FindStringSubmatch(page)
	if code != 200 || m == nil || m[1] != "/login/next" {
		t.Fatalf("callback = %d:\n%s", code, page)
	}
	// The provider's amr is not trusted here: carepost's own second
	// factor comes next, and no session exists yet.
	if _, page, _ = b.get("/login/next"); !strings.Contains(page, "Set up a second factor") {
		t.Fatalf("after SSO:\n%s", page)
	}
	var sessions int
	if err := store.Scan(a.DB.Reader().QueryRow(context.Background(), `SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE u.sso_subject = 'web-1'`), &sessions); err != nil || sessions != 0 {
		t.Fatalf("%d sessions before carepost's second factor (%v)", sessions, err)
	}
	// The callback again: its cookie is gone and its state spent.
	if code, _, _ := b.get(callback); code != 400 {
		t.Fatalf("replayed callback = %d", code)
	}
}

func TestPasskeyEndpointsOfTheSignIn(t *testing.T) {
	t.Parallel()
	a, svc, srv := pagesServer(t, auth.WebAuthnOptions{RPID: "carepost.test", Origins: []string{"https://carepost.test"}}, nil)
	p := owner(t, svc)
	u, otp, err := svc.CreateUser(context.Background(), p, auth.NewUser{Email: "nurse@webclinic.example", Name: "Nurse", Roles: []string{"sender"}})
	if err != nil {
		t.Fatal(err)
	}
	b := pagesBrowser(t, srv)
	_, page, _ := b.get("/login")
	token := csrf(t, page)
	b.post("/login", url.Values{"email": {u.Email}, "password": {otp}, "csrf": {token}}, nil)
	pw := "gentle harbor lamps glow amber"
	b.post("/login/password", url.Values{"new_password": {pw}, "confirm_password": {pw}, "csrf": {token}}, nil)
	_, page, _ = b.get("/login/next")
	if !strings.Contains(page, `data-passkey="register"`) || !strings.Contains(page, `src="/static/passkey.js"`) {
		t.Fatalf("the enrolment page offers no passkey:\n%s", page)
	}
	labelled(t, page)
	hdr := map[string]string{"X-CSRF-Token": token}
	code, body, _ := b.post("/login/passkey/register/begin", nil, hdr)
	if code != 200 || !strings.Contains(body, `"challenge"`) || !strings.Contains(body, `"rp":{"name":"carepost","id":"carepost.test"}`) {
		t.Fatalf("register begin = %d %s", code, body)
	}
	// A login challenge belongs to the mfa stage, not this one.
	if code, body, _ := b.post("/login/passkey/begin", nil, hdr); code != 409 {
		t.Fatalf("login begin during enrolment = %d %s", code, body)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/login/passkey/register/finish", strings.NewReader(`{"name":"x","credential":{"id":"AAAA"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", token)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var sessions int
	if err := store.Scan(a.DB.Reader().QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE user_id = ?`, u.ID), &sessions); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || sessions != 0 {
		t.Fatalf("a refused passkey = %d, %d sessions", resp.StatusCode, sessions)
	}
}
