package store

import (
	"context"
	"fmt"
	"strings"
)

// InsertMessages adds messages, several per statement (a campaign chunk's
// messages together); one row is InsertMessage.
func InsertMessages(ctx context.Context, tx *Tx, ms []MessageRow) error {
	const per = 40 // 22 parameters a row
	for start := 0; start < len(ms); start += per {
		part := ms[start:min(start+per, len(ms))]
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
