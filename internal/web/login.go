package web

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/webauth"
)

// The sign-in state machine lives in auth (a login flow: password first,
// then change password / enrol MFA / answer the challenge). These handlers
// keep the flow's token in its own cookie and turn each stage into a page.

func (s *Server) mountLogin(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.preSession(s.loginSubmit))
	mux.HandleFunc("GET /login/next", s.loginNext)
	mux.HandleFunc("POST /login/password", s.preSession(s.flowPassword))
	mux.HandleFunc("POST /login/totp/begin", s.preSession(s.flowTOTPBegin))
	mux.HandleFunc("POST /login/totp/confirm", s.preSession(s.flowTOTPConfirm))
	mux.HandleFunc("POST /login/totp", s.preSession(s.flowTOTP))
	mux.HandleFunc("POST /login/recovery", s.preSession(s.flowRecovery))
	mux.HandleFunc("POST /logout", s.logout)
}

// preSession guards forms shown before a session exists.
func (s *Server) preSession(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !webauth.CheckPreSessionCSRF(r) {
			s.render(w, r, http.StatusForbidden, "login", page{Title: "Sign in", CSRF: s.deps.WebAuth.PreSessionToken(w, r),
				Error: "The form expired or came from another site. Please try again."})
			return
		}
		next(w, r)
	}
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", page{Title: "Sign in", CSRF: s.deps.WebAuth.PreSessionToken(w, r), SSO: s.deps.SSO})
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	email := r.PostFormValue("email")
	flow, err := s.deps.Auth.BeginLogin(r.Context(), email, r.PostFormValue("password"), webauth.Client(r))
	if err != nil {
		p := page{Title: "Sign in", CSRF: s.deps.WebAuth.PreSessionToken(w, r), Email: email, SSO: s.deps.SSO}
		p.Error, _ = loginError(err)
		s.render(w, r, statusFor(err), "login", p)
		return
	}
	s.deps.WebAuth.SetFlow(w, flow.Token, flow.ExpiresAt)
	http.Redirect(w, r, "/login/next", http.StatusSeeOther)
}

func loginError(err error) (string, bool) {
	var thr *auth.ThrottledError
	switch {
	case errors.As(err, &thr):
		mins := int(math.Ceil(thr.RetryAfter.Minutes()))
		if thr.RetryAfter.Minutes() < 1 {
			return fmt.Sprintf("Too many attempts. Try again in %d seconds.", int(math.Ceil(thr.RetryAfter.Seconds()))), true
		}
		return fmt.Sprintf("Too many attempts. Try again in %d minutes.", mins), true
	case errors.Is(err, auth.ErrInvalidCode):
		return "That code is not right. Check the app and try again.", true
	case errors.Is(err, auth.ErrFlowExpired):
		return "Your sign-in took too long. Please start again.", true
	case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrDisabled):
		return "The e-mail address or password is not right.", true
	}
	var in *auth.InputError
	if errors.As(err, &in) {
		return in.Msg, true
	}
	return "Something went wrong. Please try again.", false
}

