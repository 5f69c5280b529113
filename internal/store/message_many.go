package store

import (
	"context"
	"fmt"
	"strings"
)

// InsertMessages adds messages, several per statement (a campaign chunk's
// messages together); one row is InsertMessage.
func InsertMessages(ctx context.Context, tx *Tx, ms []MessageRow) error {
	for start, end := range runs(len(ms), 32) { // 22 parameters a row
		part := ms[start:end]
		var b strings.Builder
		b.WriteString(`INSERT INTO messages (` + messageColumns + `) VALUES `)
		args := make([]any, 0, len(part)*22)
		for i, m := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, m.ID, m.OrgID, m.Source, m.SubmitterType, m.SubmitterID, m.SenderUserID, m.MailFrom, m.FromDomain, m.Security,
				m.PHI, m.RequireTLS, m.DSN, m.IdempotencyKey, m.RequestHash, m.Size, m.Content, m.DEKVersion, m.Tags, m.Metadata,
				m.Recipients, Micros(m.CreatedAt), Micros(m.ExpiresAt))
		}
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert messages: %w", err)
		}
	}
	return nil
}

// IdempotentMessage is what a retried submission needs of the message
// that already holds its key.
type IdempotentMessage struct {
	ID          string
	RequestHash []byte
}

// MessagesByIdempotencyKeys looks up the organization's messages holding
// any of keys, keyed by key; keys without a message are absent.
func MessagesByIdempotencyKeys(ctx context.Context, q Querier, orgID string, keys []string) (map[string]IdempotentMessage, error) {
	out := make(map[string]IdempotentMessage, len(keys))
	for start := 0; start < len(keys); start += contactBatch {
		part := keys[start:min(start+contactBatch, len(keys))]
		args, list := inList([]any{orgID}, part)
		// The repeated predicate keeps the partial index in use (see
		// MessageByIdempotencyKey).
		rows, err := q.Query(ctx, `SELECT idempotency_key, id, request_hash FROM messages WHERE org_id = ? AND idempotency_key <> ''
			AND idempotency_key IN `+list, args...)
		if err != nil {
			return nil, fmt.Errorf("messages by idempotency key: %w", err)
		}
		for rows.Next() {
			var k string
			var m IdempotentMessage
			if err := rows.Scan(&k, &m.ID, &m.RequestHash); err != nil {
				rows.Close()
				return nil, mapError(err)
			}
			out[k] = m
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, mapError(err)
		}
	}
	return out, nil
}
