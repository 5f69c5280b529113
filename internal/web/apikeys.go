package web

import (
	"net/http"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/webauth"
)

// The API keys page: the organization's keys (apikeys:write), a form to
// create one with chosen scopes (shown once), and revocation. Keys are made
// by people from a session, never by other keys.

func (s *Server) mountAPIKeys(mux *http.ServeMux) {
	mux.HandleFunc("GET /account/api-keys", s.signedIn(s.apiKeys))
	mux.HandleFunc("POST /account/api-keys", s.signedIn(s.apiKeyCreate))
	mux.HandleFunc("POST /account/api-keys/{id}/revoke", s.signedIn(s.apiKeyRevoke))
}

type scopeOption struct {
	Name    string
	Checked bool
}

func scopeOptions(p auth.Principal, checked map[string]bool) []scopeOption {
	var out []scopeOption
	for _, perm := range access.All {
		if p.Perms.Has(perm) && !isBreakGlassOnly(perm) {
			out = append(out, scopeOption{Name: string(perm), Checked: checked[string(perm)]})
		}
	}
	return out
}

// isBreakGlassOnly hides permissions that no key may carry.
func isBreakGlassOnly(p access.Permission) bool { return p == access.BreakGlass }

func (s *Server) apiKeysPage(r *http.Request, id webauth.Identity, title string) (page, error) {
	p := s.base(id, title)
	keys, err := s.deps.Auth.ListAPIKeys(r.Context(), id.Principal)
	if err != nil {
		return p, err
	}
	p.APIKeys = keys
	p.Scopes = scopeOptions(id.Principal, map[string]bool{"messages:send": true})
	return p, nil
}

func (s *Server) apiKeys(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	p, err := s.apiKeysPage(r, id, "API keys")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "apikeys", p)
}

func (s *Server) apiKeyCreate(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, err)
		return
	}
	var exp time.Time
	if days := r.PostFormValue("expires_days"); days != "" && days != "0" {
		d, err := time.ParseDuration(days + "h")
		if err == nil {
			exp = time.Now().Add(24 * d)
		}
	}
	key, token, err := s.deps.Auth.CreateAPIKey(r.Context(), id.Principal, r.PostFormValue("name"), r.PostForm["scope"], exp)
	p, lerr := s.apiKeysPage(r, id, "API keys")
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	if err != nil {
		p.Error, _ = loginError(err)
		s.render(w, r, statusFor(err), "apikeys", p)
		return
	}
	p.NewKey, p.NewToken = &key, token
	s.render(w, r, http.StatusCreated, "apikeys", p)
}

func (s *Server) apiKeyRevoke(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Auth.RevokeAPIKey(r.Context(), id.Principal, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/api-keys", http.StatusSeeOther)
}
