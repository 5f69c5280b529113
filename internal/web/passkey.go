package web

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webauth"
)

// Passkeys on the pages. During sign-in, static/passkey.js calls four JSON
// endpoints that wrap the flow's ceremonies (enrolment in stage
// enroll_mfa, the challenge in stage mfa); they are protected like the
// sign-in forms, by the pre-session double-submit token (sent as
// X-CSRF-Token) and the cross-origin check. A signed-in person manages
// their passkeys on /account/passkeys: adding one uses the REST API
// (/api/v1/passkeys/begin and /finish, with the session's CSRF token);
// removing one is a plain form.

// maxCredentialJSON bounds a posted WebAuthn response (attestation objects
// of real authenticators are a few kilobytes).
const maxCredentialJSON = 64 << 10

func (s *Server) mountPasskeys(mux *http.ServeMux) {
	mux.HandleFunc("POST /login/passkey/register/begin", s.preSessionJSON(s.flowPasskeyBegin))
	mux.HandleFunc("POST /login/passkey/register/finish", s.preSessionJSON(s.flowPasskeyConfirm))
	mux.HandleFunc("POST /login/passkey/begin", s.preSessionJSON(s.flowPasskeyChallenge))
	mux.HandleFunc("POST /login/passkey/finish", s.preSessionJSON(s.flowPasskeyVerify))
	mux.HandleFunc("GET /account/passkeys", s.signedIn(s.passkeysPage))
	mux.HandleFunc("POST /account/passkeys/{id}/remove", s.signedIn(s.passkeyRemove))
}

// decorate fills what the layout and the second-factor pages need to offer
// passkeys: whether the server can, and on the mfa page which factors this
// sign-in may use.
func (s *Server) decorate(r *http.Request, name string, p *page) {
	p.PasskeysOn = s.deps.Auth.PasskeysAvailable()
	if name != "mfa" {
		return
	}
	p.OfferTOTP = true
	if flow, err := s.deps.Auth.LoginFlow(r.Context(), s.flowToken(r)); err == nil && len(flow.Methods) > 0 {
		p.OfferTOTP = slices.Contains(flow.Methods, auth.MethodTOTP)
		p.OfferPasskey = p.PasskeysOn && slices.Contains(flow.Methods, auth.MethodWebAuthn)
	}
}

var jsonCrossOrigin = http.NewCrossOriginProtection()

// preSessionJSON guards the sign-in's JSON endpoints: the same
// double-submit token as the forms, from the X-CSRF-Token header.
func (s *Server) preSessionJSON(next func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(webauth.PreCSRFCookie)
		got := r.Header.Get("X-CSRF-Token")
		if jsonCrossOrigin.Check(r) != nil || err != nil || c.Value == "" || got == "" ||
			subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) != 1 {
			httpserver.WriteError(w, r, http.StatusForbidden, "csrf", "The page expired or came from another site. Reload it and try again.", "")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCredentialJSON))
		if err != nil {
			httpserver.WriteError(w, r, http.StatusRequestEntityTooLarge, "too_large", "The answer from the passkey is too large.", "")
			return
		}
		next(w, r, body)
	}
}

// credentialBody is what passkey.js posts to a finish endpoint.
type credentialBody struct {
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

func readCredential(body []byte) credentialBody {
	var in credentialBody
	_ = json.Unmarshal(body, &in) // a malformed body is an empty credential, refused by verification
	return in
}

func (s *Server) flowPasskeyBegin(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.options(w, r)(s.deps.Auth.FlowBeginPasskey(r.Context(), s.flowToken(r)))
}

func (s *Server) flowPasskeyChallenge(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.options(w, r)(s.deps.Auth.FlowChallengePasskey(r.Context(), s.flowToken(r)))
}

// options answers a ceremony's options, or its error.
func (s *Server) options(w http.ResponseWriter, r *http.Request) func(json.RawMessage, error) {
	return func(options json.RawMessage, err error) {
		if err != nil {
			s.passkeyFailed(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(options)
	}
}

func (s *Server) flowPasskeyConfirm(w http.ResponseWriter, r *http.Request, body []byte) {
	in := readCredential(body)
	sess, codes, err := s.deps.Auth.FlowConfirmPasskey(r.Context(), s.flowToken(r), in.Name, in.Credential, webauth.Client(r))
	if err != nil {
		s.passkeyFailed(w, r, err)
		return
	}
	s.startSession(w, sess)
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes, "next": "/account"})
}

func (s *Server) flowPasskeyVerify(w http.ResponseWriter, r *http.Request, body []byte) {
	sess, err := s.deps.Auth.FlowVerifyPasskey(r.Context(), s.flowToken(r), readCredential(body).Credential, webauth.Client(r))
	if err != nil {
		s.passkeyFailed(w, r, err)
		return
	}
	s.startSession(w, sess)
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"next": "/account"})
}

// passkeyFailed answers a sign-in ceremony's error as JSON with a message
// for the page; a sign-in that is gone sends the person back to /login.
func (s *Server) passkeyFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, auth.ErrPasskeyRejected):
		httpserver.WriteError(w, r, http.StatusBadRequest, "passkey_rejected", "That passkey was not accepted. Try again, or use another way to sign in.", "")
	case errors.Is(err, auth.ErrNoPasskey), errors.Is(err, auth.ErrPasskeysUnavailable), errors.Is(err, auth.ErrWrongStage):
		httpserver.WriteError(w, r, http.StatusConflict, "unavailable", "A passkey cannot be used here. Use another way to sign in.", "")
	case errors.Is(err, auth.ErrFlowExpired):
		s.deps.WebAuth.Clear(w, webauth.FlowCookie)
		w.Header().Set("Location", "/login")
		httpserver.WriteError(w, r, http.StatusUnauthorized, "expired", "Your sign-in took too long. Please start again.", "")
	default:
		msg, known := loginError(err)
		if !known {
			s.deps.Log.Error("passkey sign-in step failed", "request_id", httpserver.Info(r.Context()).ID, "err", err)
		}
		httpserver.WriteError(w, r, statusFor(err), "failed", msg, "")
	}
}

func (s *Server) passkeysPage(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	s.renderPasskeys(w, r, id, http.StatusOK, "")
}

func (s *Server) renderPasskeys(w http.ResponseWriter, r *http.Request, id webauth.Identity, status int, msg string) {
	list, err := s.deps.Auth.ListPasskeys(r.Context(), id.Principal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.base(id, "Passkeys")
	p.Passkeys, p.Error, p.Script = list, msg, "passkey.js"
	p.NeedReauth = !id.Principal.FreshAuth(time.Now(), reauthWindow)
	if r.URL.Query().Get("notice") == "removed" {
		p.Notice = "Passkey removed."
	}
	s.render(w, r, status, "passkeys", p)
}

func (s *Server) passkeyRemove(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	err := s.deps.Auth.RemovePasskey(r.Context(), id.Principal, r.PathValue("id"))
	var in *auth.InputError
	switch {
	case errors.As(err, &in):
		s.renderPasskeys(w, r, id, http.StatusBadRequest, "You cannot remove your only second factor. Add an authenticator app or another passkey first.")
	case errors.Is(err, store.ErrNotFound):
		http.Error(w, "no such passkey", http.StatusNotFound)
	case err != nil:
		s.fail(w, r, err)
	default:
		http.Redirect(w, r, "/account/passkeys?notice=removed", http.StatusSeeOther)
	}
}
