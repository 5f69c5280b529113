package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webhook"
)

// Run outcomes (the run's last word, in runs and webhooks).
const (
	OutcomeCompleted     = "completed"
	OutcomeLoopPrevented = "loop_prevented" // a step already visited was next: marked complete instead
	OutcomeMoved         = "moved"          // went to another workflow
	OutcomeNoConsent     = "no_consent"
	OutcomeUnsubscribed  = "unsubscribed"
	OutcomeSuppressed    = "suppressed"
	OutcomeDeleted       = "contact_deleted"
	OutcomeSendFailed    = "send_failed"
	OutcomeNeverDue      = "window_never_opens"
)

// result is what executing a step decided.
type result struct {
	park    bool   // the run waits (its due time and wait key are set)
	next    string // the step to go to ("" with end: the workflow ends)
	end     bool   // finish after leaving the step
	exit    string // leave the workflow early with this outcome
	outcome string // the step's outcome in the history
	detail  string
	send    *pendingSend // the message a send step prepared
}

// advance executes the run's steps until it waits or finishes.
func (s *Service) advance(ctx context.Context, b *batch, r *store.WorkflowRunRow) error {
	d, err := s.definition(ctx, s.deps.DB.Reader(), r.OrgID, r.WorkflowID, r.Version)
	if err != nil {
		return err
	}
	for range maxTransitions {
		st := d.step(r.StepID)
		if st == nil {
			return fmt.Errorf("version %d has no step %q", r.Version, r.StepID)
		}
		res, err := s.execute(ctx, b, r, d, st)
		if err != nil {
			return err
		}
		b.steps++
		if res.park {
			r.State = RunWaiting
			return nil
		}
		b.leave(r, st, res.outcome, res.detail)
		if res.send != nil {
			res.send.history = len(b.history) - 1
		}
		switch {
		case res.exit != "":
			b.finish(r, st, RunExited, res.exit)
			return nil
		case res.end || res.next == "":
			outcome := OutcomeCompleted
			if st.Type == StepGoto {
				outcome = OutcomeMoved
			}
			b.finish(r, st, RunCompleted, outcome)
			return nil
		case visited(r, res.next):
			// QUIRK: the rule, applied to every transition (not
			// only go to): a step a contact already visited in this run is
			// never executed again; the contact is marked complete.
			b.finish(r, st, RunCompleted, OutcomeLoopPrevented)
			return nil
		}
		b.enter(r, res.next)
	}
	return fmt.Errorf("more than %d transitions in one batch", maxTransitions)
}

// execute runs one step; it never writes the run's history (leave does).
func (s *Service) execute(ctx context.Context, b *batch, r *store.WorkflowRunRow, d *Definition, st *Step) (result, error) {
	c, ok := b.contact(r)
	if !ok {
		return result{exit: OutcomeDeleted, outcome: "exited"}, nil
	}
	switch st.Type {
	case StepSend:
		return s.sendStep(ctx, b, r, d, st, c)
	case StepWait:
		return b.waitStep(r, d, st, c), nil
	case StepWaitEvent:
		return s.waitEventStep(ctx, b, r, d, st, c)
	case StepBranch:
		for i := range st.Branches {
			ok, err := s.eval(ctx, r, c, &st.Branches[i].If)
			if err != nil {
				return result{}, err
			}
			if ok {
				return result{next: st.Branches[i].Next, outcome: "branch", detail: fmt.Sprintf("branches[%d]", i)}, nil
			}
		}
		return result{next: st.Fallback, outcome: "fallback"}, nil
	case StepGoto:
		if st.Target != "" {
			return result{next: st.Target, outcome: "goto"}, nil
		}
		n, err := s.enrolTx(ctx, b.tx, r.OrgID, st.WorkflowID, []string{r.ContactID}, "", "workflow:"+r.WorkflowID)
		if err != nil {
			return result{}, err
		}
		detail := st.WorkflowID
		if n == 0 {
			detail += " (not enrolled: inactive, or the contact was there before)"
		}
		b.arm = b.arm || n > 0
		return result{end: true, outcome: OutcomeMoved, detail: detail}, nil
	case StepSegment:
		b.addToSegment(r.OrgID, st.SegmentID, r.ContactID)
		return result{next: d.next(st), outcome: "added", detail: st.SegmentID}, nil
	case StepEnd:
		return result{end: true, outcome: "end"}, nil
	}
	return result{}, fmt.Errorf("unknown step type %q", st.Type)
}

// waitStep lets the contact go on once the wait's time has come.
func (b *batch) waitStep(r *store.WorkflowRunRow, d *Definition, st *Step, c contact.Contact) result {
	var field time.Time
	if st.RelativeTo != nil {
		if v, ok := c.Fields[st.RelativeTo.Field]; ok && v.Type == contact.TypeDate {
			field = v.Date
		}
	}
	due, ok := st.Wait.dueAt(r.StepAt, field, c.Timezone)
	switch {
	case !ok:
		return result{exit: OutcomeNeverDue, outcome: "exited"}
	case !due.After(b.now):
		return result{next: d.next(st), outcome: "waited"}
	}
	r.DueAt, r.WaitKey, r.Wake = due, "", ""
	return result{park: true}
}

