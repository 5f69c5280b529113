package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// delivery_slots: package delivery's scheduling state per destination
// domain (see migration 0007). Row 0 of a domain is its head: armed_at
// (a job is on its way) and the rate window live there, and every
// scheduling decision about the domain starts by locking it, which on
// PostgreSQL orders submissions, job starts and batch ends of one domain
// (SQLite has one writer, so they are ordered anyway). Only a job's start,
// in a transaction of its own that holds nothing else yet, waits for the
// lock; the others only try it (see ArmDelivery). Rows 0 to n-1 also
// record which parallel slots a batch holds (busy_until).

// ArmDelivery marks the domain armed at at and reports whether the caller
// must insert a job in the same transaction: when this call armed it, or
// when it could not tell. An armed domain already has a job on its way
// that has not started, so nothing more is needed. force re-arms an armed
// domain (the sweep's repair of a lost job).
//
// The head row stays locked until the transaction ends, so a job starting
// on the domain waits for this transaction and then sees its recipients.
// On PostgreSQL the lock is only tried (see tryLockHead): arming runs in
// shared transactions (group commit) that hold other locks, and waiting
// there could close a deadlock cycle. When the lock is not free, the
// caller inserts a job anyway; a spare job finds little to do.
func ArmDelivery(ctx context.Context, tx *Tx, domain string, at time.Time, force bool) (bool, error) {
	if tx.Driver() == Postgres {
		armedAt, ok, err := tryLockHead(ctx, tx, domain)
		if err != nil || !ok {
			return true, err
		}
		if !armedAt.IsZero() && !force {
			return false, nil
		}
		if _, err := tx.Exec(ctx, `UPDATE delivery_slots SET armed_at = ? WHERE domain = ? AND slot = 0`, Micros(at), domain); err != nil {
			return false, fmt.Errorf("arm delivery: %w", err)
		}
		return true, nil
	}
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

// headLockWait is how long a shared transaction waits for a domain's head
// row on PostgreSQL before it gives up (well below deadlock_timeout, so a
// cycle is broken by the wait ending rather than by aborting a
// transaction).
const headLockWait = "20ms"

// tryLockHead locks the domain's head row on PostgreSQL if it is free
// within headLockWait, creating it if needed, and returns its armed_at; ok
// is false when another transaction holds it. A savepoint keeps the
// refusal from aborting the caller's transaction.
func tryLockHead(ctx context.Context, tx *Tx, domain string) (armedAt time.Time, ok bool, err error) {
	if _, err := tx.Exec(ctx, `SAVEPOINT delivery_head`); err != nil {
		return time.Time{}, false, fmt.Errorf("lock delivery head: %w", err)
	}
	var at int64
	err = func() error {
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '`+headLockWait+`'`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO delivery_slots (domain, slot) VALUES (?, 0) ON CONFLICT DO NOTHING`, domain); err != nil {
			return err
		}
		if err := Scan(tx.QueryRow(ctx, `SELECT armed_at FROM delivery_slots WHERE domain = ? AND slot = 0 FOR UPDATE`, domain), &at); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SET LOCAL lock_timeout = DEFAULT`)
		return err
	}()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
		if _, rbErr := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT delivery_head`); rbErr != nil {
			return time.Time{}, false, fmt.Errorf("lock delivery head: %w", rbErr)
		}
		_, err = tx.Exec(ctx, `RELEASE SAVEPOINT delivery_head`)
		return time.Time{}, false, err
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("lock delivery head: %w", err)
	}
	if _, err := tx.Exec(ctx, `RELEASE SAVEPOINT delivery_head`); err != nil {
		return time.Time{}, false, fmt.Errorf("lock delivery head: %w", err)
	}
	return FromMicros(at), true, nil
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
// On PostgreSQL the lock is only tried (see ArmDelivery): ok is false when
// another transaction holds it, and the caller then inserts a job instead
// of checking.
func LockDelivery(ctx context.Context, tx *Tx, domain string) (ok bool, err error) {
	if tx.Driver() == Postgres {
		_, ok, err := tryLockHead(ctx, tx, domain)
		return ok, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO delivery_slots (domain, slot) VALUES (?, 0)
		ON CONFLICT (domain, slot) DO UPDATE SET armed_at = delivery_slots.armed_at`, domain)
	if err != nil {
		return false, fmt.Errorf("lock delivery: %w", err)
	}
	return true, nil
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
