package store

// Persistence for the secure portal (package portal). The rules — who may
// open, revoke or reply, what a proof is, when an item expires — live
// there; these functions only move rows, always scoped by organization
// except where a hashed token is the only thing the caller has.

import (
	"context"
	"fmt"
	"time"
)

// Portal item states.
const (
	PortalActive  = "active"
	PortalRevoked = "revoked"
	PortalExpired = "expired"
)

// PortalItemsTable describes portal_items for the keyring: phone (the
// number an SMS code goes to) is sealed, NULL and version 0 when unknown.
func PortalItemsTable() SealedTable {
	return SealedTable{Table: "portal_items", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version", Columns: []string{"phone"}}
}

// PortalItemRow is one recipient's portal delivery of one message. The
// content is the message's own (messages.content); TokenHash is SHA-256 of
// the link token; AddressIndex is the recipient's blind index, which finds
// their portal account.
type PortalItemRow struct {
	ID, OrgID, MessageID, RecipientID string
	TokenHash, AddressIndex           []byte
	State                             string
	NoticeID                          string // the notification's message id
	PassphraseHash                    string // argon2id PHC string, "" for none
	Phone                             []byte // sealed, nil for none
	DEKVersion                        int
	FailedAttempts                    int
	LockedUntil                       time.Time
	Replies                           int
	OpenedAt, RevokedAt, ExpiredAt    time.Time
	RevokedBy                         string // "user:usr_…", "apikey:key_…"
	ExpiresAt, CreatedAt              time.Time
}

const portalItemColumns = `id, org_id, message_id, recipient_id, token_hash, address_index, state, notice_id, passphrase_hash,
	phone, dek_version, failed_attempts, locked_until, replies, opened_at, revoked_at, revoked_by, expired_at, expires_at, created_at`

// InsertPortalItem writes a new item; ErrConflict when the recipient has
// one already.
func InsertPortalItem(ctx context.Context, tx *Tx, r PortalItemRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO portal_items (`+portalItemColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OrgID, r.MessageID, r.RecipientID, r.TokenHash, r.AddressIndex, r.State, r.NoticeID, r.PassphraseHash,
		nullBytes(r.Phone), r.DEKVersion, r.FailedAttempts, Micros(r.LockedUntil), r.Replies, Micros(r.OpenedAt), Micros(r.RevokedAt),
		r.RevokedBy, Micros(r.ExpiredAt), Micros(r.ExpiresAt), Micros(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert portal item: %w", mapError(err))
	}
	return nil
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func scanPortalItem(scan func(...any) error) (PortalItemRow, error) {
	var r PortalItemRow
	var locked, opened, revoked, expired, expires, created int64
	if err := scan(&r.ID, &r.OrgID, &r.MessageID, &r.RecipientID, &r.TokenHash, &r.AddressIndex, &r.State, &r.NoticeID,
		&r.PassphraseHash, &r.Phone, &r.DEKVersion, &r.FailedAttempts, &locked, &r.Replies, &opened, &revoked, &r.RevokedBy, &expired,
		&expires, &created); err != nil {
		return PortalItemRow{}, mapError(err)
	}
	r.LockedUntil, r.OpenedAt, r.RevokedAt, r.ExpiredAt = FromMicros(locked), FromMicros(opened), FromMicros(revoked), FromMicros(expired)
	r.ExpiresAt, r.CreatedAt = FromMicros(expires), FromMicros(created)
	return r, nil
}

// forUpdate locks the selected rows until the transaction ends on
// PostgreSQL; SQLite's single writer already serializes writers.
func forUpdate(q Querier) string {
	if _, inTx := q.(*Tx); inTx && q.Driver() == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// GetPortalItem reads one of an organization's items; inside a
// transaction the row is locked until it ends.
func GetPortalItem(ctx context.Context, q Querier, orgID, id string) (PortalItemRow, error) {
	return scanPortalItem(q.QueryRow(ctx, `SELECT `+portalItemColumns+` FROM portal_items WHERE org_id = ? AND id = ?`+forUpdate(q), orgID, id).Scan)
}

// PortalItemByToken finds the item a link token's hash names, in any
// organization: the token is all a recipient has. Locked like GetPortalItem.
func PortalItemByToken(ctx context.Context, q Querier, tokenHash []byte) (PortalItemRow, error) {
	return scanPortalItem(q.QueryRow(ctx, `SELECT `+portalItemColumns+` FROM portal_items WHERE token_hash = ?`+forUpdate(q), tokenHash).Scan)
}

// PortalItemByRecipient finds a recipient's item.
func PortalItemByRecipient(ctx context.Context, q Querier, orgID, recipientID string) (PortalItemRow, error) {
	return scanPortalItem(q.QueryRow(ctx, `SELECT `+portalItemColumns+` FROM portal_items WHERE org_id = ? AND recipient_id = ?`, orgID, recipientID).Scan)
}

// PortalItemFilter selects items for listing.
type PortalItemFilter struct {
	MessageID string
	State     string
	// SenderUserID keeps items of one person's messages.
	SenderUserID string
	// Before is a cursor: item ids sort by time, newest first.
	Before string
	Limit  int
}

// ListPortalItems lists an organization's items, newest first.
func ListPortalItems(ctx context.Context, q Querier, orgID string, f PortalItemFilter) ([]PortalItemRow, error) {
	query := `SELECT ` + portalItemColumns + ` FROM portal_items p WHERE org_id = ?`
	args := []any{orgID}
	for _, c := range []struct{ cond, v string }{
		{` AND message_id = ?`, f.MessageID}, {` AND state = ?`, f.State}, {` AND id < ?`, f.Before},
		{` AND EXISTS (SELECT 1 FROM messages m WHERE m.id = p.message_id AND m.sender_user_id = ?)`, f.SenderUserID},
	} {
		if c.v != "" {
			query += c.cond
			args = append(args, c.v)
		}
	}
	return queryPortalItems(ctx, q, query+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
}

// DuePortalItems lists active items whose expiry has come, oldest first.
func DuePortalItems(ctx context.Context, q Querier, now time.Time, limit int) ([]PortalItemRow, error) {
	return queryPortalItems(ctx, q, `SELECT `+portalItemColumns+` FROM portal_items WHERE state = 'active' AND expires_at <= ?
		ORDER BY expires_at LIMIT ?`, Micros(now), limit)
}

func queryPortalItems(ctx context.Context, q Querier, query string, args ...any) ([]PortalItemRow, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list portal items: %w", err)
	}
	defer rows.Close()
	var out []PortalItemRow
	for rows.Next() {
		r, err := scanPortalItem(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list portal items: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetPortalNotice records the notification that announced an item.
func SetPortalNotice(ctx context.Context, tx *Tx, orgID, id, noticeID string) error {
	res, err := tx.Exec(ctx, `UPDATE portal_items SET notice_id = ? WHERE org_id = ? AND id = ?`, noticeID, orgID, id)
	return gatewayOneRow(res, err, "record portal notice %s/%s", orgID, id)
}

// SetPortalProof replaces an item's passphrase hash and sealed phone.
func SetPortalProof(ctx context.Context, tx *Tx, orgID, id, passphraseHash string, phone []byte, dekVersion int) error {
	res, err := tx.Exec(ctx, `UPDATE portal_items SET passphrase_hash = ?, phone = ?, dek_version = ? WHERE org_id = ? AND id = ?`,
		passphraseHash, nullBytes(phone), dekVersion, orgID, id)
	return gatewayOneRow(res, err, "set portal proof %s/%s", orgID, id)
}

// SetPortalAttempts records an item's failed proofs and lock.
func SetPortalAttempts(ctx context.Context, tx *Tx, id string, failed int, lockedUntil time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE portal_items SET failed_attempts = ?, locked_until = ? WHERE id = ?`, failed, Micros(lockedUntil), id)
	if err != nil {
		return fmt.Errorf("record portal attempts: %w", err)
	}
	return nil
}

// CountPortalReply counts one more reply from an item, unless it has
// max already; it reports whether it counted.
func CountPortalReply(ctx context.Context, tx *Tx, id string, max int) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE portal_items SET replies = replies + 1 WHERE id = ? AND replies < ?`, id, max)
	return affectedOne(res, err, "count portal reply")
}

// SetPortalOpened records the first time an item's content was shown; it
// reports false when it had been opened before.
func SetPortalOpened(ctx context.Context, tx *Tx, id string, at time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE portal_items SET opened_at = ? WHERE id = ? AND opened_at = 0`, Micros(at), id)
	return affectedOne(res, err, "record portal opened")
}

