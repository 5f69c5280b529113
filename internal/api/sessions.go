package api

import (
	"net/http"
	"time"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/webauth"
)

type sessionView struct {
	ID                 string    `json:"id"`
	UserID             string    `json:"user_id"`
	CreatedAt          time.Time `json:"created_at"`
	LastSeenAt         time.Time `json:"last_seen_at"`
	ExpiresAt          time.Time `json:"expires_at"`
	IdleTimeoutMinutes int       `json:"idle_timeout_minutes"`
	ClientIP           string    `json:"client_ip"`
	UserAgent          string    `json:"user_agent"`
	Methods            []string  `json:"methods"`
	Current            bool      `json:"current"`
}

func viewSession(s auth.Session) sessionView {
	return sessionView{ID: s.ID, UserID: s.UserID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt,
		IdleTimeoutMinutes: int(s.IdleTimeout.Minutes()), ClientIP: s.ClientIP, UserAgent: s.UserAgent, Methods: nonNil(s.AMR), Current: s.Current}
}

func (s *Server) currentSession(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	v := viewSession(id.Session)
	v.Current = true
	s.ok(w, 0, map[string]any{"session": v, "csrf_token": id.CSRF})
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	list, err := s.deps.Auth.ListSessions(r.Context(), id.Principal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]sessionView, 0, len(list))
	for _, se := range list {
		out = append(out, viewSession(se))
	}
	s.ok(w, 0, map[string]any{"sessions": out})
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Auth.EndSession(r.Context(), id.Principal, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type reauthRequest struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

func (s *Server) reauth(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in reauthRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Auth.Reauthenticate(r.Context(), id.Principal, in.Password, in.Code); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type passwordRequest struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in passwordRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Auth.ChangePassword(r.Context(), id.Principal, in.Current, in.New); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type breakGlassRequest struct {
	Reason  string `json:"reason"`
	Minutes int    `json:"minutes"`
}

type grantView struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	StartedAt time.Time `json:"started_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) activateBreakGlass(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in breakGlassRequest
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	g, err := s.deps.Auth.ActivateBreakGlass(r.Context(), id.Principal, in.Reason, time.Duration(in.Minutes)*time.Minute)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, grantView{ID: g.ID, UserID: g.UserID, StartedAt: g.StartedAt, ExpiresAt: g.ExpiresAt})
}

func (s *Server) endBreakGlass(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Auth.EndBreakGlass(r.Context(), id.Principal); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type alertView struct {
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	Severity  string            `json:"severity"`
	Details   map[string]string `json:"details"`
	CreatedAt time.Time         `json:"created_at"`
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.fail(w, r, &auth.InputError{Field: "since", Msg: "must be an RFC 3339 time"})
			return
		}
		since = t
	}
	list, err := s.deps.Auth.ListAlerts(r.Context(), id.Principal, since)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]alertView, 0, len(list))
	for _, a := range list {
		out = append(out, alertView{ID: a.ID, Kind: a.Kind, Severity: a.Severity, Details: a.Details, CreatedAt: a.CreatedAt})
	}
	s.ok(w, 0, map[string]any{"alerts": out})
}
