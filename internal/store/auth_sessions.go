package store

// Persistence for package auth: server-side sessions. A session is found by
// the SHA-256 of its token; the token itself is never stored. Ending a
// session sets ended_at and end_reason, so logout and expiry are decided
// here, on the server, and the row remains as a record.

import (
	"context"
	"fmt"
	"time"
)

// SessionRow is one row of sessions. AMR is space-separated.
type SessionRow struct {
	ID           string
	TokenHash    []byte
	OrgID        string
	UserID       string
	AMR          string
	CreatedAt    time.Time
	LastSeenAt   time.Time
	ExpiresAt    time.Time
	IdleTimeoutS int64
	ReauthAt     time.Time
	Ceremony     string
	ClientIP     string
	UserAgent    string
	EndedAt      time.Time
	EndReason    string
}

const sessionColumns = `s.id, s.token_hash, s.org_id, s.user_id, s.amr, s.created_at, s.last_seen_at, s.expires_at,
	s.idle_timeout_s, s.reauth_at, s.ceremony, s.client_ip, s.user_agent, s.ended_at, s.end_reason`

func sessionDest(s *SessionRow, t *[5]int64) []any {
	return []any{&s.ID, &s.TokenHash, &s.OrgID, &s.UserID, &s.AMR, &t[0], &t[1], &t[2],
		&s.IdleTimeoutS, &t[3], &s.Ceremony, &s.ClientIP, &s.UserAgent, &t[4], &s.EndReason}
}

func sessionTimes(s *SessionRow, t [5]int64) {
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = FromMicros(t[0]), FromMicros(t[1]), FromMicros(t[2])
	s.ReauthAt, s.EndedAt = FromMicros(t[3]), FromMicros(t[4])
}

func scanSession(scan func(...any) error) (SessionRow, error) {
	var s SessionRow
	var t [5]int64
	if err := scan(sessionDest(&s, &t)...); err != nil {
		return SessionRow{}, mapError(err)
	}
	sessionTimes(&s, t)
	return s, nil
}

// InsertSession adds a session.
func InsertSession(ctx context.Context, tx *Tx, s SessionRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO sessions (id, token_hash, org_id, user_id, amr, created_at, last_seen_at, expires_at,
		idle_timeout_s, reauth_at, ceremony, client_ip, user_agent, ended_at, end_reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.TokenHash, s.OrgID, s.UserID, s.AMR, Micros(s.CreatedAt), Micros(s.LastSeenAt), Micros(s.ExpiresAt),
		s.IdleTimeoutS, Micros(s.ReauthAt), s.Ceremony, s.ClientIP, s.UserAgent, Micros(s.EndedAt), s.EndReason)
	if err != nil {
		return fmt.Errorf("insert session %s: %w", s.ID, err)
	}
	return nil
}

// SessionAuth is a session with what deciding its validity needs: its
// user's status and identity and its organization's current settings.
type SessionAuth struct {
	Session          SessionRow
	UserStatus       string
	Email            string
	Name             string
	OrgStatus        string
	IdleTimeoutS     int64
	SessionLifetimeS int64
}

// GetSessionByToken finds a session, ended or not, by the hash of its token.
func GetSessionByToken(ctx context.Context, q Querier, tokenHash []byte) (SessionAuth, error) {
	var a SessionAuth
	var t [5]int64
	dest := append(sessionDest(&a.Session, &t), &a.UserStatus, &a.Email, &a.Name, &a.OrgStatus, &a.IdleTimeoutS, &a.SessionLifetimeS)
	err := q.QueryRow(ctx, `SELECT `+sessionColumns+`, u.status, u.email, u.name, o.status, o.idle_timeout_s, o.session_lifetime_s
		FROM sessions s JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = s.org_id
		WHERE s.token_hash = ?`, tokenHash).Scan(dest...)
	if err != nil {
		return SessionAuth{}, fmt.Errorf("read session: %w", mapError(err))
	}
	sessionTimes(&a.Session, t)
	return a, nil
}