// DefaultRecheck is how often a filter wait is evaluated again when
// nothing about the contact happens.
const DefaultRecheck = time.Hour

// waitEventStep lets the contact go on when its event came (the run was
// woken), or down the timeout path when the timeout passed first.
func (s *Service) waitEventStep(ctx context.Context, b *batch, r *store.WorkflowRunRow, d *Definition, st *Step, c contact.Contact) (result, error) {
	ev := st.Event
	fresh := r.State == RunActive
	woken := r.Wake == wakeEvent
	r.Wake = ""
	switch {
	case woken && ev.Type != EventFilter:
		return result{next: d.next(st), outcome: "event"}, nil
	case fresh && (ev.Type == EventOpen || ev.Type == EventClick) && engagedWith(r.Engaged, ev.Type, ev.Step):
		return result{next: d.next(st), outcome: "event", detail: "before the wait"}, nil
	case ev.Type == EventFilter:
		ok, err := s.eval(ctx, r, c, ev.Filter)
		if err != nil {
			return result{}, err
		}
		if ok {
			return result{next: d.next(st), outcome: "event"}, nil
		}
	}
	var deadline time.Time
	if st.Timeout > 0 {
		deadline = r.StepAt.Add(st.Timeout.D())
		if !deadline.After(b.now) {
			return result{next: st.TimeoutNext, outcome: "timeout"}, nil
		}
	}
	r.WaitKey, r.DueAt = waitKey(r.WorkflowID, ev), deadline
	if ev.Type == EventFilter {
		recheck := ev.Recheck.D()
		if recheck <= 0 {
			recheck = DefaultRecheck
		}
		if next := b.now.Add(recheck); deadline.IsZero() || next.Before(deadline) {
			r.DueAt = next
		}
	}
	return result{park: true}, nil
}

const wakeEvent = "event"

// waitKey is what a waiting run is found by when its event happens
// (workflow_runs_wait): open and click keys name the workflow and step
// (tracking reports the email by them), custom and form keys are shared
// by every workflow waiting for the same thing.
func waitKey(workflowID string, ev *EventSpec) string {
	switch ev.Type {
	case EventOpen, EventClick:
		return ev.Type + ":" + workflowID + ":" + ev.Step
	case EventCustom:
		return "event:" + ev.Name
	case EventForm:
		return "form:" + ev.FormID
	}
	return "filter"
}

// engagedWith: a click counts as an open too.
func engagedWith(engaged, kind, step string) bool {
	if kind == EventOpen && visitedList(engaged, "o:"+step) {
		return true
	}
	return visitedList(engaged, "c:"+step)
}

func visitedList(list, tok string) bool {
	r := store.WorkflowRunRow{Visited: list}
	return visited(&r, tok)
}

// leave records that the run left st.
func (b *batch) leave(r *store.WorkflowRunRow, st *Step, outcome, detail string) {
	r.Seq++
	b.history = append(b.history, store.WorkflowHistoryRow{OrgID: r.OrgID, RunID: r.ID, Seq: r.Seq, StepID: st.ID, StepType: st.Type,
		EnteredAt: r.StepAt, LeftAt: b.now, Outcome: outcome, Detail: detail})
	b.stat(r.OrgID, r.WorkflowID, st.ID).Left++
	b.events = append(b.events, event.Event{OrgID: r.OrgID, Type: webhook.EventWorkflowStep, Data: map[string]any{
		"workflow_id": r.WorkflowID, "version": r.Version, "run_id": r.ID, "contact_id": r.ContactID, "step_id": st.ID,
		"step_type": st.Type, "outcome": outcome}})
}

// enter moves the run to step id, due at once.
func (b *batch) enter(r *store.WorkflowRunRow, id string) {
	r.StepID, r.StepAt, r.State, r.DueAt, r.WaitKey, r.Wake = id, b.now, RunActive, b.now, "", ""
	r.Visited = addToken(r.Visited, id)
	b.stat(r.OrgID, r.WorkflowID, id).Entered++
}

// finish ends the run at st.
func (b *batch) finish(r *store.WorkflowRunRow, st *Step, state, outcome string) {
	r.State, r.Outcome, r.FinishedAt, r.DueAt, r.WaitKey, r.Wake = state, outcome, b.now, time.Time{}, "", ""
	typ := webhook.EventWorkflowCompleted
	if state == RunExited {
		typ = webhook.EventWorkflowExited
		b.stat(r.OrgID, r.WorkflowID, st.ID).Dropoffs++
	} else {
		b.stat(r.OrgID, r.WorkflowID, st.ID).Complete++
	}
	b.events = append(b.events, event.Event{OrgID: r.OrgID, Type: typ, Data: map[string]any{
		"workflow_id": r.WorkflowID, "version": r.Version, "run_id": r.ID, "contact_id": r.ContactID, "step_id": st.ID, "outcome": outcome}})
}
