package workflow

import (
	"context"
	"errors"
	"time"

	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webhook"
)

// Run is one contact's journey, as the API shows it.
type Run = store.WorkflowRunRow

// ErrInactive means the workflow does not take contacts now.
var ErrInactive = errors.New("workflow: the workflow is not active")

// ErrAlreadyEnrolled means the contact was in this workflow before (no
// re-entry).
var ErrAlreadyEnrolled = errors.New("workflow: the contact was already enrolled in this workflow; contacts do not enter a workflow twice")

// Enrol puts one contact into an active workflow by API (every workflow
// takes manual enrolment). A contact that was ever in it before is
// ErrAlreadyEnrolled.
func (s *Service) Enrol(ctx context.Context, a Actor, workflowID, contactID string) (Run, error) {
	if err := a.canWrite(); err != nil {
		return Run{}, err
	}
	var run Run
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		row, err := store.GetWorkflow(ctx, tx, a.orgID, workflowID)
		if err != nil {
			return err
		}
		if _, err := store.GetContact(ctx, s.deps.DB.Reader(), a.orgID, contactID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return message.FieldErrors{{Field: "contact_id", Msg: "no such contact"}}
			}
			return err
		}
		if row.State != StateActive {
			return ErrInactive
		}
		n, err := s.enrolTx(ctx, tx, a.orgID, workflowID, []string{contactID}, "", "api")
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrAlreadyEnrolled
		}
		if run, err = store.LatestWorkflowRun(ctx, tx, a.orgID, workflowID, contactID); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "workflow.enrol", workflowID, map[string]string{"contact_id": contactID, "run_id": run.ID})
	})
	return run, err
}