func statusFor(err error) int {
	var thr *auth.ThrottledError
	var in *auth.InputError
	switch {
	case errors.As(err, &thr):
		return http.StatusTooManyRequests
	case errors.As(err, &in), errors.Is(err, auth.ErrInvalidCode):
		return http.StatusBadRequest
	case errors.Is(err, auth.ErrInvalidCredentials), errors.Is(err, auth.ErrFlowExpired), errors.Is(err, auth.ErrDisabled):
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

func (s *Server) flowToken(r *http.Request) string {
	c, err := r.Cookie(webauth.FlowCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// loginNext renders the page for the flow's current stage.
func (s *Server) loginNext(w http.ResponseWriter, r *http.Request) {
	flow, err := s.deps.Auth.LoginFlow(r.Context(), s.flowToken(r))
	if err != nil {
		s.deps.WebAuth.Clear(w, webauth.FlowCookie)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.renderStage(w, r, http.StatusOK, flow, "")
}

func (s *Server) renderStage(w http.ResponseWriter, r *http.Request, status int, flow auth.Flow, msg string) {
	csrf := s.deps.WebAuth.PreSessionToken(w, r)
	switch flow.Stage {
	case auth.StageChangePassword:
		s.render(w, r, status, "change_password", page{Title: "Choose a new password", CSRF: csrf, Error: msg, Action: "/login/password"})
	case auth.StageEnrollMFA:
		s.render(w, r, status, "enroll", page{Title: "Set up a second factor", CSRF: csrf, Error: msg, BeginAction: "/login/totp/begin"})
	default:
		s.render(w, r, status, "mfa", page{Title: "Confirm it is you", CSRF: csrf, Error: msg})
	}
}

// flowFailed re-renders the current stage with the error, or restarts the
// sign-in when the flow is gone.
func (s *Server) flowFailed(w http.ResponseWriter, r *http.Request, err error) {
	msg, known := loginError(err)
	if !known {
		s.deps.Log.Error("sign-in step failed", "err", err)
	}
	flow, ferr := s.deps.Auth.LoginFlow(r.Context(), s.flowToken(r))
	if ferr != nil || errors.Is(err, auth.ErrFlowExpired) {
		s.deps.WebAuth.Clear(w, webauth.FlowCookie)
		s.render(w, r, statusFor(err), "login", page{Title: "Sign in", CSRF: s.deps.WebAuth.PreSessionToken(w, r), Error: msg})
		return
	}
	s.renderStage(w, r, statusFor(err), flow, msg)
}

func (s *Server) flowPassword(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("new_password") != r.PostFormValue("confirm_password") {
		s.flowFailed(w, r, &auth.InputError{Field: "confirm_password", Msg: "The two new passwords are not the same."})
		return
	}
	if _, err := s.deps.Auth.FlowChangePassword(r.Context(), s.flowToken(r), r.PostFormValue("new_password")); err != nil {
		s.flowFailed(w, r, err)
		return
	}
	http.Redirect(w, r, "/login/next", http.StatusSeeOther)
}

func (s *Server) flowTOTPBegin(w http.ResponseWriter, r *http.Request) {
	en, err := s.deps.Auth.FlowBeginTOTP(r.Context(), s.flowToken(r))
	if err != nil {
		s.flowFailed(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "enroll", page{Title: "Set up a second factor", CSRF: s.deps.WebAuth.PreSessionToken(w, r),
		TOTP: &totpView{Secret: en.Secret, QR: base64.StdEncoding.EncodeToString(en.QRPNG)}, ConfirmAction: "/login/totp/confirm"})
}

func (s *Server) flowTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	sess, codes, err := s.deps.Auth.FlowConfirmTOTP(r.Context(), s.flowToken(r), r.PostFormValue("code"), webauth.Client(r))
	if err != nil {
		s.flowFailed(w, r, err)
		return
	}
	s.startSession(w, sess)
	s.render(w, r, http.StatusOK, "recovery_codes", page{Title: "Save your recovery codes", Codes: codes, Next: "/account", SignedIn: true})
}

func (s *Server) flowTOTP(w http.ResponseWriter, r *http.Request) {
	sess, err := s.deps.Auth.FlowVerifyTOTP(r.Context(), s.flowToken(r), r.PostFormValue("code"), webauth.Client(r))
	if err != nil {
		s.flowFailed(w, r, err)
		return
	}
	s.startSession(w, sess)
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (s *Server) flowRecovery(w http.ResponseWriter, r *http.Request) {
	sess, err := s.deps.Auth.FlowVerifyRecovery(r.Context(), s.flowToken(r), r.PostFormValue("code"), webauth.Client(r))
	if err != nil {
		s.flowFailed(w, r, err)
		return
	}
	s.startSession(w, sess)
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// startSession swaps the flow cookie for the session cookie.
func (s *Server) startSession(w http.ResponseWriter, sess auth.Session) {
	s.deps.WebAuth.Clear(w, webauth.FlowCookie)
	s.deps.WebAuth.SetSession(w, sess.Token)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	id, err := s.deps.WebAuth.Identify(r)
	if err == nil && id.Via == webauth.ViaSession {
		if !webauth.CheckCSRF(r, id) {
			http.Error(w, "invalid CSRF token", http.StatusForbidden)
			return
		}
		c, _ := r.Cookie(webauth.SessionCookie)
		if err := s.deps.Auth.Logout(r.Context(), c.Value); err != nil {
			s.deps.Log.Error("logout", "err", err)
		}
	}
	s.deps.WebAuth.Clear(w, webauth.SessionCookie)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
