package store

// Persistence for package auth: alert events and emergency (break-glass)
// access grants. The break-glass reason is keyring ciphertext bound to
// (org_id, 'break_glass', 'reason', id): it may name a patient.

import (
	"context"
	"fmt"
	"time"
)

// AlertRow is one row of alerts. Details is a JSON object of ids, counts and
// reasons; OrgID is an organization id or "system".
type AlertRow struct {
	ID             string
	OrgID          string
	Kind           string
	Severity       string
	Details        string
	CreatedAt      time.Time
	AcknowledgedAt time.Time
	AcknowledgedBy string
}

// InsertAlert records an alert event.
func InsertAlert(ctx context.Context, tx *Tx, a AlertRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO alerts (id, org_id, kind, severity, details, created_at, acknowledged_at, acknowledged_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.OrgID, a.Kind, a.Severity, a.Details, Micros(a.CreatedAt), Micros(a.AcknowledgedAt), a.AcknowledgedBy)
	if err != nil {
		return fmt.Errorf("insert alert %s: %w", a.ID, err)
	}
	return nil
}

// ListAlerts lists the alerts of orgID created at or after since, newest
// first, at most limit.
func ListAlerts(ctx context.Context, q Querier, orgID string, since time.Time, limit int) ([]AlertRow, error) {
	rows, err := q.Query(ctx, `SELECT id, org_id, kind, severity, details, created_at, acknowledged_at, acknowledged_by
		FROM alerts WHERE org_id = ? AND created_at >= ? ORDER BY created_at DESC, id LIMIT ?`, orgID, Micros(since), limit)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	var out []AlertRow
	for rows.Next() {
		var a AlertRow
		var created, acked int64
		if err := rows.Scan(&a.ID, &a.OrgID, &a.Kind, &a.Severity, &a.Details, &created, &acked, &a.AcknowledgedBy); err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		a.CreatedAt, a.AcknowledgedAt = FromMicros(created), FromMicros(acked)
		out = append(out, a)
	}
	return out, rows.Err()
}

// BreakGlassRow is one row of break_glass.
type BreakGlassRow struct {
	ID         string
	OrgID      string
	UserID     string
	Reason     []byte // sealed
	DEKVersion int
	StartedAt  time.Time
	ExpiresAt  time.Time
	EndedAt    time.Time
}

// BreakGlassTable describes break_glass for the keyring.
func BreakGlassTable() SealedTable {
	return SealedTable{Table: "break_glass", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version",
		Columns: []string{"reason"}}
}

// InsertBreakGlass records an emergency access grant.
func InsertBreakGlass(ctx context.Context, tx *Tx, g BreakGlassRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO break_glass (id, org_id, user_id, reason, dek_version, started_at, expires_at, ended_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.OrgID, g.UserID, g.Reason, g.DEKVersion, Micros(g.StartedAt), Micros(g.ExpiresAt), Micros(g.EndedAt))
	if err != nil {
		return fmt.Errorf("insert break-glass grant %s: %w", g.ID, err)
	}
	return nil
}

// ActiveBreakGlass returns the user's grant that is neither ended nor
// expired at now, the one lasting longest if several; ErrNotFound if none.
func ActiveBreakGlass(ctx context.Context, q Querier, orgID, userID string, now time.Time) (BreakGlassRow, error) {
	var g BreakGlassRow
	var started, expires, ended int64
	err := Scan(q.QueryRow(ctx, `SELECT id, org_id, user_id, reason, dek_version, started_at, expires_at, ended_at FROM break_glass
		WHERE org_id = ? AND user_id = ? AND ended_at = 0 AND expires_at > ? ORDER BY expires_at DESC LIMIT 1`,
		orgID, userID, Micros(now)),
		&g.ID, &g.OrgID, &g.UserID, &g.Reason, &g.DEKVersion, &started, &expires, &ended)
	if err != nil {
		return BreakGlassRow{}, fmt.Errorf("active break-glass grant of user %s: %w", userID, err)
	}
	g.StartedAt, g.ExpiresAt, g.EndedAt = FromMicros(started), FromMicros(expires), FromMicros(ended)
	return g, nil
}

// EndBreakGlass ends every active grant of a user and returns how many.
func EndBreakGlass(ctx context.Context, tx *Tx, orgID, userID string, now time.Time) (int, error) {
	res, err := tx.Exec(ctx, `UPDATE break_glass SET ended_at = ? WHERE org_id = ? AND user_id = ? AND ended_at = 0 AND expires_at > ?`,
		Micros(now), orgID, userID, Micros(now))
	if err != nil {
		return 0, fmt.Errorf("end break-glass grants of user %s: %w", userID, err)
	}
	return authAffected(res, "end break-glass grants of user "+userID)
}

// GetBreakGlass reads a grant of orgID.
func GetBreakGlass(ctx context.Context, q Querier, orgID, id string) (BreakGlassRow, error) {
	g := BreakGlassRow{ID: id, OrgID: orgID}
	var started, expires, ended int64
	err := Scan(q.QueryRow(ctx, `SELECT user_id, reason, dek_version, started_at, expires_at, ended_at FROM break_glass
		WHERE org_id = ? AND id = ?`, orgID, id), &g.UserID, &g.Reason, &g.DEKVersion, &started, &expires, &ended)
	if err != nil {
		return BreakGlassRow{}, fmt.Errorf("read break-glass grant %s: %w", id, err)
	}
	g.StartedAt, g.ExpiresAt, g.EndedAt = FromMicros(started), FromMicros(expires), FromMicros(ended)
	return g, nil
}
