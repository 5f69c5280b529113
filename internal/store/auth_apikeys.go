package store

// Persistence for package auth: API keys. Only the SHA-256 of a key's
// secret is stored; the key is found by its id, which its prefix carries.

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// APIKeyRow is one row of api_keys. Scopes is space-separated.
type APIKeyRow struct {
	ID         string
	OrgID      string
	UserID     string
	Name       string
	SecretHash []byte
	Scopes     string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	RevokedAt  time.Time
	LastUsedAt time.Time
}

const apiKeyColumns = `id, org_id, user_id, name, secret_hash, scopes, created_at, expires_at, revoked_at, last_used_at`

func scanAPIKey(scan func(...any) error) (APIKeyRow, error) {
	var k APIKeyRow
	var created, expires, revoked, used int64
	if err := scan(&k.ID, &k.OrgID, &k.UserID, &k.Name, &k.SecretHash, &k.Scopes, &created, &expires, &revoked, &used); err != nil {
		return APIKeyRow{}, mapError(err)
	}
	k.CreatedAt, k.ExpiresAt, k.RevokedAt, k.LastUsedAt = FromMicros(created), FromMicros(expires), FromMicros(revoked), FromMicros(used)
	return k, nil
}

// InsertAPIKey adds a key; ErrConflict if the id is taken.
func InsertAPIKey(ctx context.Context, tx *Tx, k APIKeyRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.OrgID, k.UserID, k.Name, k.SecretHash, k.Scopes, Micros(k.CreatedAt), Micros(k.ExpiresAt),
		Micros(k.RevokedAt), Micros(k.LastUsedAt))
	if err != nil {
		return fmt.Errorf("insert API key %s: %w", k.ID, err)
	}
	return nil
}

// GetAPIKey reads a key of orgID.
func GetAPIKey(ctx context.Context, q Querier, orgID, id string) (APIKeyRow, error) {
	k, err := scanAPIKey(q.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE org_id = ? AND id = ?`, orgID, id).Scan)
	if err != nil {
		return APIKeyRow{}, fmt.Errorf("read API key %s: %w", id, err)
	}
	return k, nil
}

// ListAPIKeys lists the keys of orgID, newest first.
func ListAPIKeys(ctx context.Context, q Querier, orgID string) ([]APIKeyRow, error) {
	rows, err := q.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE org_id = ? ORDER BY created_at DESC, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	defer rows.Close()
	var out []APIKeyRow
	for rows.Next() {
		k, err := scanAPIKey(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list API keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey revokes a key of orgID and reports whether it was not
// revoked before.
func RevokeAPIKey(ctx context.Context, tx *Tx, orgID, id string, at time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at = 0`, Micros(at), orgID, id)
	if err != nil {
		return false, fmt.Errorf("revoke API key %s: %w", id, err)
	}
	n, err := authAffected(res, "revoke API key "+id)
	return n == 1, err
}

// RevokeUserAPIKeys revokes every unrevoked key of a user and returns how
// many.
func RevokeUserAPIKeys(ctx context.Context, tx *Tx, orgID, userID string, at time.Time) (int, error) {
	res, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND user_id = ? AND revoked_at = 0`, Micros(at), orgID, userID)
	if err != nil {
		return 0, fmt.Errorf("revoke API keys of user %s: %w", userID, err)
	}
	return authAffected(res, "revoke API keys of user "+userID)
}

// TouchAPIKey records use at at, unless use was recorded after notBefore.
func TouchAPIKey(ctx context.Context, tx *Tx, id string, at, notBefore time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ? AND last_used_at < ?`,
		Micros(at), id, Micros(notBefore)); err != nil {
		return fmt.Errorf("touch API key %s: %w", id, err)
	}
	return nil
}

// APIKeyOwner is what authenticating with a key needs of its user and
// organization.
type APIKeyOwner struct {
	Email, Name, UserStatus, OrgStatus string
	Roles                              []string // sorted
	// BlockedUntil is the login throttle's block on the key the caller
	// named (the client's address), zero when it has none.
	BlockedUntil time.Time
}

// FindAPIKeyWithOwner reads a key by id anywhere in the install (a
// presented key's organization is not known yet), with its user's and
// organization's standing, the user's roles and the login throttle's block
// on throttleKey (GetThrottle's), in one query (a row per role): the
// per-request path of every API call. The owner is empty when the user or
// organization row is missing.
func FindAPIKeyWithOwner(ctx context.Context, q Querier, id, throttleKey string) (APIKeyRow, APIKeyOwner, error) {
	rows, err := q.Query(ctx, `SELECT k.id, k.org_id, k.user_id, k.name, k.secret_hash, k.scopes, k.created_at, k.expires_at,
		k.revoked_at, k.last_used_at, u.email, u.name, u.status, o.status, r.role,
		(SELECT t.blocked_until FROM login_throttle t WHERE t.key = ?)
		FROM api_keys k LEFT JOIN users u ON u.org_id = k.org_id AND u.id = k.user_id LEFT JOIN organizations o ON o.id = k.org_id
		LEFT JOIN user_roles r ON r.org_id = k.org_id AND r.user_id = k.user_id
		WHERE k.id = ? ORDER BY r.role`, throttleKey, id)
	if err != nil {
		return APIKeyRow{}, APIKeyOwner{}, fmt.Errorf("read API key %s: %w", id, err)
	}
	defer rows.Close()
	var k APIKeyRow
	var o APIKeyOwner
	for rows.Next() {
		var email, name, ustatus, ostatus, role sql.NullString
		var blocked sql.NullInt64
		row, err := scanAPIKey(func(dest ...any) error {
			return rows.Scan(append(dest, &email, &name, &ustatus, &ostatus, &role, &blocked)...)
		})
		if err != nil {
			return APIKeyRow{}, APIKeyOwner{}, fmt.Errorf("read API key %s: %w", id, err)
		}
		if k.ID == "" { // the first row: the key and its owner; each row adds a role
			k = row
			o = APIKeyOwner{Email: email.String, Name: name.String, UserStatus: ustatus.String, OrgStatus: ostatus.String,
				BlockedUntil: FromMicros(blocked.Int64)}
		}
		if role.Valid {
			o.Roles = append(o.Roles, role.String)
		}
	}
	if err := rows.Err(); err != nil {
		return APIKeyRow{}, APIKeyOwner{}, fmt.Errorf("read API key %s: %w", id, mapError(err))
	}
	if k.ID == "" {
		return APIKeyRow{}, APIKeyOwner{}, fmt.Errorf("read API key %s: %w", id, ErrNotFound)
	}
	return k, o, nil
}
