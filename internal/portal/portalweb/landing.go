package portalweb

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/portal"
)

// The link's landing page and the identity proofs made from it. The
// token is in the path, so these handlers never log or echo the URL (the
// access log records the route pattern only).

func (s *Server) landing(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	l, err := s.portal.Open(r.Context(), token)
	if err != nil {
		s.fail(w, r, token, "", err)
		return
	}
	v := view{Title: "Secure message from " + l.Org, Token: token, Landing: l, CSRF: s.preToken(w, r)}
	if m := r.URL.Query().Get("sent"); l.Offers(m) && (m == portal.ProofEmail || m == portal.ProofSMS) {
		v.Sent = m
		v.Notice = "We sent a code. It works once, for a few minutes; a new code replaces the one before."
	}
	if !l.LockedUntil.IsZero() {
		v.Error = lockedText(l.LockedUntil)
	}
	s.render(w, r, http.StatusOK, "landing", v)
}

// pre guards a form shown before a portal session (CSRF), then runs h.
func (s *Server) pre(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.checkPre(r) {
			s.message(w, r, http.StatusForbidden, "This form has expired", "Open the link from your email again and repeat the step.")
			return
		}
		h(w, r, r.PathValue("token"))
	}
}

func (s *Server) sendCode(w http.ResponseWriter, r *http.Request, token string) {
	method := r.PostFormValue("method")
	if err := s.portal.SendCode(r.Context(), token, method); err != nil {
		s.fail(w, r, token, "", err)
		return
	}
	http.Redirect(w, r, "/portal/m/"+url.PathEscape(token)+"?sent="+url.QueryEscape(method), http.StatusSeeOther)
}

func (s *Server) verifyCode(w http.ResponseWriter, r *http.Request, token string) {
	sess, err := s.portal.VerifyCode(r.Context(), token, r.PostFormValue("code"))
	s.proved(w, r, token, sess, err, "code")
}

func (s *Server) verifyPassphrase(w http.ResponseWriter, r *http.Request, token string) {
	sess, err := s.portal.VerifyPassphrase(r.Context(), token, r.PostFormValue("passphrase"))
	s.proved(w, r, token, sess, err, "passphrase")
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request, token string) {
	sess, err := s.portal.SignIn(r.Context(), token, r.PostFormValue("password"), r.PostFormValue("totp"))
	s.proved(w, r, token, sess, err, "password")
}

// proved starts the portal session of a successful proof, or shows why
// not.
func (s *Server) proved(w http.ResponseWriter, r *http.Request, token string, sess portal.Session, err error, field string) {
	if err != nil {
		s.fail(w, r, token, field, err)
		return
	}
	s.setCookie(w, SessionCookie, sess.Token, 0)
	s.setCookie(w, CSRFCookie, "", -1)
	http.Redirect(w, r, "/portal/read", http.StatusSeeOther)
}

// fail answers a landing action's error: the landing page again with the
// problem for what the recipient can fix, a page of its own otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, token, field string, err error) {
	status, text := http.StatusBadRequest, ""
	switch {
	case errors.Is(err, portal.ErrNotFound):
		s.message(w, r, http.StatusNotFound, "This link is not valid", "Check that you opened the whole link from your email. If it still does not work, ask the sender to send the message again.")
		return
	case errors.Is(err, portal.ErrGone):
		s.gone(w, r)
		return
	case errors.Is(err, portal.ErrProof):
		text = map[string]string{"code": "That code is not right, or it has expired or been used. Check the newest email, or ask for a new code.",
			"passphrase": "That passphrase is not right.", "password": "The password or the authenticator code is not right."}[field]
	case errors.Is(err, portal.ErrLocked):
		status, text = http.StatusTooManyRequests, "Too many attempts. Wait a while, then try again."
	case errors.Is(err, portal.ErrThrottled):
		status, text = http.StatusTooManyRequests, "A code was sent very recently, or too many codes were sent. Wait a few minutes, then ask again."
	case errors.Is(err, portal.ErrUnavailable):
		text = "That way of confirming who you are is not available for this message."
	default:
		s.internal(w, r, err)
		return
	}
	l, lerr := s.portal.Open(r.Context(), token)
	if lerr != nil {
		s.fail(w, r, token, "", lerr)
		return
	}
	v := view{Title: "Secure message from " + l.Org, Token: token, Landing: l, CSRF: s.preToken(w, r), Error: text, Field: field}
	if field == "code" {
		v.Sent = portal.ProofEmail
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int((5 * time.Minute).Seconds())))
	}
	s.render(w, r, status, "landing", v)
}

func lockedText(until time.Time) string {
	return "Too many attempts. You can try again after " + until.UTC().Format("15:04 UTC") + "."
}

// gone is the page of a revoked or expired message: 410, no content.
func (s *Server) gone(w http.ResponseWriter, r *http.Request) {
	s.message(w, r, http.StatusGone, "This message is no longer available",
		"The sender withdrew it, or the time to read it has passed. Contact the sender if you still need it.")
}

func (s *Server) message(w http.ResponseWriter, r *http.Request, status int, title, text string) {
	s.render(w, r, status, "message", view{Title: title, Text: text})
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("portal request failed", "route", r.Pattern, "err", err)
	s.message(w, r, http.StatusInternalServerError, "Something went wrong", "Please try again in a moment.")
}
