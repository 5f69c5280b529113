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
	slot   int
	// lease is when the hold ends, and the fencing token of every write
	// the batch makes (store.ClaimRecipients).
	lease time.Time
	rows  []store.RecipientRow
	// started is the real time the batch began, for its time budget.
	started time.Time
}

// claim takes the slot and up to a batch of due recipients in one short
// transaction. It returns a claim without rows when there is nothing to do
// here: nothing due, the slot held by another batch (the wake-up passes to
// the next slot; the holder re-checks when it finishes), or the domain's
// rate limit reached (a job is scheduled for the next window).
func (s *Service) claim(ctx context.Context, domain string, slot int) (*claim, error) {
	c := &claim{domain: domain, slot: slot, started: time.Now()}
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		c.rows = nil
		now := s.clock()
		busy, err := store.StartDeliverySlot(ctx, tx, domain, slot)
		if err != nil {
			return err
		}
		if busy.After(now) {
			if slot+1 < s.opts.Slots {
				return s.wake(ctx, tx, domain, slot+1, false)
			}
			return nil
		}
		limit := s.opts.Batch
		var window time.Time
		var used int
		if s.opts.RatePerMinute > 0 {
			if window, used, err = store.DeliveryWindow(ctx, tx, domain); err != nil {
				return err
			}
			if now.Sub(window) >= time.Minute || now.Before(window) {
				window, used = now, 0
			}
			room := s.opts.RatePerMinute - used
			if room <= 0 {
				return s.wakeAt(ctx, tx, domain, slot, window.Add(time.Minute).Sub(now))
			}
			limit = min(limit, room)
		}
		c.lease = now.Add(s.opts.Lease)
		c.rows, err = store.ClaimRecipients(ctx, tx, domain, now, c.lease, limit)
		if err != nil || len(c.rows) == 0 {
			return err
		}
		if err := store.HoldDeliverySlot(ctx, tx, domain, slot, c.lease); err != nil {
			return err
		}
		if s.opts.RatePerMinute > 0 {
			if err := store.SetDeliveryWindow(ctx, tx, domain, window, used+len(c.rows)); err != nil {
				return err
			}
		}
		// A full batch suggests more is due: let the next slot start on it
		// while this one delivers.
		if len(c.rows) == s.opts.Batch && slot+1 < s.opts.Slots {
			return s.wake(ctx, tx, domain, slot+1, false)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim %s slot %d: %w", domain, slot, err)
	}
	return c, nil
}

// budgetLeft reports whether the batch may start another transaction: it
// stops at four fifths of its lease, so its outcomes are written before
// the rows could be claimed again by another node.
func (c *claim) budgetLeft(lease time.Duration) bool {
	return time.Since(c.started) < lease*4/5
}
