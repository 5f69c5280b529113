package api

import (
	"net/http"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/webauth"
)

// JSON views. Field names are the API contract (see openapi.go).

type userView struct {
	ID                 string     `json:"id"`
	Email              string     `json:"email"`
	Name               string     `json:"name"`
	Status             string     `json:"status"`
	Roles              []string   `json:"roles"`
	MFA                mfaView    `json:"mfa"`
	MustChangePassword bool       `json:"must_change_password"`
	CreatedAt          time.Time  `json:"created_at"`
	LastLoginAt        *time.Time `json:"last_login_at"`
}

type mfaView struct {
	TOTP              bool `json:"totp"`
	Passkeys          int  `json:"passkeys"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
}

func viewUser(u auth.User) userView {
	return userView{ID: u.ID, Email: u.Email, Name: u.Name, Status: u.Status, Roles: nonNil(u.Roles),
		MFA:                mfaView{TOTP: u.MFA.TOTP, Passkeys: u.MFA.Passkeys, RecoveryCodesLeft: u.MFA.RecoveryCodesLeft},
		MustChangePassword: u.MustChangePassword, CreatedAt: u.CreatedAt, LastLoginAt: timePtr(u.LastLoginAt)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

type meView struct {
	User            *userView  `json:"user,omitempty"`
	APIKeyID        string     `json:"api_key_id,omitempty"`
	OrgID           string     `json:"org_id"`
	Permissions     []string   `json:"permissions"`
	BreakGlassUntil *time.Time `json:"break_glass_until"`
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	p := id.Principal
	v := meView{OrgID: p.OrgID, APIKeyID: p.APIKeyID, Permissions: p.Perms.Strings(), BreakGlassUntil: timePtr(p.BreakGlassUntil)}
	if p.UserID != "" && p.APIKeyID == "" {
		u, err := s.deps.Auth.GetUser(r.Context(), p, p.UserID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		uv := viewUser(u)
		v.User = &uv
	}
	s.ok(w, 0, v)
}

type orgView struct {
	ID                     string    `json:"id"`
	Name                   string    `json:"name"`
	Status                 string    `json:"status"`
	IdleTimeoutMinutes     int       `json:"idle_timeout_minutes"`
	SessionLifetimeMinutes int       `json:"session_lifetime_minutes"`
	CreatedAt              time.Time `json:"created_at"`
}

func viewOrg(o auth.Org) orgView {
	return orgView{ID: o.ID, Name: o.Name, Status: o.Status, IdleTimeoutMinutes: int(o.IdleTimeout.Minutes()),
		SessionLifetimeMinutes: int(o.SessionLifetime.Minutes()), CreatedAt: o.CreatedAt}
}

func (s *Server) getOrg(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	o, err := s.deps.Auth.Organization(r.Context(), id.Principal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewOrg(o))
}

type orgPatch struct {
	Name                   *string `json:"name"`
	IdleTimeoutMinutes     *int    `json:"idle_timeout_minutes"`
	SessionLifetimeMinutes *int    `json:"session_lifetime_minutes"`
}

func (s *Server) patchOrg(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in orgPatch
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	var set auth.OrgSettings
	set.Name = in.Name
	if in.IdleTimeoutMinutes != nil {
		d := time.Duration(*in.IdleTimeoutMinutes) * time.Minute
		set.IdleTimeout = &d
	}
	if in.SessionLifetimeMinutes != nil {
		d := time.Duration(*in.SessionLifetimeMinutes) * time.Minute
		set.SessionLifetime = &d
	}
	o, err := s.deps.Auth.UpdateOrganization(r.Context(), id.Principal, set)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewOrg(o))
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	us, err := s.deps.Auth.ListUsers(r.Context(), id.Principal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]userView, 0, len(us))
	for _, u := range us {
		out = append(out, viewUser(u))
	}
	s.ok(w, 0, map[string]any{"users": out})
}

type newUserRequest struct {
	Email string   `json:"email"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in newUserRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	u, otp, err := s.deps.Auth.CreateUser(r.Context(), id.Principal, auth.NewUser{Email: in.Email, Name: in.Name, Roles: in.Roles})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, map[string]any{"user": viewUser(u), "one_time_password": otp})
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	u, err := s.deps.Auth.GetUser(r.Context(), id.Principal, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewUser(u))
}

func (s *Server) setUserRoles(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in struct {
		Roles []string `json:"roles"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.deps.Auth.SetRoles(r.Context(), id.Principal, r.PathValue("id"), in.Roles)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, viewUser(u))
}

// userAction runs a POST /users/{id}/… action that answers the user.
func (s *Server) userAction(fn func(*auth.Service, webauth.Identity, *http.Request) error) func(http.ResponseWriter, *http.Request, webauth.Identity) {
	return func(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
		if err := fn(s.deps.Auth, id, r); err != nil {
			s.fail(w, r, err)
			return
		}
		s.getUser(w, r, id)
	}
}

func (s *Server) disableUser(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	s.userAction(func(a *auth.Service, id webauth.Identity, r *http.Request) error {
		return a.DisableUser(r.Context(), id.Principal, r.PathValue("id"))
	})(w, r, id)
}

func (s *Server) enableUser(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	s.userAction(func(a *auth.Service, id webauth.Identity, r *http.Request) error {
		return a.EnableUser(r.Context(), id.Principal, r.PathValue("id"))
	})(w, r, id)
}

func (s *Server) resetUserMFA(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	s.userAction(func(a *auth.Service, id webauth.Identity, r *http.Request) error {
		return a.ResetMFA(r.Context(), id.Principal, r.PathValue("id"))
	})(w, r, id)
}

type roleView struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
	BuiltIn     bool     `json:"built_in"`
}

func viewRole(r access.Role) roleView {
	return roleView{ID: r.ID, Name: r.Name, Description: r.Description, Permissions: r.Permissions.Strings(), BuiltIn: r.BuiltIn}
}
