package store

// Persistence for package auth: users and their role assignments. E-mail
// addresses are unique install-wide through email_key (lower case), because
// sign-in is by address before the organization is known.

import (
	"context"
	"fmt"
	"time"
)

// User statuses.
const (
	UserActive   = "active"
	UserDisabled = "disabled"
)

// UserRow is one row of users. TOTPSecret and TOTPPending are keyring
// ciphertext (nil for NULL), both sealed with DEKVersion and bound to
// (OrgID, "users", column, ID).
type UserRow struct {
	ID                 string
	OrgID              string
	Email              string
	EmailKey           string
	Name               string
	Status             string
	PasswordHash       string
	MustChangePassword bool
	PasswordChangedAt  time.Time
	TOTPSecret         []byte
	TOTPPending        []byte
	TOTPConfirmedAt    time.Time
	TOTPLastStep       int64
	DEKVersion         int
	WebAuthnHandle     []byte
	CreatedAt          time.Time
	UpdatedAt          time.Time
	LastLoginAt        time.Time
	DisabledAt         time.Time
}

// UsersTable describes the sealed TOTP columns of users for the keyring.
func UsersTable() SealedTable {
	return SealedTable{Table: "users", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version",
		Columns: []string{"totp_secret", "totp_pending"}}
}

const userColumns = `id, org_id, email, email_key, name, status, password_hash, must_change_password,
	password_changed_at, totp_secret, totp_pending, totp_confirmed_at, totp_last_step, dek_version,
	webauthn_handle, created_at, updated_at, last_login_at, disabled_at`

func scanUser(scan func(...any) error) (UserRow, error) {
	var u UserRow
	var pwChanged, confirmed, created, updated, lastLogin, disabled int64
	err := scan(&u.ID, &u.OrgID, &u.Email, &u.EmailKey, &u.Name, &u.Status, &u.PasswordHash, &u.MustChangePassword,
		&pwChanged, &u.TOTPSecret, &u.TOTPPending, &confirmed, &u.TOTPLastStep, &u.DEKVersion,
		&u.WebAuthnHandle, &created, &updated, &lastLogin, &disabled)
	if err != nil {
		return UserRow{}, mapError(err)
	}
	u.PasswordChangedAt, u.TOTPConfirmedAt = FromMicros(pwChanged), FromMicros(confirmed)
	u.CreatedAt, u.UpdatedAt = FromMicros(created), FromMicros(updated)
	u.LastLoginAt, u.DisabledAt = FromMicros(lastLogin), FromMicros(disabled)
	return u, nil
}

// authNullable passes a nil slice as SQL NULL on both drivers.
func authNullable(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// InsertUser adds a user; ErrConflict if the e-mail key is taken anywhere in
// the install.
func InsertUser(ctx context.Context, tx *Tx, u UserRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.OrgID, u.Email, u.EmailKey, u.Name, u.Status, u.PasswordHash, u.MustChangePassword,
		Micros(u.PasswordChangedAt), authNullable(u.TOTPSecret), authNullable(u.TOTPPending), Micros(u.TOTPConfirmedAt),
		u.TOTPLastStep, u.DEKVersion, u.WebAuthnHandle, Micros(u.CreatedAt), Micros(u.UpdatedAt),
		Micros(u.LastLoginAt), Micros(u.DisabledAt))
	if err != nil {
		return fmt.Errorf("insert user %s: %w", u.ID, err)
	}
	return nil
}

// GetUser reads a user of orgID; ErrNotFound if orgID has no such user.
func GetUser(ctx context.Context, q Querier, orgID, id string) (UserRow, error) {
	u, err := scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE org_id = ? AND id = ?`, orgID, id).Scan)
	if err != nil {
		return UserRow{}, fmt.Errorf("read user %s: %w", id, err)
	}
	return u, nil
}

// GetUserByEmailKey finds a user by lower-cased e-mail address anywhere in
// the install (sign-in). The error never names the address.
func GetUserByEmailKey(ctx context.Context, q Querier, emailKey string) (UserRow, error) {
	u, err := scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email_key = ?`, emailKey).Scan)
	if err != nil {
		return UserRow{}, fmt.Errorf("read user by address: %w", err)
	}
	return u, nil
}

// ListUsers lists the users of orgID by creation.
func ListUsers(ctx context.Context, q Querier, orgID string) ([]UserRow, error) {
	rows, err := q.Query(ctx, `SELECT `+userColumns+` FROM users WHERE org_id = ? ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []UserRow
	for rows.Next() {
		u, err := scanUser(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UpdateUserPassword stores a new password hash.
func UpdateUserPassword(ctx context.Context, tx *Tx, orgID, id, hash string, mustChange bool, at time.Time) error {
	res, err := tx.Exec(ctx, `UPDATE users SET password_hash = ?, must_change_password = ?, password_changed_at = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
		hash, mustChange, Micros(at), Micros(at), orgID, id)
	if err != nil {
		return fmt.Errorf("update password of user %s: %w", id, err)
	}
	return authOneRow(res, "update password of user "+id)
}

