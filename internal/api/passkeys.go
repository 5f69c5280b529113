package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/webauth"
)

// Passkeys of the signed-in person (WebAuthn; see package auth). Adding one
// is two calls: begin answers the options for navigator.credentials.create()
// and keeps the challenge server-side in the session; finish posts what the
// browser returned. Both need a recent re-authentication and a browser
// session; listing works with any credential, removing needs a person too.

type passkeyView struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	CreatedAt    time.Time  `json:"created_at"`
	LastUsedAt   *time.Time `json:"last_used_at"`
	BackedUp     bool       `json:"backed_up"`
	Discoverable bool       `json:"discoverable"`
}

func viewPasskey(p auth.Passkey) passkeyView {
	return passkeyView{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: timePtr(p.LastUsedAt),
		BackedUp: p.BackedUp, Discoverable: p.Discoverable}
}

func (s *Server) beginPasskey(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	options, err := s.deps.Auth.BeginPasskey(r.Context(), id.Principal)
	if err != nil {
		s.failPasskey(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(options)
}

type passkeyFinish struct {
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

func (s *Server) finishPasskey(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in passkeyFinish
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	pk, codes, err := s.deps.Auth.ConfirmPasskey(r.Context(), id.Principal, in.Name, in.Credential)
	if err != nil {
		s.failPasskey(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, map[string]any{"passkey": viewPasskey(pk), "recovery_codes": nonNil(codes)})
}

func (s *Server) listPasskeys(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	list, err := s.deps.Auth.ListPasskeys(r.Context(), id.Principal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]passkeyView, 0, len(list))
	for _, p := range list {
		out = append(out, viewPasskey(p))
	}
	s.ok(w, 0, map[string]any{"passkeys": out, "available": s.deps.Auth.PasskeysAvailable()})
}

func (s *Server) removePasskey(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Auth.RemovePasskey(r.Context(), id.Principal, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) beginPasskeyReauth(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	options, err := s.deps.Auth.BeginPasskeyReauth(r.Context(), id.Principal)
	if err != nil {
		s.failPasskey(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(options)
}

type passkeyReauth struct {
	Password   string          `json:"password"`
	Credential json.RawMessage `json:"credential"`
}

func (s *Server) passkeyReauth(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in passkeyReauth
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Auth.ReauthenticatePasskey(r.Context(), id.Principal, in.Password, in.Credential); err != nil {
		s.failPasskey(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// failPasskey answers the errors only passkey ceremonies return.
func (s *Server) failPasskey(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, auth.ErrPasskeyRejected):
		httpserver.WriteError(w, r, http.StatusBadRequest, "passkey_rejected", "the passkey was not accepted; begin again", "credential")
	case errors.Is(err, auth.ErrNoPasskey):
		httpserver.WriteError(w, r, http.StatusConflict, "no_passkey", "you have no passkey; confirm with a code instead", "")
	case errors.Is(err, auth.ErrPasskeysUnavailable):
		httpserver.WriteError(w, r, http.StatusConflict, "passkeys_unavailable", "passkeys need a domain name in http.public_url (or auth.webauthn_rp_id)", "")
	default:
		s.fail(w, r, err)
	}
}

func passkeySchemas() schema {
	pk := obj(nil, schema{"id": str(""), "name": str(""), "created_at": at(""), "last_used_at": when(""),
		"backed_up": boolean("synced to a cloud account (WebAuthn backup state)"), "discoverable": boolean("a client-side discoverable credential")})
	return schema{
		"Passkey":        pk,
		"PasskeyList":    obj(nil, schema{"passkeys": list(ref("Passkey")), "available": boolean("whether this server can register passkeys")}),
		"PasskeyOptions": schema{"type": "object", "description": "PublicKeyCredentialCreationOptions as {\"publicKey\": {...}} (W3C WebAuthn Level 3 section 5.4), binary members base64url; pass to navigator.credentials.create()"},
		"PasskeyFinish": obj([]string{"credential"}, schema{"name": str("a name to tell it apart, e.g. \"Work laptop\""),
			"credential": schema{"type": "object", "description": "the PublicKeyCredential the browser returned, as JSON with base64url binary members (section 5.1)"}}),
		"PasskeyReauth": obj([]string{"password", "credential"}, schema{"password": str(""),
			"credential": schema{"type": "object", "description": "the PublicKeyCredential navigator.credentials.get() returned, as JSON"}}),
		"PasskeyCreated": obj(nil, schema{"passkey": ref("Passkey"), "recovery_codes": list(str("shown once; present only when you had none left"))}),
	}
}
