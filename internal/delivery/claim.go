package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// claim is one batch's hold on its recipients and its slot.
type claim struct {
	domain string
	slot   int // the parallel slot the batch holds
	// lease is when the hold ends, and the fencing token of every write
	// the batch makes (store.ClaimRecipients).
	lease time.Time
	rows  []store.RecipientRow
	// started is the real time the batch began, for its time budget.
	started time.Time
}

// claim takes a free slot of the domain and up to a batch of its due
// recipients in one short transaction. It returns a claim without rows when
// there is nothing to do here: nothing due, every slot held by a batch (the
// holders look for more work when they end), or the domain's rate limit
// reached (a job is scheduled for the next window).
func (s *Service) claim(ctx context.Context, domain string) (*claim, error) {
	c := &claim{domain: domain, started: time.Now()}
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		c.rows = nil
		now := s.clock()
		head, err := store.StartDelivery(ctx, tx, domain, s.opts.Slots)
		if err != nil {
			return err
		}
		c.slot = -1
		for i, busy := range head.Busy {
			if !busy.After(now) {
				c.slot = i
				break
			}
		}
		if c.slot < 0 {
			return nil
		}
		limit := s.opts.Batch
		window, used := head.WindowStart, head.WindowCount
		if s.opts.RatePerMinute > 0 {
			if now.Sub(window) >= time.Minute || now.Before(window) {
				window, used = now, 0
			}
			room := s.opts.RatePerMinute - used
			if room <= 0 {
				// Arm the domain with a job for the next window: until it
				// starts, submissions find the domain armed and add no
				// jobs of their own.
				if _, err := store.ArmDelivery(ctx, tx, domain, now, true); err != nil {
					return err
				}
				return s.wakeAt(ctx, tx, domain, window.Add(time.Minute).Sub(now))
			}
			limit = min(limit, room)
		}
		c.lease = now.Add(s.opts.Lease)
		c.rows, err = store.ClaimRecipients(ctx, tx, domain, now, c.lease, limit)
		if err != nil || len(c.rows) == 0 {
			return err
		}
		if err := store.HoldDeliverySlot(ctx, tx, domain, c.slot, c.lease); err != nil {
			return err
		}
		if s.opts.RatePerMinute > 0 {
			if err := store.SetDeliveryWindow(ctx, tx, domain, window, used+len(c.rows)); err != nil {
				return err
			}
		}
		// A full batch suggests more is due: another job starts on it, in
		// a free slot, while this one delivers.
		if len(c.rows) == s.opts.Batch {
			return s.wake(ctx, tx, domain, false)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", domain, err)
	}
	return c, nil
}

// budgetLeft reports whether the batch may start another transaction: it
// stops at four fifths of its lease, so its outcomes are written before
// the rows could be claimed again by another node.
func (c *claim) budgetLeft(lease time.Duration) bool {
	return time.Since(c.started) < lease*4/5
}
