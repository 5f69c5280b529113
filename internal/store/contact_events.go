package store

import (
	"context"
	"fmt"
	"time"
)

// ContactEventRow is one custom event of a contact. Properties is
// ciphertext under the contact's key (nil when the event has none).
type ContactEventRow struct {
	OrgID, ID, ContactID string
	Name                 string
	At                   time.Time
	Properties           []byte
	CreatedAt            time.Time
}

// InsertContactEvents adds events.
func InsertContactEvents(ctx context.Context, tx *Tx, rows []ContactEventRow) error {
	for start, end := range runs(len(rows), contactBatch) {
		part := rows[start:end]
		args := make([]any, 0, len(part)*7)
		for _, r := range part {
			var props any
			if r.Properties != nil {
				props = r.Properties
			}
			args = append(args, r.OrgID, r.ID, r.ContactID, r.Name, Micros(r.At), props, Micros(r.CreatedAt))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO contact_events (org_id, id, contact_id, name, at, properties, created_at) VALUES `+
			rowPlaceholders(len(part), 7), args...); err != nil {
			return fmt.Errorf("insert contact events: %w", err)
		}
	}
	return nil
}

// ContactEventQuery selects one contact's events, newest first: by name
// when Name is set, at or after Since, before Before (a cursor: the At of
// the last event seen), at most Limit.
type ContactEventQuery struct {
	OrgID, ContactID string
	Name             string
	Since, Before    time.Time
	Limit            int
}

// ListContactEvents runs q.
func ListContactEvents(ctx context.Context, db Querier, q ContactEventQuery) ([]ContactEventRow, error) {
	query := `SELECT org_id, id, contact_id, name, at, properties, created_at FROM contact_events WHERE org_id = ? AND contact_id = ?`
	args := []any{q.OrgID, q.ContactID}
	if q.Name != "" {
		query += ` AND name = ?`
		args = append(args, q.Name)
	}
	if !q.Since.IsZero() {
		query += ` AND at >= ?`
		args = append(args, Micros(q.Since))
	}
	if !q.Before.IsZero() {
		query += ` AND at < ?`
		args = append(args, Micros(q.Before))
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	rows, err := db.Query(ctx, query+` ORDER BY at DESC, id DESC LIMIT ?`, append(args, q.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list contact events: %w", err)
	}
	defer rows.Close()
	var out []ContactEventRow
	for rows.Next() {
		var r ContactEventRow
		var at, created int64
		if err := rows.Scan(&r.OrgID, &r.ID, &r.ContactID, &r.Name, &at, &r.Properties, &created); err != nil {
			return nil, fmt.Errorf("list contact events: %w", mapError(err))
		}
		r.At, r.CreatedAt = FromMicros(at), FromMicros(created)
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// CountContactEvents counts, per contact, the organization's events named
// name in [since, until) (zero times leave that end open): the aggregate a
// segment such as "missed two appointments this year" evaluates over.
func CountContactEvents(ctx context.Context, db Querier, orgID, name string, since, until time.Time) (map[string]int, error) {
	query := `SELECT contact_id, count(*) FROM contact_events WHERE org_id = ? AND name = ?`
	args := []any{orgID, name}
	if !since.IsZero() {
		query += ` AND at >= ?`
		args = append(args, Micros(since))
	}
	if !until.IsZero() {
		query += ` AND at < ?`
		args = append(args, Micros(until))
	}
	rows, err := db.Query(ctx, query+` GROUP BY contact_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("count contact events: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count contact events: %w", mapError(err))
		}
		out[id] = n
	}
	return out, mapError(rows.Err())
}
