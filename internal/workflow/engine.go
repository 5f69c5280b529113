package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/store"
)

// Run states.
const (
	RunActive    = "active"    // due now: the engine executes its step
	RunWaiting   = "waiting"   // in a wait step, until due_at or an event
	RunCompleted = "completed" // reached the end (or a loop was prevented, or it moved to another workflow)
	RunExited    = "exited"    // left early: no consent, unsubscribed, suppressed, deleted
)

// maxTransitions bounds the steps one run executes in one batch; a run
// visits each step at most once, so MaxSteps+1 always suffices.
const maxTransitions = MaxSteps + 1

// batch is one engine transaction's work: the claimed runs and everything
// their steps change, written together before commit.
type batch struct {
	s        *Service
	tx       *store.Tx
	now      time.Time
	runs     []*store.WorkflowRunRow
	history  []store.WorkflowHistoryRow
	stats    map[statKey]*store.WorkflowStepStats
	events   []event.Event
	contacts map[string]map[string]contact.Contact // org → id → contact
	sends    map[string][]*pendingSend             // org → messages to write at flush
	senders  map[[2]string]error                   // (org, sender address) → verified (nil) or the refusal
	tracked  map[[2]string]bool                    // (org, campaign id) → a tracked message used its link table
	steps    int
	arm      bool

	// adds are the batch's add_to_segment steps, per (organization,
	// segment) in the order first met, written together at flush.
	adds    map[[2]string][]string
	addKeys [][2]string

	// work composes a parallel batch's messages (nil: in line; see
	// sendStep and pool).
	work *pool
}

type statKey struct{ org, workflow, step string }

func (b *batch) stat(org, workflow, step string) *store.WorkflowStepStats {
	k := statKey{org, workflow, step}
	st, ok := b.stats[k]
	if !ok {
		st = &store.WorkflowStepStats{WorkflowID: workflow, StepID: step}
		b.stats[k] = st
	}
	return st
}

// RunDue executes the steps of every contact that is due, batch after
// batch, until none is due, ctx ends or the budget is spent. It returns
// how many steps it executed. The job engine's workers call it; tests call
// it directly after moving their fake clock.
func (s *Service) RunDue(ctx context.Context) (int, error) {
	start := time.Now()
	total := 0
	for ctx.Err() == nil && time.Since(start) < s.opts.Budget {
		more, steps, err := s.runBatch(ctx)
		total += steps
		if err != nil {
			return total, err
		}
		if !more {
			return total, nil
		}
	}
	return total, ctx.Err()
}

// runBatch claims due runs and executes them in one transaction: the
// runs' new state, their history, the step counters, the messages their
// send steps submit and the events, all committed together. A crash before
// the commit leaves everything as it was, so the batch runs again and
// sends nothing twice; the messages' idempotency keys (run and step) hold
// even if the same work were committed twice.
// more reports whether rows may be due still: the batch was full, or it
// made new runs due (a go to into another workflow).
// A batch first runs in parallel (when Options.SendWorkers allows) and
// again in line if that went wrong (errSequential).
func (s *Service) runBatch(ctx context.Context) (more bool, steps int, err error) {
	parallel := s.opts.SendWorkers > 1
	for attempt := 0; ; attempt++ {
		more, steps, err = s.tryBatch(ctx, parallel)
		if errors.Is(err, errSequential) && parallel {
			parallel = false
			continue
		}
		if errors.Is(err, errRace) && attempt < 3 {
			continue
		}
		return more, steps, err
	}
}

var errRace = errors.New("workflow: concurrent submission, retry the batch")

func (s *Service) tryBatch(ctx context.Context, parallel bool) (more bool, steps int, err error) {
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		b := &batch{s: s, tx: tx, now: s.now(), stats: map[statKey]*store.WorkflowStepStats{},
			contacts: map[string]map[string]contact.Contact{}, sends: map[string][]*pendingSend{},
			senders: map[[2]string]error{}, tracked: map[[2]string]bool{}, adds: map[[2]string][]string{}}
		if parallel {
			b.work = newPool(s.opts.SendWorkers)
			defer b.work.finish() // no worker outlives the transaction, whatever ends it
		}
		rows, err := store.ClaimDueRuns(ctx, tx, b.now, s.opts.Batch)
		if err != nil {
			return err
		}
		claimed := len(rows)
		if claimed == 0 {
			return nil
		}
		if err := b.loadContacts(ctx, rows); err != nil {
			return err
		}
		for i := range rows {
			r := &rows[i]
			b.runs = append(b.runs, r)
			if err := s.advance(ctx, b, r); err != nil {
				return fmt.Errorf("workflow run %s: %w", r.ID, err)
			}
		}
		if err := b.flush(ctx); err != nil {
			return err
		}
		if s.opts.BeforeCommit != nil {
			if err := s.opts.BeforeCommit(claimed); err != nil {
				return err
			}
		}
		steps, more = b.steps, claimed == s.opts.Batch || b.arm
		return nil
	})
	return more, steps, err
}

