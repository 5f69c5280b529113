package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

type browser struct {
	t    *testing.T
	e    *apitest.Env
	c    *http.Client
	last string
}

func (b *browser) get(path string) (int, string, http.Header) {
	b.t.Helper()
	resp, err := b.c.Get(b.e.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	b.last = string(body)
	return resp.StatusCode, b.last, resp.Header
}

func (b *browser) post(path string, form url.Values, hdr map[string]string) (int, string, http.Header) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.e.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	b.last = string(body)
	return resp.StatusCode, b.last, resp.Header
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in page:\n%s", page)
	}
	return m[1]
}

var (
	inputID  = regexp.MustCompile(`<input id="([^"]+)"`)
	labelFor = regexp.MustCompile(`<label for="([^"]+)"`)
)

// labelled checks that every visible input has a label.
func labelled(t *testing.T, page string) {
	t.Helper()
	labels := map[string]bool{}
	for _, m := range labelFor.FindAllStringSubmatch(page, -1) {
		labels[m[1]] = true
	}
	for _, m := range inputID.FindAllStringSubmatch(page, -1) {
		if !labels[m[1]] {
			t.Errorf("input %q has no label", m[1])
		}
	}
	if !strings.Contains(page, `<html lang="en">`) {
		t.Error("page has no language")
	}
}

