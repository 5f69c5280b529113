package web

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/webauth"
)

// Sign-in with the organization's identity provider (OpenID Connect; the
// protocol is package auth's). The pages:
//
//	GET  /login/sso?org=…    the organization (id or short name) and a button
//	POST /login/sso          start: remember the state in a cookie, go to the provider
//	GET  /login/sso/callback the provider sends the person back here
//
// The state is bound to this browser (RFC 6749 section 10.12): it is kept
// in the __Host-carepost-sso cookie and must come back equal, so nobody can
// make a victim's browser finish a sign-in the attacker started. That
// cookie is SameSite=Lax, unlike carepost's others, because the provider's
// redirect is a cross-site top-level navigation, on which Lax cookies are
// sent and Strict ones are not (RFC 6265bis section 5.6.7.1); it holds only
// the state, which is useless without the code.
//
// Two hops are pages that move on by themselves (a meta refresh with a
// link), not HTTP redirects: the way out, because the console's CSP
// (form-action 'self') forbids a form's redirect to another site; and the
// way back in, because the session cookie is SameSite=Strict and browsers
// withhold it on a redirect chain that began cross-site, so the next page
// must be a navigation started from carepost itself. Both destinations
// after sign-in are fixed paths (/account, /login/next): no open redirect.

// ssoCookie holds the state of a sign-in sent to the provider, for as long
// as the state lives on the server.
const (
	ssoCookie    = "__Host-carepost-sso"
	ssoCookieTTL = 10 * time.Minute
)

func (s *Server) mountSSO(mux *http.ServeMux) {
	mux.HandleFunc("GET /login/sso", s.ssoForm)
	mux.HandleFunc("POST /login/sso", s.preSession(s.ssoStart))
	mux.HandleFunc("GET /login/sso/callback", s.ssoCallback)
}

func (s *Server) ssoPage(w http.ResponseWriter, r *http.Request, status int, org, msg string) {
	s.render(w, r, status, "sso", page{Title: "Sign in with your organization", CSRF: s.deps.WebAuth.PreSessionToken(w, r),
		Org: org, Error: msg, Action: "/login/sso"})
}

func (s *Server) ssoForm(w http.ResponseWriter, r *http.Request) {
	s.ssoPage(w, r, http.StatusOK, r.URL.Query().Get("org"), "")
}

func (s *Server) ssoStart(w http.ResponseWriter, r *http.Request) {
	org := r.PostFormValue("org")
	start, err := s.deps.Auth.BeginSSO(r.Context(), org)
	if err != nil {
		if !errors.Is(err, auth.ErrSSOUnavailable) {
			s.deps.Log.Error("start SSO", "request_id", httpserver.Info(r.Context()).ID, "err", err)
		}
		s.ssoPage(w, r, http.StatusBadRequest, org, "Single sign-on is not available for that organization. Check the name, or sign in with your password.")
		return
	}
	s.setSSOCookie(w, start.State, ssoCookieTTL)
	s.render(w, r, http.StatusOK, "sso_continue", page{Title: "Continuing to your identity provider", Refresh: start.URL})
}

// ssoCallback finishes the sign-in.
//
// QUIRK: a GET that changes state. The provider's redirect is a GET by
// the protocol (RFC 6749 section 4.1.2, OpenID Connect Core 3.1.2.5), so
// this handler spends the sign-in's state and may create a session or a
// login flow. Nothing else about it varies with the request: the state is
// single use and must match this browser's cookie.
func (s *Server) ssoCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, err := r.Cookie(ssoCookie)
	s.setSSOCookie(w, "", -1)
	state := q.Get("state")
	if err != nil || state == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		s.ssoPage(w, r, http.StatusBadRequest, "", "This sign-in was not started in this browser, or it expired. Please start again.")
		return
	}
	res, err := s.deps.Auth.FinishSSO(r.Context(), state, q.Get("code"), q.Get("error"), webauth.Client(r))
	switch {
	case errors.Is(err, auth.ErrFlowExpired):
		s.ssoPage(w, r, http.StatusBadRequest, "", "Your sign-in took too long or was used already. Please start again.")
		return
	case errors.Is(err, auth.ErrSSORefused):
		s.ssoPage(w, r, http.StatusForbidden, "", "Your identity provider's answer was not accepted. Ask your administrator to check your access to carepost.")
		return
	case err != nil:
		s.deps.Log.Error("finish SSO", "request_id", httpserver.Info(r.Context()).ID, "err", err)
		s.ssoPage(w, r, http.StatusInternalServerError, "", "Something went wrong. Please try again.")
		return
	}
	next := "/account"
	if res.Session != nil {
		s.startSession(w, *res.Session)
	} else {
		s.deps.WebAuth.SetFlow(w, res.Flow.Token, res.Flow.ExpiresAt)
		next = "/login/next"
	}
	s.render(w, r, http.StatusOK, "sso_continue", page{Title: "Signed in", Refresh: next})
}

func (s *Server) setSSOCookie(w http.ResponseWriter, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: ssoCookie, Value: value, Path: "/", Secure: s.deps.WebAuth.Secure, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge.Seconds())}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}
