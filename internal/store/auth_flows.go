package store

// Persistence for package auth: sign-ins in progress (login_flows). A flow
// is found by the SHA-256 of its token; the token itself is never stored.

import (
	"context"
	"fmt"
	"time"
)

// LoginFlowRow is one row of login_flows. AMR is space-separated; Ceremony
// is opaque JSON kept for a WebAuthn or other ceremony in progress.
type LoginFlowRow struct {
	ID        string
	TokenHash []byte
	OrgID     string
	UserID    string
	Stage     string
	AMR       string
	Ceremony  string
	Attempts  int
	ClientIP  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

const loginFlowColumns = `id, token_hash, org_id, user_id, stage, amr, ceremony, attempts, client_ip, created_at, expires_at`

func scanLoginFlow(scan func(...any) error) (LoginFlowRow, error) {
	var f LoginFlowRow
	var created, expires int64
	if err := scan(&f.ID, &f.TokenHash, &f.OrgID, &f.UserID, &f.Stage, &f.AMR, &f.Ceremony, &f.Attempts,
		&f.ClientIP, &created, &expires); err != nil {
		return LoginFlowRow{}, mapError(err)
	}
	f.CreatedAt, f.ExpiresAt = FromMicros(created), FromMicros(expires)
	return f, nil
}

// InsertLoginFlow adds a sign-in in progress.
func InsertLoginFlow(ctx context.Context, tx *Tx, f LoginFlowRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO login_flows (`+loginFlowColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.TokenHash, f.OrgID, f.UserID, f.Stage, f.AMR, f.Ceremony, f.Attempts, f.ClientIP,
		Micros(f.CreatedAt), Micros(f.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert login flow %s: %w", f.ID, err)
	}
	return nil
}

// GetLoginFlowByToken finds a flow by the hash of its token.
func GetLoginFlowByToken(ctx context.Context, q Querier, tokenHash []byte) (LoginFlowRow, error) {
	f, err := scanLoginFlow(q.QueryRow(ctx, `SELECT `+loginFlowColumns+` FROM login_flows WHERE token_hash = ?`, tokenHash).Scan)
	if err != nil {
		return LoginFlowRow{}, fmt.Errorf("read login flow: %w", err)
	}
	return f, nil
}

// GetLoginFlow reads a flow by id.
func GetLoginFlow(ctx context.Context, q Querier, id string) (LoginFlowRow, error) {
	f, err := scanLoginFlow(q.QueryRow(ctx, `SELECT `+loginFlowColumns+` FROM login_flows WHERE id = ?`, id).Scan)
	if err != nil {
		return LoginFlowRow{}, fmt.Errorf("read login flow %s: %w", id, err)
	}
	return f, nil
}

// SetLoginFlowStage moves a flow to another stage with the methods used so
// far.
func SetLoginFlowStage(ctx context.Context, tx *Tx, id, stage, amr string) error {
	res, err := tx.Exec(ctx, `UPDATE login_flows SET stage = ?, amr = ?, ceremony = '' WHERE id = ?`, stage, amr, id)
	if err != nil {
		return fmt.Errorf("advance login flow %s: %w", id, err)
	}
	return authOneRow(res, "advance login flow "+id)
}

// SetLoginFlowCeremony stores the state of a ceremony in progress (WebAuthn
// options and challenge, as JSON).
func SetLoginFlowCeremony(ctx context.Context, tx *Tx, id, ceremony string) error {
	res, err := tx.Exec(ctx, `UPDATE login_flows SET ceremony = ? WHERE id = ?`, ceremony, id)
	if err != nil {
		return fmt.Errorf("store ceremony of login flow %s: %w", id, err)
	}
	return authOneRow(res, "store ceremony of login flow "+id)
}

// CountLoginFlowAttempt adds one failed attempt to a flow and returns the
// new count.
func CountLoginFlowAttempt(ctx context.Context, tx *Tx, id string) (int, error) {
	if _, err := tx.Exec(ctx, `UPDATE login_flows SET attempts = attempts + 1 WHERE id = ?`, id); err != nil {
		return 0, fmt.Errorf("count attempt of login flow %s: %w", id, err)
	}
	var n int
	if err := Scan(tx.QueryRow(ctx, `SELECT attempts FROM login_flows WHERE id = ?`, id), &n); err != nil {
		return 0, fmt.Errorf("count attempt of login flow %s: %w", id, err)
	}
	return n, nil
}

// DeleteLoginFlow removes a flow and reports whether it existed.
func DeleteLoginFlow(ctx context.Context, tx *Tx, id string) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM login_flows WHERE id = ?`, id)
	if err != nil {
		return false, fmt.Errorf("delete login flow %s: %w", id, err)
	}
	n, err := authAffected(res, "delete login flow "+id)
	return n == 1, err
}

// DeleteUserLoginFlows removes every flow of a user (disabled, MFA reset).
func DeleteUserLoginFlows(ctx context.Context, tx *Tx, userID string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM login_flows WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("delete login flows of user %s: %w", userID, err)
	}
	return nil
}

// DeleteExpiredLoginFlows removes flows that expired before now and
// returns how many.
func DeleteExpiredLoginFlows(ctx context.Context, tx *Tx, now time.Time) (int, error) {
	res, err := tx.Exec(ctx, `DELETE FROM login_flows WHERE expires_at <= ?`, Micros(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired login flows: %w", err)
	}
	return authAffected(res, "delete expired login flows")
}
