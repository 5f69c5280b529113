package store

import (
	"context"
	"fmt"
	"time"
)

// delivery_slots: package delivery's scheduling state per destination
// domain (see migration 0007). Row 0 of a domain is its head: armed_at
// (a job is on its way) and the rate window live there, and every
// scheduling decision about the domain starts by locking it, which on
// PostgreSQL orders submissions, job starts and batch ends of one domain
// (SQLite has one writer, so they are ordered anyway). Rows 0 to n-1 also
// record which parallel slots a batch holds (busy_until).

// ArmDelivery marks the domain armed at at and reports whether this call
// armed it, in which case the caller inserts the job in the same
// transaction; an armed domain already has a job on its way that has not
// started. force re-arms an armed domain (the sweep's repair of a lost
// job).
//
// On PostgreSQL, ON CONFLICT DO UPDATE locks the existing row even when its
// WHERE is false, so a job starting on the domain waits for this
// transaction and then sees its recipients.
func ArmDelivery(ctx context.Context, tx *Tx, domain string, at time.Time, force bool) (bool, error) {
	cond := ` WHERE delivery_slots.armed_at = 0`
	if force {
		cond = ""
	}
	res, err := tx.Exec(ctx, `INSERT INTO delivery_slots (domain, slot, armed_at) VALUES (?, 0, ?)
		ON CONFLICT (domain, slot) DO UPDATE SET armed_at = excluded.armed_at`+cond, domain, Micros(at))
	if err != nil {
		return false, fmt.Errorf("arm delivery: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("arm delivery: %w", err)
	}
	return n > 0, nil
}

// DeliveryHead is a domain's row 0 as a job starting on it sees it.
type DeliveryHead struct {
	// WindowStart and WindowCount are the rate window: when the current
	// minute began and how many recipients were claimed in it.
	WindowStart time.Time
	WindowCount int
	// Busy lists until when each slot below n is held (zero: free).
	Busy []time.Time
}

// StartDelivery locks and disarms the domain for a job about to claim, and
// reads its rate window and the holds of its first n slots.
func StartDelivery(ctx context.Context, tx *Tx, domain string, n int) (DeliveryHead, error) {
	var h DeliveryHead
	var start int64
	err := Scan(tx.QueryRow(ctx, `INSERT INTO delivery_slots (domain, slot, armed_at) VALUES (?, 0, 0)
		ON CONFLICT (domain, slot) DO UPDATE SET armed_at = 0 RETURNING window_start, window_count`, domain), &start, &h.WindowCount)
	if err != nil {
		return h, fmt.Errorf("start delivery: %w", err)
	}
	h.WindowStart = FromMicros(start)
	h.Busy = make([]time.Time, n)
	rows, err := tx.Query(ctx, `SELECT slot, busy_until FROM delivery_slots WHERE domain = ? AND slot < ?`, domain, n)
	if err != nil {
		return h, fmt.Errorf("start delivery: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var slot int
		var busy int64
		if err := rows.Scan(&slot, &busy); err != nil {
			return h, fmt.Errorf("start delivery: %w", err)
		}
		h.Busy[slot] = FromMicros(busy)
	}
	return h, rows.Err()
}

// LockDelivery locks the domain's head row for a batch that is ending, so
// its check for more work is ordered against submissions and job starts.
func LockDelivery(ctx context.Context, tx *Tx, domain string) error {
	_, err := tx.Exec(ctx, `INSERT INTO delivery_slots (domain, slot) VALUES (?, 0)
		ON CONFLICT (domain, slot) DO UPDATE SET armed_at = delivery_slots.armed_at`, domain)
	if err != nil {
		return fmt.Errorf("lock delivery: %w", err)
	}
	return nil
}

// HoldDeliverySlot records that a batch holds (domain, slot) until until
// (its claim's lease).
func HoldDeliverySlot(ctx context.Context, tx *Tx, domain string, slot int, until time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO delivery_slots (domain, slot, busy_until) VALUES (?, ?, ?)
		ON CONFLICT (domain, slot) DO UPDATE SET busy_until = excluded.busy_until`, domain, slot, Micros(until))
	if err != nil {
		return fmt.Errorf("hold delivery slot: %w", err)
	}
	return nil
}

// ReleaseDeliverySlot frees (domain, slot) if the batch with lease still
// holds it.
func ReleaseDeliverySlot(ctx context.Context, tx *Tx, domain string, slot int, lease time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE delivery_slots SET busy_until = 0 WHERE domain = ? AND slot = ? AND busy_until = ?`,
		domain, slot, Micros(lease))
	if err != nil {
		return fmt.Errorf("release delivery slot: %w", err)
	}
	return nil
}

// SetDeliveryWindow stores the domain's rate window.
func SetDeliveryWindow(ctx context.Context, tx *Tx, domain string, start time.Time, count int) error {
	_, err := tx.Exec(ctx, `UPDATE delivery_slots SET window_start = ?, window_count = ? WHERE domain = ? AND slot = 0`,
		Micros(start), count, domain)
	if err != nil {
		return fmt.Errorf("store delivery rate window: %w", err)
	}
	return nil
}

// StaleDeliveries lists domains armed before before: their job should have
// started long ago, so it was lost (its node died as it started, or the job
// engine discarded it) and the sweep arms them again.
func StaleDeliveries(ctx context.Context, q Querier, before time.Time, limit int) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT domain FROM delivery_slots WHERE armed_at > 0 AND armed_at <= ? LIMIT ?`,
		Micros(before), limit)
	if err != nil {
		return nil, fmt.Errorf("list stale deliveries: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("list stale deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