// SetUserStatus enables or disables a user.
func SetUserStatus(ctx context.Context, tx *Tx, orgID, id, status string, at time.Time) error {
	var disabledAt int64
	if status == UserDisabled {
		disabledAt = Micros(at)
	}
	res, err := tx.Exec(ctx, `UPDATE users SET status = ?, disabled_at = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
		status, disabledAt, Micros(at), orgID, id)
	if err != nil {
		return fmt.Errorf("set status of user %s: %w", id, err)
	}
	return authOneRow(res, "set status of user "+id)
}

// UserTOTP is the TOTP state of a user as written by SetUserTOTP.
type UserTOTP struct {
	Secret      []byte // sealed; nil for none
	Pending     []byte // sealed; nil for none
	DEKVersion  int    // the version that sealed both
	ConfirmedAt time.Time
	LastStep    int64
}

// SetUserTOTP writes every TOTP column of a user at once.
func SetUserTOTP(ctx context.Context, tx *Tx, orgID, id string, t UserTOTP, at time.Time) error {
	res, err := tx.Exec(ctx, `UPDATE users SET totp_secret = ?, totp_pending = ?, dek_version = ?, totp_confirmed_at = ?, totp_last_step = ?, updated_at = ?
		WHERE org_id = ? AND id = ?`,
		authNullable(t.Secret), authNullable(t.Pending), t.DEKVersion, Micros(t.ConfirmedAt), t.LastStep, Micros(at), orgID, id)
	if err != nil {
		return fmt.Errorf("set TOTP of user %s: %w", id, err)
	}
	return authOneRow(res, "set TOTP of user "+id)
}

// AdvanceTOTPStep records step as the user's last accepted TOTP time step if
// it is later than the one recorded, and reports whether it was. The
// condition in the UPDATE makes a code single use even when two requests
// race with it.
func AdvanceTOTPStep(ctx context.Context, tx *Tx, id string, step int64) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, id, step)
	if err != nil {
		return false, fmt.Errorf("advance TOTP step of user %s: %w", id, err)
	}
	n, err := authAffected(res, "advance TOTP step of user "+id)
	return n == 1, err
}

// SetUserLastLogin records a completed sign-in.
func SetUserLastLogin(ctx context.Context, tx *Tx, id string, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, Micros(at), id)
	if err != nil {
		return fmt.Errorf("record sign-in of user %s: %w", id, err)
	}
	return nil
}

// UserRoles lists the roles (built-in names or custom role ids) of a user.
func UserRoles(ctx context.Context, q Querier, orgID, userID string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT role FROM user_roles WHERE org_id = ? AND user_id = ? ORDER BY role`, orgID, userID)
	if err != nil {
		return nil, fmt.Errorf("roles of user %s: %w", userID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("roles of user %s: %w", userID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// OrgUserRoles maps each user of orgID to their roles.
func OrgUserRoles(ctx context.Context, q Querier, orgID string) (map[string][]string, error) {
	rows, err := q.Query(ctx, `SELECT user_id, role FROM user_roles WHERE org_id = ? ORDER BY user_id, role`, orgID)
	if err != nil {
		return nil, fmt.Errorf("roles of organization %s: %w", orgID, err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var u, r string
		if err := rows.Scan(&u, &r); err != nil {
			return nil, fmt.Errorf("roles of organization %s: %w", orgID, err)
		}
		out[u] = append(out[u], r)
	}
	return out, rows.Err()
}

// SetUserRoles replaces a user's roles.
func SetUserRoles(ctx context.Context, tx *Tx, orgID, userID string, roles []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM user_roles WHERE org_id = ? AND user_id = ?`, orgID, userID); err != nil {
		return fmt.Errorf("set roles of user %s: %w", userID, err)
	}
	for _, r := range roles {
		if _, err := tx.Exec(ctx, `INSERT INTO user_roles (org_id, user_id, role) VALUES (?, ?, ?)`, orgID, userID, r); err != nil {
			return fmt.Errorf("set roles of user %s: %w", userID, err)
		}
	}
	return nil
}

// CountActiveWithRole counts the active users of orgID holding role.
func CountActiveWithRole(ctx context.Context, q Querier, orgID, role string) (int, error) {
	var n int
	err := Scan(q.QueryRow(ctx, `SELECT count(*) FROM user_roles r JOIN users u ON u.id = r.user_id
		WHERE r.org_id = ? AND r.role = ? AND u.org_id = ? AND u.status = ?`, orgID, role, orgID, UserActive), &n)
	if err != nil {
		return 0, fmt.Errorf("count holders of role %s: %w", role, err)
	}
	return n, nil
}

// CountRoleAssignments counts the users of orgID holding role, active or not.
func CountRoleAssignments(ctx context.Context, q Querier, orgID, role string) (int, error) {
	var n int
	if err := Scan(q.QueryRow(ctx, `SELECT count(*) FROM user_roles WHERE org_id = ? AND role = ?`, orgID, role), &n); err != nil {
		return 0, fmt.Errorf("count assignments of role %s: %w", role, err)
	}
	return n, nil
}