func sessionCount(t *testing.T, e *apitest.Env, userID string) int {
	t.Helper()
	var n int
	if err := store.Scan(e.App.DB.Reader().QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE user_id = ?`, userID), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFirstSignInThroughThePages walks a new owner through the real pages:
// one-time password, forced change, TOTP enrolment, recovery codes, account,
// sign-out. No session exists until the second factor is confirmed.
func TestFirstSignInThroughThePages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		_, u, otp, err := e.App.Auth.Bootstrap(context.Background(), "Riverside Clinic", "dr.lee@riverside.example", "Dr Lee")
		if err != nil {
			t.Fatal(err)
		}
		b := &browser{t: t, e: e, c: e.Browser(t)}

		code, page, _ := b.get("/login")
		if code != 200 {
			t.Fatalf("GET /login = %d", code)
		}
		labelled(t, page)
		token := csrf(t, page)

		if code, _, _ := b.post("/login", url.Values{"email": {u.Email}, "password": {otp}}, nil); code != 403 {
			t.Fatalf("login without CSRF token = %d, want 403", code)
		}
		if code, _, _ := b.post("/login", url.Values{"email": {u.Email}, "password": {otp}, "csrf": {token}}, map[string]string{"Sec-Fetch-Site": "cross-site"}); code != 403 {
			t.Fatalf("cross-site login = %d, want 403", code)
		}
		if code, page, _ := b.post("/login", url.Values{"email": {u.Email}, "password": {"wrong password here"}, "csrf": {token}}, nil); code != 401 || !strings.Contains(page, "is not right") {
			t.Fatalf("wrong password = %d", code)
		}
		code, _, hdr := b.post("/login", url.Values{"email": {u.Email}, "password": {otp}, "csrf": {token}}, nil)
		if code != 303 || hdr.Get("Location") != "/login/next" {
			t.Fatalf("login = %d %s", code, hdr.Get("Location"))
		}
		if n := sessionCount(t, e, u.ID); n != 0 {
			t.Fatalf("%d sessions after the password alone", n)
		}

		_, page, _ = b.get("/login/next")
		if !strings.Contains(page, "Choose a new password") {
			t.Fatalf("first stage is not the password change:\n%s", page)
		}
		labelled(t, page)
		newPW := "quiet lighthouse paints violet storms"
		if code, _, _ := b.post("/login/password", url.Values{"new_password": {newPW}, "confirm_password": {newPW}, "csrf": {token}}, nil); code != 303 {
			t.Fatalf("change password = %d: %s", code, b.last)
		}
		_, page, _ = b.get("/login/next")
		if !strings.Contains(page, "Set up a second factor") {
			t.Fatalf("second stage is not MFA enrolment:\n%s", page)
		}
		_, page, _ = b.post("/login/totp/begin", url.Values{"csrf": {token}}, nil)
		m := regexp.MustCompile(`<code class="secret">([A-Z2-7]+)</code>`).FindStringSubmatch(page)
		if m == nil || !strings.Contains(page, "data:image/png;base64,") {
			t.Fatalf("enrolment page lacks the key or QR code:\n%s", page)
		}
		labelled(t, page)
		if n := sessionCount(t, e, u.ID); n != 0 {
			t.Fatalf("%d sessions before the second factor", n)
		}
		if code, _, _ := b.post("/login/totp/confirm", url.Values{"code": {"000000"}, "csrf": {token}}, nil); code != 400 {
			t.Fatalf("wrong code = %d", code)
		}
		totpCode, _ := totp.GenerateCode(m[1], e.Clock.Now())
		code, page, _ = b.post("/login/totp/confirm", url.Values{"code": {totpCode}, "csrf": {token}}, nil)
		if code != 200 || strings.Count(page, "<li><code>") != 10 {
			t.Fatalf("confirm = %d, want 10 recovery codes:\n%s", code, page)
		}
		if n := sessionCount(t, e, u.ID); n != 1 {
			t.Fatalf("%d sessions after the second factor, want 1", n)
		}

		code, page, _ = b.get("/account")
		if code != 200 || !strings.Contains(page, u.Email) {
			t.Fatalf("account = %d", code)
		}
		sessionCSRF := csrf(t, page)
		code, page, _ = b.get("/account/sessions")
		if code != 200 || !strings.Contains(page, "this session") {
			t.Fatalf("sessions page = %d", code)
		}
		if code, _, _ := b.post("/logout", url.Values{"csrf": {"forged"}}, nil); code != 403 {
			t.Fatalf("logout with a forged token = %d", code)
		}
		if code, _, hdr := b.post("/logout", url.Values{"csrf": {sessionCSRF}}, nil); code != 303 || hdr.Get("Location") != "/login" {
			t.Fatalf("logout = %d", code)
		}
		if code, _, hdr := b.get("/account"); code != 303 || hdr.Get("Location") != "/login" {
			t.Fatalf("account after logout = %d %s", code, hdr.Get("Location"))
		}
	})
}

func TestPagesAreNotCachedAndAssetsAre(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	b := &browser{t: t, e: e, c: e.Browser(t)}
	_, _, hdr := b.get("/login")
	if hdr.Get("Cache-Control") != "no-store" || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("login headers: %v", hdr)
	}
	code, _, hdr := b.get("/static/carepost.css")
	if code != 200 || !strings.Contains(hdr.Get("Cache-Control"), "max-age") {
		t.Fatalf("stylesheet: %d %v", code, hdr.Get("Cache-Control"))
	}
	if code, _, hdr := b.get("/"); code != 303 || hdr.Get("Location") != "/login" {
		t.Fatalf("home signed out = %d", code)
	}
}

func TestIdleSessionIsSignedOut(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	b := &browser{t: t, e: e, c: e.Browser(t)}
	u, _ := url.Parse(e.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-carepost-session", Value: e.A.Session, Path: "/", Secure: true}})
	if code, _, _ := b.get("/account"); code != 200 {
		t.Fatalf("account with a fresh session = %d", code)
	}
	e.Clock.Advance(16 * time.Minute) // default idle timeout is 15 minutes
	if code, _, hdr := b.get("/account"); code != 303 || hdr.Get("Location") != "/login" {
		t.Fatalf("account after 16 idle minutes = %d", code)
	}
}

func TestAPIKeysPageCreatesAndRevokes(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	b := &browser{t: t, e: e, c: e.Browser(t)}
	u, _ := url.Parse(e.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-carepost-session", Value: e.A.Session, Path: "/", Secure: true}})
	code, page, _ := b.get("/account/api-keys")
	if code != 200 || !strings.Contains(page, "Create a key") {
		t.Fatalf("api keys page = %d", code)
	}
	labelled(t, page)
	token := csrf(t, page)
	code, page, _ = b.post("/account/api-keys", url.Values{"csrf": {token}, "name": {"ehr feed"}, "scope": {"messages:send"}}, nil)
	m := regexp.MustCompile(`<code class="secret">(cpk_[^<]+)</code>`).FindStringSubmatch(page)
	if code != 201 || m == nil {
		t.Fatalf("create = %d:\n%s", code, page)
	}
	if r := e.Do(t, m[1], "GET", "/api/v1/me", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"messages:send"`) {
		t.Fatalf("new key on the API: %d %s", r.Status, r.Body)
	}
	// The token's prefix "cpk_<id>" names the key "key_<id>".
	newest := "key_" + strings.SplitN(strings.TrimPrefix(m[1], "cpk_"), "_", 2)[0]
	if !strings.Contains(page, "/account/api-keys/"+newest+"/revoke") {
		t.Fatalf("no revoke button for %s", newest)
	}
	if code, _, _ := b.post("/account/api-keys/"+newest+"/revoke", url.Values{"csrf": {token}}, nil); code != 303 {
		t.Fatalf("revoke = %d", code)
	}
	if r := e.Do(t, m[1], "GET", "/api/v1/me", nil); r.Status != 401 {
		t.Fatalf("revoked key still works: %d", r.Status)
	}
}
