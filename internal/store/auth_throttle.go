package store

// Persistence for package auth: sign-in throttling counters, one row per
// account key and per client-address key. The arithmetic (free attempts,
// doubling delays, the cap) lives in package auth.

import (
	"context"
	"fmt"
	"time"
)

// ThrottleRow is one row of login_throttle.
type ThrottleRow struct {
	Key            string
	Failures       int
	LastFailureAt  time.Time
	BlockedUntil   time.Time
	WindowStart    time.Time
	WindowFailures int
}

const throttleColumns = `key, failures, last_failure_at, blocked_until, window_start, window_failures`

func scanThrottle(scan func(...any) error) (ThrottleRow, error) {
	var r ThrottleRow
	var last, blocked, window int64
	if err := scan(&r.Key, &r.Failures, &last, &blocked, &window, &r.WindowFailures); err != nil {
		return ThrottleRow{}, mapError(err)
	}
	r.LastFailureAt, r.BlockedUntil, r.WindowStart = FromMicros(last), FromMicros(blocked), FromMicros(window)
	return r, nil
}

// LockThrottle returns the counters for key, creating a zero row if there
// is none, and on PostgreSQL locks the row until tx ends, so concurrent
// attempts on one account count one after another.
func LockThrottle(ctx context.Context, tx *Tx, key string) (ThrottleRow, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO login_throttle (`+throttleColumns+`) VALUES (?, 0, 0, 0, 0, 0)
		ON CONFLICT (key) DO NOTHING`, key); err != nil {
		return ThrottleRow{}, fmt.Errorf("lock throttle counter: %w", err)
	}
	query := `SELECT ` + throttleColumns + ` FROM login_throttle WHERE key = ?`
	if tx.Driver() == Postgres {
		query += ` FOR UPDATE`
	}
	r, err := scanThrottle(tx.QueryRow(ctx, query, key).Scan)
	if err != nil {
		return ThrottleRow{}, fmt.Errorf("lock throttle counter: %w", err)
	}
	return r, nil
}

// GetThrottle reads the counters for key; ErrNotFound if it has none.
func GetThrottle(ctx context.Context, q Querier, key string) (ThrottleRow, error) {
	r, err := scanThrottle(q.QueryRow(ctx, `SELECT `+throttleColumns+` FROM login_throttle WHERE key = ?`, key).Scan)
	if err != nil {
		return ThrottleRow{}, fmt.Errorf("read throttle counter: %w", err)
	}
	return r, nil
}

// SaveThrottle writes the counters of a row read with LockThrottle.
func SaveThrottle(ctx context.Context, tx *Tx, r ThrottleRow) error {
	_, err := tx.Exec(ctx, `UPDATE login_throttle SET failures = ?, last_failure_at = ?, blocked_until = ?, window_start = ?, window_failures = ?
		WHERE key = ?`, r.Failures, Micros(r.LastFailureAt), Micros(r.BlockedUntil), Micros(r.WindowStart), r.WindowFailures, r.Key)
	if err != nil {
		return fmt.Errorf("save throttle counter: %w", err)
	}
	return nil
}

// PruneThrottle deletes counters that block nothing and last failed before
// before, and returns how many.
func PruneThrottle(ctx context.Context, tx *Tx, now, before time.Time) (int, error) {
	res, err := tx.Exec(ctx, `DELETE FROM login_throttle WHERE blocked_until <= ? AND last_failure_at < ?`, Micros(now), Micros(before))
	if err != nil {
		return 0, fmt.Errorf("prune throttle counters: %w", err)
	}
	return authAffected(res, "prune throttle counters")
}
