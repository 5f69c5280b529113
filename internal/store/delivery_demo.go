package store

import (
	"context"
	"fmt"
	"time"
)

// DemoMessageRow is one message captured by demo mode instead of being
// sent: one row per recipient, content sealed.
type DemoMessageRow struct {
	ID, OrgID, MessageID, RecipientID string
	Content                           []byte
	DEKVersion                        int
	ReceivedAt                        time.Time
	// SenderUserID is the submitting user of the message (read only, from
	// messages), for "see own messages".
	SenderUserID string
}

// DemoMessagesTable is the sealed-table descriptor for key rotation.
func DemoMessagesTable() SealedTable {
	return SealedTable{Table: "demo_messages", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version", Columns: []string{"content"}}
}

// InsertDemoMessage stores a capture.
func InsertDemoMessage(ctx context.Context, tx *Tx, r DemoMessageRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO demo_messages (id, org_id, message_id, recipient_id, content, dek_version, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, r.ID, r.OrgID, r.MessageID, r.RecipientID, r.Content, r.DEKVersion, Micros(r.ReceivedAt))
	if err != nil {
		return fmt.Errorf("insert demo capture: %w", err)
	}
	return nil
}

const demoColumns = `d.id, d.org_id, d.message_id, d.recipient_id, d.content, d.dek_version, d.received_at,
	COALESCE(m.sender_user_id, '')`

func scanDemo(scan func(...any) error) (DemoMessageRow, error) {
	var r DemoMessageRow
	var at int64
	err := scan(&r.ID, &r.OrgID, &r.MessageID, &r.RecipientID, &r.Content, &r.DEKVersion, &at, &r.SenderUserID)
	r.ReceivedAt = FromMicros(at)
	return r, mapError(err)
}

// ListDemoMessages lists an organization's captures, newest first.
func ListDemoMessages(ctx context.Context, q Querier, orgID string, limit int) ([]DemoMessageRow, error) {
	rows, err := q.Query(ctx, `SELECT `+demoColumns+` FROM demo_messages d LEFT JOIN messages m ON m.id = d.message_id
		WHERE d.org_id = ? ORDER BY d.received_at DESC, d.id DESC LIMIT ?`, orgID, limit)
	if err != nil {
		return nil, fmt.Errorf("list demo captures: %w", err)
	}
	defer rows.Close()
	var out []DemoMessageRow
	for rows.Next() {
		r, err := scanDemo(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list demo captures: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetDemoMessage reads one of an organization's captures.
func GetDemoMessage(ctx context.Context, q Querier, orgID, id string) (DemoMessageRow, error) {
	return scanDemo(q.QueryRow(ctx, `SELECT `+demoColumns+` FROM demo_messages d LEFT JOIN messages m ON m.id = d.message_id
		WHERE d.org_id = ? AND d.id = ?`, orgID, id).Scan)
}
