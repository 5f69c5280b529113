package api

import (
	"net/http"
	"time"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/webauth"
)

// The organization's SSO provider (OpenID Connect; see package auth). One
// per organization, so the path has no id: it is the caller's own. The
// client secret is write-only: sent on PUT, never answered.

type ssoView struct {
	Issuer          string              `json:"issuer"`
	ClientID        string              `json:"client_id"`
	ClientSecretSet bool                `json:"client_secret_set"`
	Slug            string              `json:"slug"`
	Scopes          []string            `json:"scopes"`
	GroupsClaim     string              `json:"groups_claim"`
	RoleMap         map[string][]string `json:"role_map"`
	DefaultRole     string              `json:"default_role"`
	TrustAMR        bool                `json:"trust_amr"`
	Enabled         bool                `json:"enabled"`
	RedirectURI     string              `json:"redirect_uri"`
	CreatedAt       time.Time           `json:"created_at"`
	UpdatedAt       time.Time           `json:"updated_at"`
}

func viewSSO(c auth.SSOConfig) ssoView {
	return ssoView{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecretSet: c.ClientSecretSet, Slug: c.Slug,
		Scopes: nonNil(c.Scopes), GroupsClaim: c.GroupsClaim, RoleMap: c.RoleMap, DefaultRole: c.DefaultRole,
		TrustAMR: c.TrustAMR, Enabled: c.Enabled, RedirectURI: c.RedirectURL, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

type ssoInput struct {
	Issuer       string              `json:"issuer"`
	ClientID     string              `json:"client_id"`
	ClientSecret *string             `json:"client_secret"`
	Slug         string              `json:"slug"`
	Scopes       []string            `json:"scopes"`
	GroupsClaim  string              `json:"groups_claim"`
	RoleMap      map[string][]string `json:"role_map"`
	DefaultRole  string              `json:"default_role"`
	TrustAMR     bool                `json:"trust_amr"`
	Enabled      bool                `json:"enabled"`
}

func (s *Server) getSSO(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	c, err := s.deps.Auth.SSO(r.Context(), id.Principal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewSSO(c))
}

func (s *Server) putSSO(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in ssoInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.deps.Auth.PutSSO(r.Context(), id.Principal, auth.SSOInput{Issuer: in.Issuer, ClientID: in.ClientID,
		ClientSecret: in.ClientSecret, Slug: in.Slug, Scopes: in.Scopes, GroupsClaim: in.GroupsClaim, RoleMap: in.RoleMap,
		DefaultRole: in.DefaultRole, TrustAMR: in.TrustAMR, Enabled: in.Enabled})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewSSO(c))
}

func (s *Server) deleteSSO(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Auth.DeleteSSO(r.Context(), id.Principal); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func ssoSchemas() schema {
	roleMap := schema{"type": "object", "description": "group name (as the provider sends it) → roles (built-in names or custom role ids)",
		"additionalProperties": list(str(""))}
	return schema{
		"SSO": obj(nil, schema{"issuer": str("the provider's issuer URL (https)"), "client_id": str(""),
			"client_secret_set": boolean("the secret itself is never returned"), "slug": str("short name typed on the SSO sign-in page"),
			"scopes": list(str("")), "groups_claim": str("ID token claim holding the person's groups"), "role_map": roleMap,
			"default_role": str("role for people in no mapped group; empty: they cannot sign in"),
			"trust_amr":    boolean("accept the provider's amr claim (RFC 8176: mfa, otp, hwk, swk, pop) as the second factor"),
			"enabled":      boolean(""), "redirect_uri": str("register this at the provider"), "created_at": at(""), "updated_at": at("")}),
		"SSOInput": obj([]string{"issuer", "client_id"}, schema{"issuer": str("https:// issuer URL"), "client_id": str(""),
			"client_secret": str("write-only; omit to keep the stored one (required the first time)"), "slug": str("2 to 63 of a-z, 0-9 and -"),
			"scopes": list(str("default openid email profile; must include openid")), "groups_claim": str("default groups"),
			"role_map": roleMap, "default_role": str(""), "trust_amr": boolean("default false: carepost asks for its own second factor"),
			"enabled": boolean("")}),
	}
}
