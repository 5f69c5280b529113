package store

import (
	"context"
	"fmt"
	"time"
)

// delivery_slots: package delivery's scheduling state per destination
// domain and parallel slot (see migration 0007). Every function here runs in
// the caller's transaction; on PostgreSQL each one locks the slot's row, and
// that lock is what orders a submission's arming against a job's start.

// ArmDeliverySlot marks (domain, slot) armed at at and reports whether this
// call armed it, in which case the caller inserts the job in the same
// transaction. An armed slot already has a job on its way that has not yet
// claimed, so nothing more is needed. force re-arms even an armed slot
// (the sweep's repair of a slot whose job vanished).
//
// On PostgreSQL, ON CONFLICT DO UPDATE locks the existing row even when its
// WHERE is false, so a job starting on the slot waits for this transaction
// and then sees its recipients.
func ArmDeliverySlot(ctx context.Context, tx *Tx, domain string, slot int, at time.Time, force bool) (bool, error) {
	cond := ` WHERE delivery_slots.armed_at = 0`
	if force {
		cond = ""
	}
	res, err := tx.Exec(ctx, `INSERT INTO delivery_slots (domain, slot, armed_at) VALUES (?, ?, ?)
		ON CONFLICT (domain, slot) DO UPDATE SET armed_at = excluded.armed_at`+cond, domain, slot, Micros(at))
	if err != nil {
		return false, fmt.Errorf("arm delivery slot: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("arm delivery slot: %w", err)
	}
	return n > 0, nil
}

// StartDeliverySlot disarms (domain, slot) for a job that is about to claim
// and returns until when a batch on the slot holds it (zero: idle).
func StartDeliverySlot(ctx context.Context, tx *Tx, domain string, slot int) (busyUntil time.Time, err error) {
	var busy int64
	err = Scan(tx.QueryRow(ctx, `INSERT INTO delivery_slots (domain, slot, armed_at) VALUES (?, ?, 0)
		ON CONFLICT (domain, slot) DO UPDATE SET armed_at = 0 RETURNING busy_until`, domain, slot), &busy)
	if err != nil {
		return time.Time{}, fmt.Errorf("start delivery slot: %w", err)
	}
	return FromMicros(busy), nil
}

// HoldDeliverySlot records that a batch holds (domain, slot) until until
// (its claim's lease).
func HoldDeliverySlot(ctx context.Context, tx *Tx, domain string, slot int, until time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE delivery_slots SET busy_until = ? WHERE domain = ? AND slot = ?`, Micros(until), domain, slot)
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

// DeliveryWindow returns the domain's rate window (kept on slot 0): when the
// current minute started and how many recipients were claimed in it. On
// PostgreSQL it locks the row until the transaction ends.
func DeliveryWindow(ctx context.Context, tx *Tx, domain string) (start time.Time, count int, err error) {
	var s int64
	err = Scan(tx.QueryRow(ctx, `INSERT INTO delivery_slots (domain, slot) VALUES (?, 0)
		ON CONFLICT (domain, slot) DO UPDATE SET window_start = delivery_slots.window_start
		RETURNING window_start, window_count`, domain), &s, &count)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("read delivery rate window: %w", err)
	}
	return FromMicros(s), count, nil
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

// DeliverySlot names one slot.
type DeliverySlot struct {
	Domain string
	Slot   int
}

// StaleDeliverySlots lists slots armed before before: their job should have
// started long ago, so it was lost (discarded by the job engine after its
// attempts, or cancelled by an operator) and the sweep arms them again.
func StaleDeliverySlots(ctx context.Context, q Querier, before time.Time, limit int) ([]DeliverySlot, error) {
	rows, err := q.Query(ctx, `SELECT domain, slot FROM delivery_slots WHERE armed_at > 0 AND armed_at <= ? LIMIT ?`,
		Micros(before), limit)
	if err != nil {
		return nil, fmt.Errorf("list stale delivery slots: %w", err)
	}
	defer rows.Close()
	var out []DeliverySlot
	for rows.Next() {
		var s DeliverySlot
		if err := rows.Scan(&s.Domain, &s.Slot); err != nil {
			return nil, fmt.Errorf("list stale delivery slots: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
