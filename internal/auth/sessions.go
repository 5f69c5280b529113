package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
)

// touchInterval bounds how often a busy session writes last_seen_at.
const touchInterval = 30 * time.Second

// Session is a signed-in browser. Token is set only when it is created;
// the server keeps only its SHA-256. ExpiresAt and IdleTimeout are the
// values in force now (the organization's current settings).
type Session struct {
	ID, Token, OrgID, UserID                   string
	CreatedAt, LastSeenAt, ExpiresAt, ReauthAt time.Time
	IdleTimeout                                time.Duration
	ClientIP, UserAgent                        string
	AMR                                        []string
	Current                                    bool
}

// limits are a session's timeouts under the organization's current
// settings: idle within 1..30 minutes, lifetime no longer than Options
// allow.
func (s *Service) limits(idleS, lifetimeS int64) (idle, lifetime time.Duration) {
	idle = min(max(time.Duration(idleS)*time.Second, MinIdleTimeout), MaxIdleTimeout)
	lifetime = min(time.Duration(lifetimeS)*time.Second, s.opts.SessionLifetime, MaxSessionLifetime)
	return idle, lifetime
}

func sessionView(r store.SessionRow, idle, lifetime time.Duration) Session {
	return Session{ID: r.ID, OrgID: r.OrgID, UserID: r.UserID, CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt,
		ExpiresAt: r.CreatedAt.Add(lifetime), ReauthAt: r.ReauthAt, IdleTimeout: idle,
		ClientIP: r.ClientIP, UserAgent: r.UserAgent, AMR: strings.Fields(r.AMR)}
}

// expiry says why a session is no longer valid at now, or "".
func expiry(r store.SessionRow, now time.Time, idle, lifetime time.Duration) string {
	switch {
	case !r.EndedAt.IsZero():
		return "ended"
	case !now.Before(r.CreatedAt.Add(lifetime)):
		return "expired"
	case now.Sub(r.LastSeenAt) >= idle:
		return "idle_timeout"
	}
	return ""
}

// createSession makes a new session (new token, every sign-in) inside tx.
// The sign-in itself counts as a fresh authentication.
func (s *Service) createSession(ctx context.Context, tx *store.Tx, u store.UserRow, amr []string, c Client) (Session, error) {
	org, err := store.GetOrganization(ctx, tx, u.OrgID)
	if err != nil {
		return Session{}, err
	}
	idle, lifetime := s.limits(org.IdleTimeoutS, org.SessionLifetimeS)
	now := s.now()
	token, hash := newToken()
	row := store.SessionRow{ID: id.New("ses"), TokenHash: hash, OrgID: u.OrgID, UserID: u.ID,
		AMR: strings.Join(amr, " "), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(lifetime),
		IdleTimeoutS: int64(idle / time.Second), ReauthAt: now, ClientIP: c.IP, UserAgent: cleanUserAgent(c.UserAgent)}
	if err := store.InsertSession(ctx, tx, row); err != nil {
		return Session{}, err
	}
	sess := sessionView(row, idle, lifetime)
	sess.Token = token
	return sess, nil
}

