package web

import (
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/webauth"
)

// reauthWindow must match auth's: pages ask for re-authentication before
// offering changes that need it.
const reauthWindow = 5 * time.Minute

func (s *Server) mountAccount(mux *http.ServeMux) {
	mux.HandleFunc("GET /account", s.signedIn(s.account))
	mux.HandleFunc("GET /account/sessions", s.signedIn(s.sessions))
	mux.HandleFunc("POST /account/sessions/{id}/end", s.signedIn(s.endSession))
	mux.HandleFunc("GET /account/password", s.signedIn(s.passwordForm))
	mux.HandleFunc("POST /account/password", s.signedIn(s.passwordSubmit))
	mux.HandleFunc("GET /account/security", s.signedIn(s.security))
	mux.HandleFunc("POST /account/reauth", s.signedIn(s.reauth))
	mux.HandleFunc("POST /account/security/totp/begin", s.signedIn(s.totpBegin))
	mux.HandleFunc("POST /account/security/totp/confirm", s.signedIn(s.totpConfirm))
	mux.HandleFunc("POST /account/security/recovery", s.signedIn(s.recoveryRegenerate))
}

type signedInHandler func(w http.ResponseWriter, r *http.Request, id webauth.Identity)

// signedIn requires a session (API keys do not open pages) and checks CSRF
// on every POST.
func (s *Server) signedIn(next signedInHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := s.deps.WebAuth.Identify(r)
		if err != nil || id.Via != webauth.ViaSession {
			s.deps.WebAuth.Clear(w, webauth.SessionCookie)
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if !webauth.CheckCSRF(r, id) {
			http.Error(w, "invalid CSRF token: reload the page and try again", http.StatusForbidden)
			return
		}
		next(w, r, id)
	}
}

func (s *Server) base(id webauth.Identity, title string) page {
	return page{Title: title, CSRF: id.CSRF, SignedIn: true}
}

func (s *Server) account(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	u, err := s.deps.Auth.GetUser(r.Context(), id.Principal, id.Principal.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.base(id, "Your account")
	p.User = u
	p.Notice = notice(r.URL.Query().Get("notice"))
	s.render(w, r, http.StatusOK, "account", p)
}

// notice maps the codes a redirect may pass to their text, so the query
// string cannot put words on the page.
func notice(code string) string {
	switch code {
	case "password":
		return "Password changed. Your other sessions were ended."
	case "totp":
		return "Authenticator app replaced."
	}
	return ""
}

func (s *Server) sessions(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	list, err := s.deps.Auth.ListSessions(r.Context(), id.Principal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.base(id, "Your sessions")
	p.Sessions = list
	s.render(w, r, http.StatusOK, "sessions", p)
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Auth.EndSession(r.Context(), id.Principal, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/sessions", http.StatusSeeOther)
}

func (s *Server) passwordForm(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	p := s.base(id, "Change password")
	p.Action, p.AskCurrent = "/account/password", true
	s.render(w, r, http.StatusOK, "change_password", p)
}

func (s *Server) passwordSubmit(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	p := s.base(id, "Change password")
	p.Action, p.AskCurrent = "/account/password", true
	if r.PostFormValue("new_password") != r.PostFormValue("confirm_password") {
		p.Error = "The two new passwords are not the same."
		s.render(w, r, http.StatusBadRequest, "change_password", p)
		return
	}
	err := s.deps.Auth.ChangePassword(r.Context(), id.Principal, r.PostFormValue("current_password"), r.PostFormValue("new_password"))
	if err != nil {
		p.Error, _ = loginError(err)
		s.render(w, r, statusFor(err), "change_password", p)
		return
	}
	http.Redirect(w, r, "/account?notice=password", http.StatusSeeOther)
}

func (s *Server) security(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	p := s.base(id, "Second factors")
	p.NeedReauth = !id.Principal.FreshAuth(time.Now(), reauthWindow)
	s.render(w, r, http.StatusOK, "security", p)
}

func (s *Server) reauth(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Auth.Reauthenticate(r.Context(), id.Principal, r.PostFormValue("password"), r.PostFormValue("code")); err != nil {
		p := s.base(id, "Second factors")
		p.NeedReauth = true
		p.Error, _ = loginError(err)
		s.render(w, r, statusFor(err), "security", p)
		return
	}
	http.Redirect(w, r, "/account/security", http.StatusSeeOther)
}

func (s *Server) totpBegin(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	en, err := s.deps.Auth.BeginTOTP(r.Context(), id.Principal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.base(id, "Replace authenticator app")
	p.TOTP = &totpView{Secret: en.Secret, QR: base64.StdEncoding.EncodeToString(en.QRPNG)}
	p.ConfirmAction = "/account/security/totp/confirm"
	s.render(w, r, http.StatusOK, "enroll", p)
}

func (s *Server) totpConfirm(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	codes, err := s.deps.Auth.ConfirmTOTP(r.Context(), id.Principal, r.PostFormValue("code"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.base(id, "Save your recovery codes")
	p.Codes, p.Next = codes, "/account?notice=totp"
	s.render(w, r, http.StatusOK, "recovery_codes", p)
}

func (s *Server) recoveryRegenerate(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	codes, err := s.deps.Auth.RegenerateRecoveryCodes(r.Context(), id.Principal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.base(id, "Save your recovery codes")
	p.Codes, p.Next = codes, "/account"
	s.render(w, r, http.StatusOK, "recovery_codes", p)
}

// fail answers an error on a signed-in page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, auth.ErrReauthRequired):
		http.Redirect(w, r, "/account/security", http.StatusSeeOther)
	case errors.Is(err, auth.ErrSessionExpired):
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	default:
		msg, known := loginError(err)
		if !known {
			s.deps.Log.Error("account page", "err", err)
		}
		http.Error(w, msg, statusFor(err))
	}
}