// loadContacts opens the batch's contacts, per organization, from the
// read pool (no contact row is locked by the engine). A parallel batch
// reads them in parts side by side (contact.LoadParts): the engine's goroutine
// is the batch's narrow part, and at this point the workers that compose
// its messages have nothing to do yet.
func (b *batch) loadContacts(ctx context.Context, rows []store.WorkflowRunRow) error {
	ids := map[string][]string{}
	for _, r := range rows {
		ids[r.OrgID] = append(ids[r.OrgID], r.ContactID)
	}
	parts := 1
	if b.work != nil {
		parts = b.s.opts.SendWorkers
	}
	for org, list := range ids {
		cs, err := b.s.deps.Contacts.LoadParts(ctx, org, list, parts)
		if err != nil {
			return err
		}
		b.contacts[org] = cs
	}
	return nil
}

// contact returns the run's contact; ok false when it was deleted.
func (b *batch) contact(r *store.WorkflowRunRow) (contact.Contact, bool) {
	c, ok := b.contacts[r.OrgID][r.ContactID]
	return c, ok
}

// flush writes what the batch's steps changed: the segment memberships
// its add_to_segment steps made, the runs and the step events, the
// messages, then the history and counters.
//
// The runs' new state and the step events do not depend on how the sends
// come out (a parallel batch whose message was not made is rolled back
// whole), so they are written first, while a parallel batch's workers are
// still composing; the history rows name the messages and the counters
// count them, so they follow the sends.
func (b *batch) flush(ctx context.Context) error {
	if err := b.flushSegmentAdds(ctx); err != nil {
		return err
	}
	rows := make([]store.WorkflowRunRow, len(b.runs))
	for i, r := range b.runs {
		rows[i] = *r
	}
	if err := store.UpdateWorkflowRuns(ctx, b.tx, rows); err != nil {
		return err
	}
	if b.s.deps.Events != nil && len(b.events) > 0 {
		if err := b.s.deps.Events.Record(ctx, b.tx, b.events...); err != nil {
			return err
		}
	}
	if err := b.flushSends(ctx); err != nil {
		return err
	}
	if err := store.InsertWorkflowHistory(ctx, b.tx, b.history); err != nil {
		return err
	}
	if err := b.s.flushStats(ctx, b.tx, b.stats); err != nil {
		return err
	}
	return b.s.arm(ctx, b.tx, b.arm)
}

// addToSegment notes an add_to_segment step's contact for the flush.
// Nothing in the batch reads the membership back (conditions read
// committed state), so adding at the flush is adding at the step; a
// failure fails the batch either way.
func (b *batch) addToSegment(org, segment, contact string) {
	k := [2]string{org, segment}
	if _, ok := b.adds[k]; !ok {
		b.addKeys = append(b.addKeys, k)
	}
	b.adds[k] = append(b.adds[k], contact)
}

// flushSegmentAdds adds each segment's contacts in one call.
func (b *batch) flushSegmentAdds(ctx context.Context) error {
	for _, k := range b.addKeys {
		if err := b.s.deps.Segments.AddStatic(ctx, b.tx, k[0], k[1], b.adds[k]); err != nil {
			return fmt.Errorf("add to segment %s: %w", k[1], err)
		}
	}
	return nil
}

func (s *Service) flushStats(ctx context.Context, tx *store.Tx, stats map[statKey]*store.WorkflowStepStats) error {
	byOrg := map[string][]store.WorkflowStepStats{}
	for k, v := range stats {
		byOrg[k.org] = append(byOrg[k.org], *v)
	}
	for org, list := range byOrg {
		if err := store.AddWorkflowStepStats(ctx, tx, org, list); err != nil {
			return err
		}
	}
	return nil
}

// visited reports whether the run has been at step id.
func visited(r *store.WorkflowRunRow, id string) bool {
	return strings.Contains(" "+r.Visited+" ", " "+id+" ")
}

func addToken(list, tok string) string {
	if strings.Contains(" "+list+" ", " "+tok+" ") {
		return list
	}
	if list == "" {
		return tok
	}
	return list + " " + tok
}
