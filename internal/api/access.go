package api

import (
	"net/http"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/webauth"
)

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	roles, err := s.deps.Auth.ListRoles(r.Context(), id.Principal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]roleView, 0, len(roles))
	for _, ro := range roles {
		out = append(out, viewRole(ro))
	}
	perms := make([]string, 0, len(access.All))
	for _, p := range access.All {
		perms = append(perms, string(p))
	}
	s.ok(w, 0, map[string]any{"roles": out, "permissions": perms})
}

type roleRequest struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
}

func (s *Server) createRole(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in roleRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ro, err := s.deps.Auth.CreateRole(r.Context(), id.Principal, in.Name, in.Description, in.Permissions)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewRole(ro))
}

func (s *Server) getRole(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	ro, err := s.deps.Auth.GetRole(r.Context(), id.Principal, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewRole(ro))
}

func (s *Server) updateRole(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in roleRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ro, err := s.deps.Auth.UpdateRole(r.Context(), id.Principal, r.PathValue("id"), in.Name, in.Description, in.Permissions)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewRole(ro))
}

func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Auth.DeleteRole(r.Context(), id.Principal, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type apiKeyView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	UserID     string     `json:"user_id"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func viewKey(k auth.APIKey) apiKeyView {
	return apiKeyView{ID: k.ID, Name: k.Name, Prefix: k.Prefix, UserID: k.UserID, Scopes: nonNil(k.Scopes), CreatedAt: k.CreatedAt,
		ExpiresAt: timePtr(k.ExpiresAt), RevokedAt: timePtr(k.RevokedAt), LastUsedAt: timePtr(k.LastUsedAt)}
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	keys, err := s.deps.Auth.ListAPIKeys(r.Context(), id.Principal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]apiKeyView, 0, len(keys))
	for _, k := range keys {
		out = append(out, viewKey(k))
	}
	s.ok(w, 0, map[string]any{"api_keys": out})
}

type keyRequest struct {
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in keyRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	var exp time.Time
	if in.ExpiresAt != nil {
		exp = *in.ExpiresAt
	}
	k, token, err := s.deps.Auth.CreateAPIKey(r.Context(), id.Principal, in.Name, in.Scopes, exp)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, map[string]any{"api_key": viewKey(k), "token": token})
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	k, err := s.deps.Auth.GetAPIKey(r.Context(), id.Principal, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewKey(k))
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Auth.RevokeAPIKey(r.Context(), id.Principal, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
