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

// QueuedSkew is how far ahead of a node's clock a queued recipient may be
// stamped and still be due: another node with a clock that much ahead may
// have submitted it. Without it a job on a node whose clock lags would
// neither claim a just-submitted recipient nor see it as due, and nothing
// would wake its domain again. Retries (deferred) and leases (sending) keep
// their exact times. Nodes' clocks must agree within it (NTP).
const QueuedSkew = time.Minute

// due is the condition of a recipient a claim at ?1 (now + QueuedSkew) and
// ?2 (now) takes.
const due = `state IN ` + activeStates + ` AND next_attempt_at <= ? AND (state = 'queued' OR next_attempt_at <= ?)`

// ClaimRecipients takes up to limit recipients of domain that are due at now
// — queued (see QueuedSkew), deferred with next_attempt_at reached, or
// sending with an expired lease — and marks them sending with lease_until and
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
		WHERE id IN (SELECT id FROM recipients WHERE domain = ? AND ` + due + `
			ORDER BY next_attempt_at LIMIT ?` + lock + `)
		RETURNING ` + recipientColumns
	rows, err := tx.Query(ctx, q, Micros(lease), Micros(lease), Micros(now), domain, Micros(now.Add(QueuedSkew)), Micros(now), limit)
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

// RecordOutcomes writes outcomes of claimed recipients, up to 128 rows per
// statement (UPDATE … FROM VALUES on both drivers). A row whose lease was
// lost (it expired and another claim took the row) is left alone, and
// applied reports false for it: the other claim owns the row now.
func RecordOutcomes(ctx context.Context, tx *Tx, outs []RecipientOutcome) (applied []bool, err error) {
	applied = make([]bool, len(outs))
	index := make(map[string]int, len(outs))
	for i, o := range outs {
		index[o.ID] = i
	}
	for start, end := range runs(len(outs), 128) {
		part := outs[start:end]
		var b strings.Builder
		b.WriteString(`UPDATE recipients AS r SET state = v.column2, attempts = v.column3, next_attempt_at = v.column4,
			lease_until = 0, last_code = v.column5, last_enhanced = v.column6, last_reason = v.column7, receipt = v.column8,
			updated_at = v.column9, finished_at = v.column10 FROM (VALUES `)
		args := make([]any, 0, len(part)*11)
		for i, o := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			// Casts give PostgreSQL the types of VALUES' parameters.
			b.WriteString(`(?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), ?, ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT))`)
			args = append(args, o.ID, o.State, o.Attempts, Micros(o.NextAttemptAt), o.LastCode, o.LastEnhanced, o.LastReason,
				o.Receipt, Micros(o.UpdatedAt), Micros(o.FinishedAt), Micros(o.Lease))
		}
		b.WriteString(`) AS v WHERE r.id = v.column1 AND r.state = 'sending' AND r.lease_until = v.column11 RETURNING id`)
		rows, err := tx.Query(ctx, b.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("record delivery outcomes: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("record delivery outcomes: %w", err)
			}
			applied[index[id]] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("record delivery outcomes: %w", err)
		}
	}
	return applied, nil
}

// DeliveryDue reports whether domain has recipients a claim at now would
// take.
func DeliveryDue(ctx context.Context, q Querier, domain string, now time.Time) (bool, error) {
	var one int
	err := Scan(q.QueryRow(ctx, `SELECT 1 FROM recipients WHERE domain = ? AND `+due+` LIMIT 1`,
		domain, Micros(now.Add(QueuedSkew)), Micros(now)), &one)
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
		args, list := inList(nil, part)
		rows, err := q.Query(ctx, `SELECT `+messageColumns+` FROM messages WHERE id IN `+list, args...)
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

// openStates are the states of a recipient whose delivery has not ended,
// written as the condition of the recipients_open index (migration 0022):
// a query that names it exactly can be answered from that index.
const openStates = `state IN ('queued', 'sending', 'deferred', 'held')`

// queueDepthSQL counts open recipients by state, from recipients_open.
const queueDepthSQL = `SELECT state, COUNT(*) FROM recipients WHERE ` + openStates + ` GROUP BY state`

// QueueDepth counts recipients per state that is not final: queued,
// sending, deferred and held.
func QueueDepth(ctx context.Context, q Querier) (map[string]int64, error) {
	rows, err := q.Query(ctx, queueDepthSQL)
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
