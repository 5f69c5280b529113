package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// MessageRow is a submitted message. Content is sealed.
type MessageRow struct {
	ID, OrgID, Source, SubmitterType, SubmitterID, SenderUserID string
	MailFrom, FromDomain, Security                              string
	PHI, RequireTLS, DSN                                        bool
	IdempotencyKey                                              string
	RequestHash                                                 []byte
	Size                                                        int64
	Content                                                     []byte
	DEKVersion                                                  int
	Tags, Metadata                                              string // JSON
	Recipients                                                  int
	CreatedAt, ExpiresAt                                        time.Time
}

// MessagesTable is the sealed-table descriptor for key rotation.
func MessagesTable() SealedTable {
	return SealedTable{Table: "messages", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version", Columns: []string{"content"}}
}

// RecipientsTable is the sealed-table descriptor for key rotation.
func RecipientsTable() SealedTable {
	return SealedTable{Table: "recipients", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version", Columns: []string{"address"}}
}

const messageColumns = `id, org_id, source, submitter_type, submitter_id, sender_user_id, mail_from, from_domain, security,
	phi, requiretls, dsn, idempotency_key, request_hash, size, content, dek_version, tags, metadata, recipients, created_at, expires_at`

// InsertMessage writes a message; a repeated idempotency key is ErrConflict.
func InsertMessage(ctx context.Context, tx *Tx, m MessageRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO messages (`+messageColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.OrgID, m.Source, m.SubmitterType, m.SubmitterID, m.SenderUserID, m.MailFrom, m.FromDomain, m.Security,
		m.PHI, m.RequireTLS, m.DSN, m.IdempotencyKey, m.RequestHash, m.Size, m.Content, m.DEKVersion, m.Tags, m.Metadata,
		m.Recipients, Micros(m.CreatedAt), Micros(m.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert message: %w", err)
	}
	return nil
}

func scanMessage(scan func(...any) error) (MessageRow, error) {
	var m MessageRow
	var created, expires int64
	err := scan(&m.ID, &m.OrgID, &m.Source, &m.SubmitterType, &m.SubmitterID, &m.SenderUserID, &m.MailFrom, &m.FromDomain, &m.Security,
		&m.PHI, &m.RequireTLS, &m.DSN, &m.IdempotencyKey, &m.RequestHash, &m.Size, &m.Content, &m.DEKVersion, &m.Tags, &m.Metadata,
		&m.Recipients, &created, &expires)
	m.CreatedAt, m.ExpiresAt = FromMicros(created), FromMicros(expires)
	return m, mapError(err)
}

// GetMessage reads one of an organization's messages.
func GetMessage(ctx context.Context, q Querier, orgID, id string) (MessageRow, error) {
	return scanMessage(q.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE org_id = ? AND id = ?`, orgID, id).Scan)
}

// MessageByIdempotencyKey finds the message an idempotency key made.
func MessageByIdempotencyKey(ctx context.Context, q Querier, orgID, key string) (MessageRow, error) {
	// "idempotency_key <> ''" repeats the partial index's predicate so the
	// planners (SQLite's always, PostgreSQL's generic plans) use it instead
	// of scanning the organization's messages.
	return scanMessage(q.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE org_id = ? AND idempotency_key = ? AND idempotency_key <> ''`, orgID, key).Scan)
}

// MessageFilter selects messages for listing.
type MessageFilter struct {
	// State keeps messages with at least one recipient in this state.
	State string
	Since time.Time
	// SenderUserID keeps one person's messages ("see own messages").
	SenderUserID string
	// Before is a cursor: message ids sort by time, newest first.
	Before string
	Limit  int
}

// ListMessages lists an organization's messages, newest first.
func ListMessages(ctx context.Context, q Querier, orgID string, f MessageFilter) ([]MessageRow, error) {
	query := `SELECT ` + messageColumns + ` FROM messages m WHERE org_id = ?`
	args := []any{orgID}
	if !f.Since.IsZero() {
		query += ` AND created_at >= ?`
		args = append(args, Micros(f.Since))
	}
	if f.SenderUserID != "" {
		query += ` AND sender_user_id = ?`
		args = append(args, f.SenderUserID)
	}
	if f.Before != "" {
		query += ` AND id < ?`
		args = append(args, f.Before)
	}
	if f.State != "" {
		query += ` AND EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.state = ?)`
		args = append(args, f.State)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	var out []MessageRow
	for rows.Next() {
		m, err := scanMessage(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list messages: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// RecipientRow is one recipient's delivery state. Address is sealed.
type RecipientRow struct {
	ID, OrgID, MessageID string
	Ord                  int
	Kind                 string
	Address              []byte
	AddressIndex         []byte
	Domain               string
	State, Level, Rule   string
	Attempts             int
	NextAttemptAt        time.Time
	LeaseUntil           time.Time
	LastCode             int
	LastEnhanced         string
	LastReason           string
	Receipt              string // JSON security receipt
	DEKVersion           int
	UpdatedAt            time.Time
	FinishedAt           time.Time
}

const recipientColumns = `id, org_id, message_id, ord, kind, address, address_index, domain, state, level, rule, attempts,
	next_attempt_at, lease_until, last_code, last_enhanced, last_reason, receipt, dek_version, updated_at, finished_at`

// InsertRecipients writes a message's recipients in one statement.
func InsertRecipients(ctx context.Context, tx *Tx, rows []RecipientRow) error {
	return InsertRecipientsWithPolicies(ctx, tx, rows, nil)
}

// InsertRecipientsWithPolicies writes recipients with their policy
// decisions in one statement: policies[i] is rows[i]'s (nil leaves the
// columns at their defaults).
func InsertRecipientsWithPolicies(ctx context.Context, tx *Tx, rows []RecipientRow, policies []RecipientPolicy) error {
	if len(rows) == 0 {
		return nil
	}
	if policies != nil && len(policies) != len(rows) {
		return fmt.Errorf("insert recipients: %d policies for %d recipients", len(policies), len(rows))
	}
	// At most 256 rows a statement (runs): 6,400 parameters, inside both
	// drivers' limits (SQLite 32,766, PostgreSQL 65,535) however many
	// recipients a message or an engine batch has.
	for start, end := range runs(len(rows), 256) {
		var part []RecipientPolicy
		if policies != nil {
			part = policies[start:end]
		}
		if err := insertRecipients(ctx, tx, rows[start:end], part); err != nil {
			return err
		}
	}
	return nil
}

func insertRecipients(ctx context.Context, tx *Tx, rows []RecipientRow, policies []RecipientPolicy) error {
	var b strings.Builder
	b.WriteString(`INSERT INTO recipients (` + recipientColumns)
	width := 21
	if policies != nil {
		b.WriteString(`, policy_methods, policy_drop, policy_reasons, subject_flagged`)
		width += 4
	}
	b.WriteString(`) VALUES `)
	args := make([]any, 0, len(rows)*width)
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?")
		args = append(args, r.ID, r.OrgID, r.MessageID, r.Ord, r.Kind, r.Address, r.AddressIndex, r.Domain, r.State, r.Level, r.Rule,
			r.Attempts, Micros(r.NextAttemptAt), Micros(r.LeaseUntil), r.LastCode, r.LastEnhanced, r.LastReason, r.Receipt,
			r.DEKVersion, Micros(r.UpdatedAt), Micros(r.FinishedAt))
		if policies != nil {
			p := policies[i]
			if p.ID != r.ID {
				return fmt.Errorf("insert recipients: policy of %s given for %s", p.ID, r.ID)
			}
			b.WriteString(", ?, CAST(? AS BOOLEAN), ?, CAST(? AS BOOLEAN)")
			args = append(args, p.Methods, p.Drop, p.Reasons, p.SubjectFlagged)
		}
		b.WriteString(")")
	}
	if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("insert recipients: %w", err)
	}
	return nil
}

// ScanRecipient reads a row selected with RecipientColumns.
func ScanRecipient(scan func(...any) error) (RecipientRow, error) {
	var r RecipientRow
	var next, lease, updated, finished int64
	err := scan(&r.ID, &r.OrgID, &r.MessageID, &r.Ord, &r.Kind, &r.Address, &r.AddressIndex, &r.Domain, &r.State, &r.Level, &r.Rule,
		&r.Attempts, &next, &lease, &r.LastCode, &r.LastEnhanced, &r.LastReason, &r.Receipt, &r.DEKVersion, &updated, &finished)
	r.NextAttemptAt, r.LeaseUntil, r.UpdatedAt, r.FinishedAt = FromMicros(next), FromMicros(lease), FromMicros(updated), FromMicros(finished)
	return r, mapError(err)
}

// RecipientColumns is the column list ScanRecipient expects.
const RecipientColumns = recipientColumns

// RecipientsOfMessage lists a message's recipients in submission order.
func RecipientsOfMessage(ctx context.Context, q Querier, orgID, messageID string) ([]RecipientRow, error) {
	rows, err := q.Query(ctx, `SELECT `+recipientColumns+` FROM recipients WHERE org_id = ? AND message_id = ? ORDER BY ord`, orgID, messageID)
	if err != nil {
		return nil, fmt.Errorf("list recipients: %w", err)
	}
	defer rows.Close()
	var out []RecipientRow
	for rows.Next() {
		r, err := ScanRecipient(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list recipients: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Suppressed returns which of the address indexes are suppressed for the
// organization, with the reason.
func Suppressed(ctx context.Context, q Querier, orgID string, indexes [][]byte) (map[string]string, error) {
	out := map[string]string{}
	for start := 0; start < len(indexes); start += 200 {
		end := min(start+200, len(indexes))
		args, list := inList([]any{orgID}, indexes[start:end])
		query := `SELECT address_index, reason FROM suppressions WHERE org_id = ? AND address_index IN ` + list
		rows, err := q.Query(ctx, query, args...)
		if err != nil {
			return nil, fmt.Errorf("check suppressions: %w", err)
		}
		for rows.Next() {
			var ix []byte
			var reason string
			if err := rows.Scan(&ix, &reason); err != nil {
				rows.Close()
				return nil, fmt.Errorf("check suppressions: %w", err)
			}
			out[string(ix)] = reason
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Suppress records an address index as suppressed (idempotent).
func Suppress(ctx context.Context, tx *Tx, orgID string, index []byte, reason, messageID string, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO suppressions (org_id, address_index, reason, source_message_id, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (org_id, address_index) DO NOTHING`, orgID, index, reason, messageID, Micros(at))
	if err != nil {
		return fmt.Errorf("suppress address: %w", err)
	}
	return nil
}

// Unsuppress removes a suppression; it reports whether one existed.
func Unsuppress(ctx context.Context, tx *Tx, orgID string, index []byte) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM suppressions WHERE org_id = ? AND address_index = ?`, orgID, index)
	if err != nil {
		return false, fmt.Errorf("remove suppression: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
