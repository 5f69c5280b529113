package store

// Persistence of what proves a portal recipient's identity and what the
// proof grants: one-time codes, portal accounts, portal sessions; and the
// organizations' portal settings.

import (
	"context"
	"fmt"
	"time"
)

// PortalAccountsTable describes portal_accounts for the keyring: the TOTP
// secret is sealed.
func PortalAccountsTable() SealedTable {
	return SealedTable{Table: "portal_accounts", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version", Columns: []string{"totp_secret"}}
}

// PortalCodeRow is one one-time code; CodeHash is a SHA-256 of it.
type PortalCodeRow struct {
	ID, ItemID, OrgID, Channel string
	CodeHash                   []byte
	Attempts                   int
	ExpiresAt, UsedAt          time.Time
	CreatedAt                  time.Time
}

// InsertPortalCode writes a new code.
func InsertPortalCode(ctx context.Context, tx *Tx, c PortalCodeRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO portal_codes (id, item_id, org_id, channel, code_hash, attempts, expires_at, used_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.ItemID, c.OrgID, c.Channel, c.CodeHash, c.Attempts, Micros(c.ExpiresAt),
		Micros(c.UsedAt), Micros(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert portal code: %w", mapError(err))
	}
	return nil
}

// LatestPortalCode returns an item's newest code; ErrNotFound when none
// was ever sent.
func LatestPortalCode(ctx context.Context, q Querier, itemID string) (PortalCodeRow, error) {
	var c PortalCodeRow
	var exp, used, created int64
	err := q.QueryRow(ctx, `SELECT id, item_id, org_id, channel, code_hash, attempts, expires_at, used_at, created_at FROM portal_codes
		WHERE item_id = ? ORDER BY created_at DESC, id DESC LIMIT 1`, itemID).Scan(&c.ID, &c.ItemID, &c.OrgID, &c.Channel,
		&c.CodeHash, &c.Attempts, &exp, &used, &created)
	if err != nil {
		return PortalCodeRow{}, mapError(err)
	}
	c.ExpiresAt, c.UsedAt, c.CreatedAt = FromMicros(exp), FromMicros(used), FromMicros(created)
	return c, nil
}

// CountPortalCodesSince counts the codes sent for an item since a time.
func CountPortalCodesSince(ctx context.Context, q Querier, itemID string, since time.Time) (int, error) {
	var n int
	if err := Scan(q.QueryRow(ctx, `SELECT count(*) FROM portal_codes WHERE item_id = ? AND created_at >= ?`, itemID, Micros(since)), &n); err != nil {
		return 0, fmt.Errorf("count portal codes: %w", err)
	}
	return n, nil
}

// SetPortalCodeAttempts records a code's tries and, when usedAt is set,
// that it was used (a used code never matches again).
func SetPortalCodeAttempts(ctx context.Context, tx *Tx, id string, attempts int, usedAt time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE portal_codes SET attempts = ?, used_at = ? WHERE id = ?`, attempts, Micros(usedAt), id); err != nil {
		return fmt.Errorf("record portal code: %w", err)
	}
	return nil
}

// PortalAccountRow is a recipient's portal account. TOTPSecret is sealed.
type PortalAccountRow struct {
	ID, OrgID      string
	AddressIndex   []byte
	State          string // pending (TOTP not confirmed) or active
	PasswordHash   string
	TOTPSecret     []byte
	DEKVersion     int
	TOTPLastStep   int64
	FailedAttempts int
	LockedUntil    time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

const portalAccountColumns = `id, org_id, address_index, state, password_hash, totp_secret, dek_version, totp_last_step,
	failed_attempts, locked_until, created_at, updated_at`

// PutPortalAccount inserts an account, or replaces the one with the same
// address index while it is still pending; ErrConflict when an active one
// exists.
func PutPortalAccount(ctx context.Context, tx *Tx, a PortalAccountRow) error {
	if _, err := tx.Exec(ctx, `DELETE FROM portal_accounts WHERE org_id = ? AND address_index = ? AND state = 'pending'`, a.OrgID, a.AddressIndex); err != nil {
		return fmt.Errorf("replace pending portal account: %w", err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO portal_accounts (`+portalAccountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.OrgID, a.AddressIndex, a.State, a.PasswordHash, a.TOTPSecret, a.DEKVersion, a.TOTPLastStep, a.FailedAttempts,
		Micros(a.LockedUntil), Micros(a.CreatedAt), Micros(a.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert portal account: %w", mapError(err))
	}
	return nil
}

// PortalAccountByAddress finds the account of an address index; inside a
// transaction the row is locked until it ends.
func PortalAccountByAddress(ctx context.Context, q Querier, orgID string, addressIndex []byte) (PortalAccountRow, error) {
	var a PortalAccountRow
	var locked, created, updated int64
	err := q.QueryRow(ctx, `SELECT `+portalAccountColumns+` FROM portal_accounts WHERE org_id = ? AND address_index = ?`+forUpdate(q),
		orgID, addressIndex).Scan(&a.ID, &a.OrgID, &a.AddressIndex, &a.State, &a.PasswordHash, &a.TOTPSecret, &a.DEKVersion,
		&a.TOTPLastStep, &a.FailedAttempts, &locked, &created, &updated)
	if err != nil {
		return PortalAccountRow{}, mapError(err)
	}
	a.LockedUntil, a.CreatedAt, a.UpdatedAt = FromMicros(locked), FromMicros(created), FromMicros(updated)
	return a, nil
}

// UpdatePortalAccount writes an account's state, TOTP step and attempts.
func UpdatePortalAccount(ctx context.Context, tx *Tx, a PortalAccountRow) error {
	res, err := tx.Exec(ctx, `UPDATE portal_accounts SET state = ?, totp_last_step = ?, failed_attempts = ?, locked_until = ?, updated_at = ?
		WHERE org_id = ? AND id = ?`, a.State, a.TOTPLastStep, a.FailedAttempts, Micros(a.LockedUntil), Micros(a.UpdatedAt), a.OrgID, a.ID)
	return gatewayOneRow(res, err, "update portal account %s/%s", a.OrgID, a.ID)
}

// PortalSessionRow is a server-side portal session; TokenHash is SHA-256
// of the cookie's token. It grants one item.
type PortalSessionRow struct {
	ID                         string
	TokenHash                  []byte
	OrgID, ItemID, RecipientID string
	AccountID, Proof           string
	CreatedAt, LastSeenAt      time.Time
	ExpiresAt, EndedAt         time.Time
}

const portalSessionColumns = `id, token_hash, org_id, item_id, recipient_id, account_id, proof, created_at, last_seen_at, expires_at, ended_at`

// InsertPortalSession writes a new session.
func InsertPortalSession(ctx context.Context, tx *Tx, s PortalSessionRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO portal_sessions (`+portalSessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.TokenHash, s.OrgID, s.ItemID, s.RecipientID, s.AccountID, s.Proof, Micros(s.CreatedAt), Micros(s.LastSeenAt),
		Micros(s.ExpiresAt), Micros(s.EndedAt))
	if err != nil {
		return fmt.Errorf("insert portal session: %w", mapError(err))
	}
	return nil
}

// PortalSessionByToken finds a session by its token's hash.
func PortalSessionByToken(ctx context.Context, q Querier, tokenHash []byte) (PortalSessionRow, error) {
	var s PortalSessionRow
	var created, seen, expires, ended int64
	err := q.QueryRow(ctx, `SELECT `+portalSessionColumns+` FROM portal_sessions WHERE token_hash = ?`, tokenHash).Scan(&s.ID,
		&s.TokenHash, &s.OrgID, &s.ItemID, &s.RecipientID, &s.AccountID, &s.Proof, &created, &seen, &expires, &ended)
	if err != nil {
		return PortalSessionRow{}, mapError(err)
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.EndedAt = FromMicros(created), FromMicros(seen), FromMicros(expires), FromMicros(ended)
	return s, nil
}

// TouchPortalSession records activity on a session that has not ended.
func TouchPortalSession(ctx context.Context, tx *Tx, id string, at time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE portal_sessions SET last_seen_at = ? WHERE id = ? AND ended_at = 0`, Micros(at), id); err != nil {
		return fmt.Errorf("touch portal session: %w", err)
	}
	return nil
}

// EndPortalSessions ends one session (id) or every session of an item
// (itemID), whichever is given.
func EndPortalSessions(ctx context.Context, tx *Tx, id, itemID string, at time.Time) error {
	query, arg := `UPDATE portal_sessions SET ended_at = ? WHERE id = ? AND ended_at = 0`, id
	if id == "" {
		query, arg = `UPDATE portal_sessions SET ended_at = ? WHERE item_id = ? AND ended_at = 0`, itemID
	}
	if _, err := tx.Exec(ctx, query, Micros(at), arg); err != nil {
		return fmt.Errorf("end portal sessions: %w", err)
	}
	return nil
}

// PortalSettingsRow is an organization's portal settings.
type PortalSettingsRow struct {
	OrgID            string
	Expiry           time.Duration
	NotificationText string
	ShowSubject      bool
	UpdatedAt        time.Time
}

// GetPortalSettings reads an organization's settings; ErrNotFound when it
// has never saved any.
func GetPortalSettings(ctx context.Context, q Querier, orgID string) (PortalSettingsRow, error) {
	s := PortalSettingsRow{OrgID: orgID}
	var expiry, updated int64
	err := q.QueryRow(ctx, `SELECT expiry, notification_text, show_subject, updated_at FROM portal_settings WHERE org_id = ?`, orgID).Scan(
		&expiry, &s.NotificationText, &s.ShowSubject, &updated)
	if err != nil {
		return PortalSettingsRow{}, mapError(err)
	}
	s.Expiry, s.UpdatedAt = time.Duration(expiry)*time.Microsecond, FromMicros(updated)
	return s, nil
}

// PutPortalSettings inserts or replaces an organization's settings.
func PutPortalSettings(ctx context.Context, tx *Tx, s PortalSettingsRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO portal_settings (org_id, expiry, notification_text, show_subject, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (org_id) DO UPDATE SET expiry = excluded.expiry, notification_text = excluded.notification_text,
		show_subject = excluded.show_subject, updated_at = excluded.updated_at`,
		s.OrgID, s.Expiry.Microseconds(), s.NotificationText, s.ShowSubject, Micros(s.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save portal settings: %w", mapError(err))
	}
	return nil
}
