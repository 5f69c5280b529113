package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Persistence for package delivery: the per-recipient claim, the outcome of
// each attempt, and the sweep's queries. Slots (the per-domain scheduling
// rows) are in delivery_slots.go.

// Active recipient states: the ones a delivery job may claim.
const activeStates = `('queued', 'deferred', 'sending')`

// ClaimRecipients takes up to limit recipients of domain that are due at now
// — queued or deferred with next_attempt_at reached, or sending with an
// expired lease — and marks them sending with lease_until and
// next_attempt_at set to lease: a node that dies mid-batch leaves rows that
// come due again when the lease ends. lease is also the claim's fencing
// token: RecordOutcomes only updates rows still holding it.
//
// On PostgreSQL the inner SELECT locks with FOR UPDATE SKIP LOCKED, so two
// nodes claiming the same domain at once take disjoint rows instead of
// queueing on each other's locks; a row another claim committed meanwhile is
// re-checked under its lock and no longer matches. SQLite has one writer, so
// claims are serial there.
func ClaimRecipients(ctx context.Context, tx *Tx, domain string, now, lease time.Time, limit int) ([]RecipientRow, error) {
	lock := ""
	if tx.Driver() == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	q := `UPDATE recipients SET state = 'sending', lease_until = ?, next_attempt_at = ?, updated_at = ?
		WHERE id IN (SELECT id FROM recipients WHERE domain = ? AND state IN ` + activeStates + ` AND next_attempt_at <= ?
			ORDER BY next_attempt_at LIMIT ?` + lock + `)
		RETURNING ` + recipientColumns
	rows, err := tx.Query(ctx, q, Micros(lease), Micros(lease), Micros(now), domain, Micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claim recipients: %w", err)
	}
	defer rows.Close()
	var out []RecipientRow
	for rows.Next() {
		r, err := ScanRecipient(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("claim recipients: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RecipientOutcome is what one attempt (or a decision not to attempt) did to
// a claimed recipient.
type RecipientOutcome struct {
	ID string
	// Lease is the claim's fencing token (ClaimRecipients' lease).
	Lease         time.Time
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastCode      int
	LastEnhanced  string
	LastReason    string
	Receipt       string
	UpdatedAt     time.Time
	FinishedAt    time.Time
}

// RecordOutcomes writes outcomes of claimed recipients. A row whose lease
// was lost (it expired and another claim took the row) is left alone, and
// applied reports false for it: the other claim owns the row now.
func RecordOutcomes(ctx context.Context, tx *Tx, outs []RecipientOutcome) (applied []bool, err error) {
	applied = make([]bool, len(outs))
	for i, o := range outs {
		res, err := tx.Exec(ctx, `UPDATE recipients SET state = ?, attempts = ?, next_attempt_at = ?, lease_until = 0,
			last_code = ?, last_enhanced = ?, last_reason = ?, receipt = ?, updated_at = ?, finished_at = ?
			WHERE id = ? AND state = 'sending' AND lease_until = ?`,
			o.State, o.Attempts, Micros(o.NextAttemptAt), o.LastCode, o.LastEnhanced, o.LastReason, o.Receipt,
			Micros(o.UpdatedAt), Micros(o.FinishedAt), o.ID, Micros(o.Lease))
		if err != nil {
			return nil, fmt.Errorf("record delivery outcome: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("record delivery outcome: %w", err)
		}
		applied[i] = n == 1
	}
	return applied, nil
}

// DeliveryDue reports whether domain has recipients a claim at now would
// take.
func DeliveryDue(ctx context.Context, q Querier, domain string, now time.Time) (bool, error) {
	var one int
	err := Scan(q.QueryRow(ctx, `SELECT 1 FROM recipients WHERE domain = ? AND state IN `+activeStates+`
		AND next_attempt_at <= ? LIMIT 1`, domain, Micros(now)), &one)
	if err == ErrNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check due recipients: %w", err)
	}
	return true, nil
}

// DueRetryDomains lists up to limit domains with deferred recipients whose
// retry time has come or sending recipients whose lease expired: the work
// no submission wakes.
func DueRetryDomains(ctx context.Context, q Querier, now time.Time, limit int) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT domain FROM recipients
		WHERE state IN ('deferred', 'sending') AND next_attempt_at <= ? LIMIT ?`, Micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("list due domains: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("list due domains: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// MessagesByID reads messages by id (any organization: delivery works
// across them and checks each recipient's organization against its
// message).
func MessagesByID(ctx context.Context, q Querier, ids []string) (map[string]MessageRow, error) {
	out := make(map[string]MessageRow, len(ids))
	for start := 0; start < len(ids); start += 200 {
		part := ids[start:min(start+200, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := q.Query(ctx, `SELECT `+messageColumns+` FROM messages WHERE id IN (?`+strings.Repeat(", ?", len(part)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("read messages: %w", err)
		}
		for rows.Next() {
			m, err := scanMessage(rows.Scan)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("read messages: %w", err)
			}
			out[m.ID] = m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// QueueDepth counts recipients per state that is not final: queued,
// sending, deferred and held.
func QueueDepth(ctx context.Context, q Querier) (map[string]int64, error) {
	rows, err := q.Query(ctx, `SELECT state, COUNT(*) FROM recipients
		WHERE state IN ('queued', 'sending', 'deferred', 'held') GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{"queued": 0, "sending": 0, "deferred": 0, "held": 0}
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("queue depth: %w", err)
		}
		out[state] = n
	}
	return out, rows.Err()
}