// Authenticate resolves a session token to its principal. It is
// ErrSessionExpired when the session ended, passed the organization's idle
// timeout or its absolute lifetime (HIPAA 164.312(a)(2)(iii)), or its user
// or organization is disabled; an expiry found here is ended and audited.
// Activity is recorded at most every 30 seconds.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, Session, error) {
	if token == "" {
		return Principal{}, Session{}, ErrSessionExpired
	}
	a, err := store.GetSessionByToken(ctx, s.reader(), hashToken(token))
	if isNotFound(err) {
		return Principal{}, Session{}, ErrSessionExpired
	}
	if err != nil {
		return Principal{}, Session{}, err
	}
	now := s.now()
	idle, lifetime := s.limits(a.IdleTimeoutS, a.SessionLifetimeS)
	r := a.Session
	reason := expiry(r, now, idle, lifetime)
	if reason == "" && a.UserStatus != store.UserActive {
		reason = "user_disabled"
	}
	if reason == "" && a.OrgStatus != store.OrgActive {
		reason = "org_disabled"
	}
	if reason != "" {
		if r.EndedAt.IsZero() {
			if err := s.endSession(ctx, r, audit.Actor{Type: audit.ActorSystem, ID: "auth"}, reason); err != nil {
				return Principal{}, Session{}, errors.Join(ErrSessionExpired, err)
			}
		}
		return Principal{}, Session{}, ErrSessionExpired
	}
	// QUIRK: activity is written at most every touchInterval, so the idle
	// timeout may end a session up to that much early, never late.
	if now.Sub(r.LastSeenAt) >= touchInterval {
		err := s.tx(ctx, func(tx *store.Tx) error { return store.TouchSession(ctx, tx, r.ID, now, now.Add(-touchInterval)) })
		if err != nil {
			s.opts.Log.Warn("record session activity", "session", r.ID, "error", err)
		} else {
			r.LastSeenAt = now
		}
	}
	p, err := s.userPrincipal(ctx, s.reader(), r.OrgID, r.UserID, a.Email, a.Name)
	if err != nil {
		return Principal{}, Session{}, err
	}
	p.SessionID, p.ReauthAt = r.ID, r.ReauthAt
	sess := sessionView(r, idle, lifetime)
	sess.Current = true
	return p, sess, nil
}

// endSession ends r for reason and audits "auth.session.end" (or
// "auth.logout") in one transaction.
func (s *Service) endSession(ctx context.Context, r store.SessionRow, actor audit.Actor, reason string) error {
	action := "auth.session.end"
	if reason == "logout" {
		action = "auth.logout"
	}
	return s.tx(ctx, func(tx *store.Tx) error {
		ended, err := store.EndSession(ctx, tx, r.OrgID, r.ID, s.now(), reason)
		if err != nil || !ended {
			return err // already ended: nothing to record
		}
		return s.record(ctx, tx, audit.Entry{Chain: r.OrgID, Actor: actor, Action: action,
			TargetType: "session", TargetID: r.ID, Outcome: audit.Success,
			Details: map[string]string{"reason": reason, "user_id": r.UserID}})
	})
}

// Logout ends the session of token on the server. An unknown or already
// ended session is not an error: the outcome is the same.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	a, err := store.GetSessionByToken(ctx, s.reader(), hashToken(token))
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !a.Session.EndedAt.IsZero() {
		return nil
	}
	return s.endSession(ctx, a.Session, audit.Actor{Type: audit.ActorUser, ID: a.Session.UserID}, "logout")
}

// ListSessions lists p's own sessions that are still valid, newest first;
// Current marks the one p authenticated with.
func (s *Service) ListSessions(ctx context.Context, p Principal) ([]Session, error) {
	if p.OrgID == "" || p.UserID == "" {
		return nil, ErrForbidden
	}
	q := s.reader()
	org, err := store.GetOrganization(ctx, q, p.OrgID)
	if err != nil {
		return nil, err
	}
	rows, err := store.ListOpenSessions(ctx, q, p.OrgID, p.UserID)
	if err != nil {
		return nil, err
	}
	idle, lifetime := s.limits(org.IdleTimeoutS, org.SessionLifetimeS)
	now := s.now()
	out := []Session{}
	for _, r := range rows {
		if expiry(r, now, idle, lifetime) != "" {
			continue
		}
		v := sessionView(r, idle, lifetime)
		v.Current = r.ID == p.SessionID
		out = append(out, v)
	}
	return out, nil
}

// EndSession ends one of p's sessions, or with sessions:manage any session
// of p's organization; a session of another organization is
// store.ErrNotFound.
func (s *Service) EndSession(ctx context.Context, p Principal, sessionID string) error {
	if p.OrgID == "" || p.UserID == "" {
		return ErrForbidden
	}
	r, err := store.GetSession(ctx, s.reader(), p.OrgID, sessionID)
	if err != nil {
		return err
	}
	reason := "ended_by_user"
	if r.UserID != p.UserID {
		if err := p.Require(access.SessionsManage); err != nil {
			return err
		}
		reason = "ended_by_admin"
	}
	if !r.EndedAt.IsZero() {
		return nil
	}
	return s.endSession(ctx, r, p.Actor(), reason)
}
