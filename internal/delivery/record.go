package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webhook"
)

// Outcomes are written in batches: every flushEvery recipients or
// flushAfter, whichever comes first, and at the end of the batch. Between
// flushes a crash can only cause a repeat delivery (the rows come due again
// after the lease), never a loss.
const (
	flushEvery = 100
	flushAfter = time.Second
)

// result is one recipient's verdict, waiting to be written.
type result struct {
	msg *store.MessageRow
	r   *rcpt
	v   verdict
}

// recorder collects a batch's verdicts and writes them.
type recorder struct {
	b         *batch
	pending   []result
	flushedAt time.Time
	// endLater: the final flush could not free slot 0 in its shared
	// transaction; endAlone does once it has committed.
	endLater bool
}

func (rec *recorder) add(g *group, vs []verdict) {
	for i, r := range g.rcpts {
		rec.pending = append(rec.pending, result{msg: &g.msg, r: r, v: vs[i]})
	}
}

func (rec *recorder) addOne(m store.MessageRow, r *rcpt, v verdict) {
	rec.pending = append(rec.pending, result{msg: &m, r: r, v: v})
}

// releaseGroup puts a group the batch did not attempt back in the queue.
func (rec *recorder) releaseGroup(g *group) {
	rec.add(g, repeat(verdict{kind: released}, len(g.rcpts)))
}

// releaseAll puts every claimed recipient back in the queue, unattempted:
// the batch could not even read them, and they should not wait for the
// lease to end.
func (rec *recorder) releaseAll(rows []store.RecipientRow) {
	rec.pending = rec.pending[:0]
	for _, row := range rows {
		rec.pending = append(rec.pending, result{msg: &store.MessageRow{ID: row.MessageID, OrgID: row.OrgID}, r: &rcpt{row: row}, v: verdict{kind: released}})
	}
}

func (rec *recorder) maybeFlush(ctx context.Context) error {
	if rec.flushedAt.IsZero() {
		rec.flushedAt = time.Now()
	}
	if len(rec.pending) < flushEvery && time.Since(rec.flushedAt) < flushAfter {
		return nil
	}
	return rec.flush(ctx, false)
}

// finish writes what is left, frees the slot and, when more is due for
// the domain, arms it again with its next job, all in one transaction.
func (rec *recorder) finish(ctx context.Context) error { return rec.flush(ctx, true) }

// flushAttempts bounds the tries of one flush. Its transaction may be the
// one PostgreSQL aborts to break a lock cycle under load, and the outcomes
// of mail that was sent must be written: a flush given up leaves its
// recipients "sending" until their lease ends (then they are sent again).
// A retry is safe: a failed try changed nothing (its transaction, or its
// savepoint in group commit, was rolled back), outcomes are fenced by the
// lease, and notifications carry idempotency keys.
const flushAttempts = 4

func (rec *recorder) flush(ctx context.Context, final bool) error {
	var err error
	for attempt := range flushAttempts {
		if attempt > 0 {
			rec.b.s.log.Warn("delivery outcomes not written; retrying", "domain", rec.b.c.domain, "attempt", attempt, "error", err)
			time.Sleep(time.Duration(attempt*attempt) * 50 * time.Millisecond)
		}
		if err = rec.flushOnce(ctx, final); err == nil {
			return nil
		}
	}
	return err
}