// GetSession reads a session of orgID by id.
func GetSession(ctx context.Context, q Querier, orgID, id string) (SessionRow, error) {
	s, err := scanSession(q.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE s.org_id = ? AND s.id = ?`, orgID, id).Scan)
	if err != nil {
		return SessionRow{}, fmt.Errorf("read session %s: %w", id, err)
	}
	return s, nil
}

// ListOpenSessions lists the sessions of a user that have not been ended,
// newest first. Some may have expired; the caller decides.
func ListOpenSessions(ctx context.Context, q Querier, orgID, userID string) ([]SessionRow, error) {
	rows, err := q.Query(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE s.org_id = ? AND s.user_id = ? AND s.ended_at = 0
		ORDER BY s.created_at DESC, s.id`, orgID, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions of user %s: %w", userID, err)
	}
	defer rows.Close()
	var out []SessionRow
	for rows.Next() {
		s, err := scanSession(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list sessions of user %s: %w", userID, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// TouchSession records activity at at, unless activity was recorded after
// notBefore (so a busy session writes at most once per interval).
func TouchSession(ctx context.Context, tx *Tx, id string, at, notBefore time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ? AND ended_at = 0 AND last_seen_at < ?`,
		Micros(at), id, Micros(notBefore))
	if err != nil {
		return fmt.Errorf("touch session %s: %w", id, err)
	}
	return nil
}

// EndSession ends an open session of orgID and reports whether it was open.
func EndSession(ctx context.Context, tx *Tx, orgID, id string, at time.Time, reason string) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE sessions SET ended_at = ?, end_reason = ? WHERE org_id = ? AND id = ? AND ended_at = 0`,
		Micros(at), reason, orgID, id)
	if err != nil {
		return false, fmt.Errorf("end session %s: %w", id, err)
	}
	n, err := authAffected(res, "end session "+id)
	return n == 1, err
}

// EndUserSessions ends every open session of a user except the one with id
// except ("" for none) and returns how many it ended.
func EndUserSessions(ctx context.Context, tx *Tx, orgID, userID, except string, at time.Time, reason string) (int, error) {
	res, err := tx.Exec(ctx, `UPDATE sessions SET ended_at = ?, end_reason = ? WHERE org_id = ? AND user_id = ? AND ended_at = 0 AND id <> ?`,
		Micros(at), reason, orgID, userID, except)
	if err != nil {
		return 0, fmt.Errorf("end sessions of user %s: %w", userID, err)
	}
	return authAffected(res, "end sessions of user "+userID)
}

// SetSessionReauth records that the session's user re-entered their
// credentials at at.
func SetSessionReauth(ctx context.Context, tx *Tx, orgID, id string, at time.Time) error {
	res, err := tx.Exec(ctx, `UPDATE sessions SET reauth_at = ? WHERE org_id = ? AND id = ? AND ended_at = 0`, Micros(at), orgID, id)
	if err != nil {
		return fmt.Errorf("record re-authentication of session %s: %w", id, err)
	}
	return authOneRow(res, "record re-authentication of session "+id)
}

// SetSessionCeremony stores the state of a ceremony in progress within a
// session (registering a passkey), as JSON.
func SetSessionCeremony(ctx context.Context, tx *Tx, orgID, id, ceremony string) error {
	res, err := tx.Exec(ctx, `UPDATE sessions SET ceremony = ? WHERE org_id = ? AND id = ? AND ended_at = 0`, ceremony, orgID, id)
	if err != nil {
		return fmt.Errorf("store ceremony of session %s: %w", id, err)
	}
	return authOneRow(res, "store ceremony of session "+id)
}

// DeleteOldSessions removes sessions that ended, expired or went idle
// before before (all of them long invalid) and returns how many.
func DeleteOldSessions(ctx context.Context, tx *Tx, before time.Time) (int, error) {
	b := Micros(before)
	res, err := tx.Exec(ctx, `DELETE FROM sessions WHERE (ended_at > 0 AND ended_at < ?) OR expires_at < ? OR last_seen_at < ?`, b, b, b)
	if err != nil {
		return 0, fmt.Errorf("delete old sessions: %w", mapError(err))
	}
	return authAffected(res, "delete old sessions")
}