// enrolTx enrols contacts in an active workflow inside tx, at its current
// version's first step and due at once, skipping contacts that were ever
// in it for occurrence (no re-entry). It returns how many entered. A
// workflow that is not active (or not the organization's) enrols nobody.
func (s *Service) enrolTx(ctx context.Context, tx *store.Tx, orgID, workflowID string, contactIDs []string, occurrence, source string) (int, error) {
	row, err := store.GetWorkflow(ctx, s.deps.DB.Reader(), orgID, workflowID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if row.State != StateActive {
		return 0, nil
	}
	d, err := s.definition(ctx, tx, orgID, workflowID, row.CurrentVersion)
	if err != nil {
		return 0, err
	}
	now := s.now()
	first := d.Steps[0].ID
	rows := make([]store.WorkflowRunRow, 0, len(contactIDs))
	for _, cid := range contactIDs {
		rows = append(rows, store.WorkflowRunRow{OrgID: orgID, ID: id.NewAt("wfr", now), WorkflowID: workflowID, Occurrence: occurrence,
			Version: row.CurrentVersion, ContactID: cid, Priority: d.Priority, State: RunActive, StepID: first, StepAt: now, DueAt: now,
			Visited: first, Source: source, EnteredAt: now})
	}
	inserted, err := store.InsertWorkflowRuns(ctx, tx, rows)
	if err != nil {
		return 0, err
	}
	if len(inserted) == 0 {
		return 0, nil
	}
	var evs []event.Event
	for _, r := range rows {
		if inserted[r.ID] {
			evs = append(evs, event.Event{OrgID: orgID, Type: webhook.EventWorkflowEnrolled, Data: map[string]any{
				"workflow_id": workflowID, "version": r.Version, "run_id": r.ID, "contact_id": r.ContactID, "source": source}})
		}
	}
	stats := []store.WorkflowStepStats{{WorkflowID: workflowID, StepID: first, Entered: int64(len(inserted))}}
	if err := store.AddWorkflowStepStats(ctx, tx, orgID, stats); err != nil {
		return 0, err
	}
	if s.deps.Events != nil {
		if err := s.deps.Events.Record(ctx, tx, evs...); err != nil {
			return 0, err
		}
	}
	return len(inserted), s.arm(ctx, tx, true)
}

// enrolTriggered enrols contacts in every active workflow (kind, key)
// triggers.
func (s *Service) enrolTriggered(ctx context.Context, tx *store.Tx, orgID, kind, key string, contactIDs []string) error {
	ids, err := store.TriggeredWorkflows(ctx, tx, orgID, kind, key)
	if err != nil {
		return err
	}
	for _, wid := range ids {
		if _, err := s.enrolTx(ctx, tx, orgID, wid, contactIDs, "", kind+":"+key); err != nil {
			return err
		}
	}
	return nil
}

// wake makes due the contact's runs waiting for key, and arms the engine.
func (s *Service) wake(ctx context.Context, tx *store.Tx, orgID, contactID, key string) error {
	n, err := store.WakeWorkflowRuns(ctx, tx, orgID, contactID, key, wakeEvent, s.now())
	if err != nil || n == 0 {
		return err
	}
	return s.arm(ctx, tx, true)
}

// recheck makes due the contact's filter waits, which evaluate again.
func (s *Service) recheck(ctx context.Context, tx *store.Tx, orgID, contactID string) error {
	n, err := store.WakeWorkflowRuns(ctx, tx, orgID, contactID, "filter", "", s.now())
	if err != nil || n == 0 {
		return err
	}
	return s.arm(ctx, tx, true)
}

// ContactEvent is package contact's observer call for a custom event:
// it starts the workflows the event triggers and wakes the contact's runs
// waiting for it; filter waits evaluate again.
func (s *Service) ContactEvent(ctx context.Context, tx *store.Tx, orgID, contactID, name, eventID string, at time.Time) error {
	if err := s.enrolTriggered(ctx, tx, orgID, TriggerEvent, name, []string{contactID}); err != nil {
		return err
	}
	if err := s.wake(ctx, tx, orgID, contactID, "event:"+name); err != nil {
		return err
	}
	return s.recheck(ctx, tx, orgID, contactID)
}

// ListJoined is package contact's observer call for contacts subscribed
// to a list: it starts list_join workflows; filter waits evaluate again.
func (s *Service) ListJoined(ctx context.Context, tx *store.Tx, orgID, listID string, contactIDs []string) error {
	if err := s.enrolTriggered(ctx, tx, orgID, TriggerListJoin, listID, contactIDs); err != nil {
		return err
	}
	for _, cid := range contactIDs {
		if err := s.recheck(ctx, tx, orgID, cid); err != nil {
			return err
		}
	}
	return nil
}

// ContactsChanged is package contact's observer call for contacts whose
// values were written: their filter waits evaluate again now rather than
// at the next recheck.
func (s *Service) ContactsChanged(ctx context.Context, tx *store.Tx, orgID string, contactIDs []string) error {
	n, err := store.WakeWorkflowRunsOf(ctx, tx, orgID, contactIDs, "filter", "", s.now())
	if err != nil || n == 0 {
		return err
	}
	return s.arm(ctx, tx, true)
}

// SegmentEntered is the seam for segments: call it in the transaction in
// which contacts entered a segment (static or dynamic). It starts
// segment_in workflows; filter waits evaluate again.
func (s *Service) SegmentEntered(ctx context.Context, tx *store.Tx, orgID, segmentID string, contactIDs []string) error {
	if err := s.enrolTriggered(ctx, tx, orgID, TriggerSegmentIn, segmentID, contactIDs); err != nil {
		return err
	}
	for _, cid := range contactIDs {
		if err := s.recheck(ctx, tx, orgID, cid); err != nil {
			return err
		}
	}
	return nil
}

// WatchedSegments lists the segments active workflows' segment_in
// triggers name, once each, as (organization, segment) pairs: the
// segments whose entries must be observed. Static segments report theirs
// as they happen; the app sweeps the dynamic ones
// (segment.Service.SweepWatched) and entries come back through
// SegmentEntered.
func (s *Service) WatchedSegments(ctx context.Context) ([][2]string, error) {
	ts, err := store.TriggersOfKind(ctx, s.deps.DB.Reader(), TriggerSegmentIn)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	seen := map[[2]string]bool{}
	for _, t := range ts {
		k := [2]string{t[0], t[1]}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out, nil
}

// FormSubmitted is the seam for the forms product: call it in the
// transaction that stores a submission of formID by contactID. It starts
// form-triggered workflows and wakes runs waiting for that form.
func (s *Service) FormSubmitted(ctx context.Context, tx *store.Tx, orgID, formID, contactID string) error {
	if err := s.enrolTriggered(ctx, tx, orgID, TriggerForm, formID, []string{contactID}); err != nil {
		return err
	}
	return s.wake(ctx, tx, orgID, contactID, "form:"+formID)
}

// ObserveEvent is the event recorder's observer: an open or click of a
// workflow's email (tracking's message.opened and message.clicked, whose
// campaign id is CampaignID) is recorded on the contact's run, counted on
// the step, and wakes the run if it waits for it.
func (s *Service) ObserveEvent(ctx context.Context, tx *store.Tx, ev event.Event) error {
	if ev.Type != webhook.EventOpened && ev.Type != webhook.EventClicked {
		return nil
	}
	campaign, _ := ev.Data["campaign_id"].(string)
	contactID, _ := ev.Data["contact_id"].(string)
	wid, step, ok := splitCampaign(campaign)
	if !ok || contactID == "" {
		return nil
	}
	if machine, _ := ev.Data["machine"].(bool); machine {
		return nil // privacy proxies and scanners are not engagement
	}
	r, err := store.LatestWorkflowRun(ctx, tx, ev.OrgID, wid, contactID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	kind, tok := EventOpen, "o:"+step
	if ev.Type == webhook.EventClicked {
		kind, tok = EventClick, "c:"+step
	}
	first := !visitedList(r.Engaged, tok)
	if !first {
		return nil
	}
	if err := store.SetWorkflowRunEngaged(ctx, tx, ev.OrgID, r.ID, addToken(r.Engaged, tok)); err != nil {
		return err
	}
	st := store.WorkflowStepStats{WorkflowID: wid, StepID: step}
	if kind == EventOpen {
		st.Opens = 1
	} else {
		st.Clicks = 1
	}
	if err := store.AddWorkflowStepStats(ctx, tx, ev.OrgID, []store.WorkflowStepStats{st}); err != nil {
		return err
	}
	if err := s.wake(ctx, tx, ev.OrgID, contactID, kind+":"+wid+":"+step); err != nil {
		return err
	}
	if kind == EventClick { // a click is an open too
		return s.wake(ctx, tx, ev.OrgID, contactID, EventOpen+":"+wid+":"+step)
	}
	return nil
}

// splitCampaign reads CampaignID back.
func splitCampaign(c string) (workflowID, stepID string, ok bool) {
	for i := 0; i < len(c); i++ {
		if c[i] == ':' {
			if len(c) > 4 && c[:4] == "wfl_" && i+1 < len(c) {
				return c[:i], c[i+1:], true
			}
			return "", "", false
		}
	}
	return "", "", false
}