func (rec *recorder) flushOnce(ctx context.Context, final bool) error {
	// Outcomes are written even when the job's context has ended: what was
	// sent must be recorded.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	s, c := rec.b.s, rec.b.c
	now := s.clock()
	ws := make([]write, len(rec.pending))
	outs := make([]store.RecipientOutcome, len(rec.pending))
	for i, res := range rec.pending {
		ws[i] = s.outcome(res, c.lease, now)
		outs[i] = ws[i].out
	}
	s.submitDSNs(ctx, ws, now)
	err := s.tx(ctx, func(tx *store.Tx) error {
		rec.endLater = false
		applied, err := store.RecordOutcomes(ctx, tx, outs)
		if err != nil {
			return err
		}
		var evs []event.Event
		for i, ok := range applied {
			if !ok {
				s.log.Warn("delivery lease lost; another claim owns the recipient", "recipient", ws[i].res.r.row.ID)
				continue
			}
			if err := s.effects(ctx, tx, &ws[i], now); err != nil {
				return err
			}
			if ws[i].event != "" {
				evs = append(evs, ws[i].eventOf())
			}
		}
		if err := s.deps.Events.Record(ctx, tx, evs...); err != nil {
			return err
		}
		if final {
			if err := rec.next(ctx, tx, now); err != nil {
				return err
			}
		}
		// The entries are written when the transaction is about to commit
		// (audit.Log.Flush), each chain's head locked once for the batch.
		for i, ok := range applied {
			if ok && ws[i].audit != nil {
				if err := s.deps.Audit.Append(ctx, tx, *ws[i].audit); err != nil {
					return err
				}
			}
		}
		tx.AfterCommit(func() {
			for i, ok := range applied {
				if ok {
					s.metrics.outcome(ws[i], now)
				}
			}
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("record delivery outcomes: %w", err)
	}
	rec.pending, rec.flushedAt = nil, time.Now()
	if rec.endLater {
		return rec.endAlone(ctx)
	}
	return nil
}

// next frees the batch's slot and wakes the domain again if more is due.
// It locks the domain first: a job that started meanwhile, found every
// slot held and ended is ordered before this check, which then sees what
// that job left.
//
// On PostgreSQL the lock is only tried: this runs in a shared (group
// commit) transaction whose earlier requests may already hold rows — another
// domain's head row — that a transaction holding this domain's head row is
// waiting for. (Audit chain heads are no longer among them: they are taken
// at COMMIT, in one order.) Slot 0's hold lives in the head row itself, so when the
// lock is not had, slot 0 is not released here — the UPDATE would wait
// for the head row and close the cycle (PostgreSQL then aborts one side,
// and an aborted outcome transaction left its recipients "sending" until
// their lease ran out). The batch ends in a transaction of its own right
// after this one commits instead (endAlone), where waiting holds nothing.
func (rec *recorder) next(ctx context.Context, tx *store.Tx, now time.Time) error {
	s, c := rec.b.s, rec.b.c
	locked, err := store.LockDelivery(ctx, tx, c.domain)
	if err != nil {
		return err
	}
	if !locked {
		if c.slot == 0 {
			rec.endLater = true
		} else if err := store.ReleaseDeliverySlot(ctx, tx, c.domain, c.slot, c.lease); err != nil {
			return err
		}
		// Another transaction is deciding about the domain: a job after
		// this one commits looks for what is left (and one is on its way
		// even if this node dies before endAlone).
		return s.wakeAt(ctx, tx, c.domain, 0)
	}
	if err := store.ReleaseDeliverySlot(ctx, tx, c.domain, c.slot, c.lease); err != nil {
		return err
	}
	due, err := store.DeliveryDue(ctx, tx, c.domain, now)
	if err != nil || !due {
		return err
	}
	return s.wake(ctx, tx, c.domain, false)
}

// endAlone frees slot 0 and looks for more work in a transaction of its
// own, after the outcomes committed (see next). Releasing the slot locks
// the head row, so the check is ordered as next's is.
func (rec *recorder) endAlone(ctx context.Context) error {
	s, c := rec.b.s, rec.b.c
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := store.ReleaseDeliverySlot(ctx, tx, c.domain, c.slot, c.lease); err != nil {
			return err
		}
		due, err := store.DeliveryDue(ctx, tx, c.domain, s.clock())
		if err != nil || !due {
			return err
		}
		return s.wake(ctx, tx, c.domain, false)
	})
	if err != nil {
		return fmt.Errorf("end delivery batch: %w", err)
	}
	return nil
}

// effects writes what follows from one applied outcome in its
// transaction, besides its event and audit entry: the portal handoff, the
// demo capture and the suppression of a hard bounce.
func (s *Service) effects(ctx context.Context, tx *store.Tx, w *write, now time.Time) error {
	row := w.res.r.row
	if w.handoff {
		return s.handoff(ctx, tx, w, now)
	}
	if w.res.v.capture != nil && w.out.State == outbox.StateDelivered {
		if err := s.deps.Capture.CaptureTx(ctx, tx, Captured{OrgID: row.OrgID, MessageID: row.MessageID,
			RecipientID: row.ID, Content: w.res.v.capture, At: now}); err != nil {
			return fmt.Errorf("demo capture: %w", err)
		}
	}
	if w.suppress {
		if err := store.Suppress(ctx, tx, row.OrgID, row.AddressIndex, "hard bounce "+w.out.LastEnhanced, row.MessageID, now); err != nil {
			return err
		}
	}
	return nil
}

// tx runs fn through group commit when there is a Committer.
func (s *Service) tx(ctx context.Context, fn func(*store.Tx) error) error {
	if s.deps.Committer != nil {
		return s.deps.Committer.Do(ctx, fn)
	}
	return s.deps.DB.Tx(ctx, fn)
}

// handoff gives a recipient whose walk reached the portal to it, inside a
// savepoint of the outcome transaction: the handoff moves the held row to
// portal, records its event and audit entry and submits the notification
// through the outbox. When the portal does not take the recipient —
// declined, or its work failed — only the handoff is undone: the
// recipient stays held with a reason (fail closed) and the rest of the
// batch's outcomes are written.
func (s *Service) handoff(ctx context.Context, tx *store.Tx, w *write, now time.Time) error {
	row := w.res.r.row
	err := tx.Savepoint(ctx, "delivery_portal", func() error {
		return s.deps.Portal.Handoff(ctx, tx, row.OrgID, row.MessageID, row.ID)
	})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	if errors.Is(err, outbox.ErrPortalDeclined) {
		s.log.Warn("the portal declined a recipient; it stays held", "recipient", row.ID, "message", row.MessageID)
	} else {
		s.log.Error("portal handoff failed; the recipient stays held", "recipient", row.ID, "message", row.MessageID, "error", err)
	}
	w.handoff, w.by = false, byNone
	w.out.LastReason = w.res.v.reason + "; the secure portal did not take the recipient"
	w.event = webhook.EventHeld
	w.audit = auditEntry(*w)
	return store.SetHeldReason(ctx, tx, row.OrgID, row.ID, w.out.LastReason, now)
}
