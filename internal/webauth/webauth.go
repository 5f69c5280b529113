// Package webauth is the HTTP side of authentication, shared by the REST API
// (package api) and the server-rendered pages (package web): it turns a
// request's credentials into an auth.Principal, sets and clears the session
// cookie, and enforces CSRF protection.
//
// Credentials, in order: "Authorization: Bearer cpk_…" (an API key), then the
// session cookie. The cookie is named with the __Host- prefix, so browsers
// accept it only when Secure, without Domain and with Path=/ (RFC 6265bis
// section 4.1.3.2); it is HttpOnly and SameSite=Strict, and holds the session
// token only — sessions live server-side.
//
// CSRF: every request that changes state (anything but GET, HEAD, OPTIONS)
// authenticated by cookie must pass two checks: net/http's
// CrossOriginProtection (Sec-Fetch-Site / Origin must be same-origin) and a
// synchronizer token bound to the session (form field "csrf" or header
// X-CSRF-Token), HMAC-SHA256 of the session token. Requests authenticated by
// API key carry no ambient credential, so CSRF does not apply to them. GET
// handlers never change state.
package webauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/httpserver"
)

// Cookie names. __Host- requires Secure, Path=/ and no Domain.
const (
	SessionCookie = "__Host-carepost-session"
	FlowCookie    = "__Host-carepost-login"
	PreCSRFCookie = "__Host-carepost-csrf"
)

// Via says how a request was authenticated.
type Via int

const (
	// ViaNone: no credential.
	ViaNone Via = iota
	// ViaSession: the session cookie.
	ViaSession
	// ViaAPIKey: a Bearer API key.
	ViaAPIKey
)

// Identity is what the request proved.
type Identity struct {
	Principal auth.Principal
	Session   auth.Session
	Via       Via
	// CSRF is the token forms and scripts must send back (session only).
	CSRF string
}

type identityKey struct{}

// From returns the request's identity (zero when unauthenticated).
func From(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok && id.Via != ViaNone
}

// Authenticator resolves credentials through the auth service.
type Authenticator struct {
	Auth *auth.Service
	// Secure marks cookies Secure; false only when serving plain HTTP
	// behind nothing (tests with tls off). __Host- cookies need it.
	Secure bool
}

// Client describes the caller for throttling and audit.
func Client(r *http.Request) auth.Client {
	info := httpserver.Info(r.Context())
	return auth.Client{IP: info.ClientIP, UserAgent: info.UserAgent}
}

// Identify resolves the request's credentials. A presented but invalid
// credential is an error (the caller answers 401); no credential at all is a
// zero Identity and no error.
func (a *Authenticator) Identify(r *http.Request) (Identity, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return Identity{}, auth.ErrInvalidCredentials
		}
		p, err := a.Auth.AuthenticateAPIKey(r.Context(), strings.TrimSpace(token), Client(r))
		if err != nil {
			return Identity{}, err
		}
		return Identity{Principal: p, Via: ViaAPIKey}, nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return Identity{}, nil
	}
	p, s, err := a.Auth.Authenticate(r.Context(), c.Value)
	if err != nil {
		return Identity{}, err
	}
	return Identity{Principal: p, Session: s, Via: ViaSession, CSRF: csrfFor(c.Value)}, nil
}

// With stores id in the request context.
func With(r *http.Request, id Identity) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
}

// csrfFor derives the session's CSRF token. The session token is secret and
// never reaches script (HttpOnly), so the derived token cannot be forged by
// another site.
func csrfFor(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("carepost csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var crossOrigin = http.NewCrossOriginProtection()

// CheckCSRF enforces CSRF protection for a state-changing request
// authenticated by cookie. It returns false (and the caller answers 403)
// when either check fails.
func CheckCSRF(r *http.Request, id Identity) bool {
	if safeMethod(r.Method) || id.Via != ViaSession {
		return true
	}
	if crossOrigin.Check(r) != nil {
		return false
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(id.CSRF)) == 1
}

// CheckPreSessionCSRF protects forms shown before sign-in (the login form,
// the second-factor form) with a double-submit cookie plus the
// cross-origin check.
func CheckPreSessionCSRF(r *http.Request) bool {
	if safeMethod(r.Method) {
		return true
	}
	if crossOrigin.Check(r) != nil {
		return false
	}
	c, err := r.Cookie(PreCSRFCookie)
	got := r.PostFormValue("csrf")
	return err == nil && c.Value != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) == 1
}

// PreSessionToken returns the pre-sign-in CSRF token, setting its cookie
// when absent.
func (a *Authenticator) PreSessionToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(PreCSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	a.setCookie(w, PreCSRFCookie, v, 0)
	return v
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// SetSession sets the session cookie. The cookie has no Max-Age: it ends
// with the browser, and the server ends the session on idle or absolute
// expiry regardless.
func (a *Authenticator) SetSession(w http.ResponseWriter, token string) {
	a.setCookie(w, SessionCookie, token, 0)
}

// SetFlow sets the cookie of a half-finished sign-in.
func (a *Authenticator) SetFlow(w http.ResponseWriter, token string, expires time.Time) {
	a.setCookie(w, FlowCookie, token, time.Until(expires))
}

// Clear removes a cookie.
func (a *Authenticator) Clear(w http.ResponseWriter, name string) {
	a.setCookie(w, name, "", -1)
}

func (a *Authenticator) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", Secure: a.Secure, HttpOnly: true, SameSite: http.SameSiteStrictMode}
	switch {
	case maxAge < 0:
		c.MaxAge = -1
	case maxAge > 0:
		c.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, c)
}
