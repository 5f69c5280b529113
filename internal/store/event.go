package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// EventRow is one delivery or engagement event.
type EventRow struct {
	ID, OrgID, Type, MessageID, RecipientID string
	At                                      time.Time
	Data                                    string // JSON object, no PHI
}

// InsertEvents writes events in one statement.
func InsertEvents(ctx context.Context, tx *Tx, rows []EventRow) error {
	if len(rows) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO events (id, org_id, type, message_id, recipient_id, at, data) VALUES `)
	args := make([]any, 0, len(rows)*7)
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
		args = append(args, r.ID, r.OrgID, r.Type, r.MessageID, r.RecipientID, Micros(r.At), r.Data)
	}
	if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	return nil
}

// EventsAfter lists an organization's events with ids greater than after
// (ids are time-ordered), oldest first, optionally for one message.
func EventsAfter(ctx context.Context, q Querier, orgID, after, messageID string, limit int) ([]EventRow, error) {
	query := `SELECT id, org_id, type, message_id, recipient_id, at, data FROM events WHERE org_id = ? AND id > ?`
	args := []any{orgID, after}
	if messageID != "" {
		query += ` AND message_id = ?`
		args = append(args, messageID)
	}
	query += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []EventRow
	for rows.Next() {
		var r EventRow
		var at int64
		if err := rows.Scan(&r.ID, &r.OrgID, &r.Type, &r.MessageID, &r.RecipientID, &at, &r.Data); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		r.At = FromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