// EndPortalItem moves an active item to revoked or expired; it reports
// false when the item was not active (already ended).
func EndPortalItem(ctx context.Context, tx *Tx, orgID, id, state, by string, at time.Time) (bool, error) {
	column := "expired_at"
	if state == PortalRevoked {
		column = "revoked_at"
	}
	res, err := tx.Exec(ctx, `UPDATE portal_items SET state = ?, `+column+` = ?, revoked_by = ? WHERE org_id = ? AND id = ? AND state = 'active'`,
		state, Micros(at), by, orgID, id)
	return affectedOne(res, err, "end portal item")
}

func affectedOne(res interface{ RowsAffected() (int64, error) }, err error, what string) (bool, error) {
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, mapError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return n == 1, nil
}

// PortalRecipient reads one recipient of an organization's message;
// inside a transaction the row is locked until it ends.
func PortalRecipient(ctx context.Context, q Querier, orgID, messageID, id string) (RecipientRow, error) {
	return ScanRecipient(q.QueryRow(ctx, `SELECT `+recipientColumns+` FROM recipients WHERE org_id = ? AND message_id = ? AND id = ?`+forUpdate(q),
		orgID, messageID, id).Scan)
}

// MarkRecipientPortal moves a recipient that has not reached a final
// state to portal: delivery is done, the content waits in the portal. It
// reports false when the recipient was already final.
func MarkRecipientPortal(ctx context.Context, tx *Tx, orgID, id, reason string, at time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE recipients SET state = 'portal', last_reason = ?, lease_until = 0, updated_at = ?, finished_at = ?
		WHERE org_id = ? AND id = ? AND state IN ('queued', 'sending', 'deferred', 'held')`, reason, Micros(at), Micros(at), orgID, id)
	return affectedOne(res, err, "move recipient to the portal")
}
