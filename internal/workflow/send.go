package workflow

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/template"
	"github.com/carepost/carepost/internal/tracking"
)

// Tracker adds engagement tracking to a workflow's message (package
// tracking through TrackingTracker). CampaignID names the workflow's
// step (CampaignID), which is how opens and clicks find their way back to
// the step and the contact's run.
type Tracker interface {
	// Ready creates what the organization's tracking needs (its token
	// key) outside the engine's transactions; Activate calls it.
	Ready(ctx context.Context, orgID string) error
	// Links are carepost's own links for the template (unsubscribe,
	// preferences) for the contact.
	Links(ctx context.Context, orgID, campaignID, contactID string) (template.Links, error)
	// Rewrite adds the open pixel and click redirects to the rendered
	// message, putting new links in the step's link table, and returns
	// the headers every message of the step carries (List-Unsubscribe).
	Rewrite(ctx context.Context, orgID, campaignID, contactID string, r template.Rendered) (template.Rendered, map[string]string, error)
	// Save writes the step's new links in tx; errRace when another node
	// numbered a link first.
	Save(ctx context.Context, tx *store.Tx, orgID, campaignID string) error
}

// CampaignID is the tracking campaign of a workflow's send step: opens and
// clicks of its email carry it in their events.
func CampaignID(workflowID, stepID string) string { return workflowID + ":" + stepID }

// IdempotencyKey is the outbox key of the message a run sends at a step:
// a step is visited once per run, so the key makes the send exactly once
// even when the same batch is executed again.
func IdempotencyKey(runID, stepID string) string { return "wf:" + runID + ":" + stepID }

// pendingSend is a message a batch's send step prepared; the batch
// commits its messages together at flush (CommitManyOnceTx), before the
// runs' history, which then names each message.
type pendingSend struct {
	prep     *outbox.Prepared
	workflow string
	step     string
	from     string   // the workflow's sender address
	history  int      // index of the step's history row in the batch
	composed composed // a parallel batch's worker's outcome, read after batch.wait
}

// sendStep renders the step's template for the contact and prepares it
// through the outbox, after checking, at this step and not only at
// enrolment, that the contact may receive it: subscribed, not suppressed,
// and — when the workflow requires consent — with a valid marketing
// authorization. The message is written with the batch's other messages
// when the batch flushes, in the same transaction as the step.
//
// Tracking (the open pixel, click redirects) is only for a message whose
// first delivery method is ordinary email: the tracked message is
// prepared first (most are), and when policy sends it by the portal or
// end-to-end encryption instead, the rendered message is prepared again,
// untracked, and decided again on that content — as campaigns do.
//
// In a parallel batch (one with workers, batch.work) the rendering and preparing — the
// CPU of a send, none of it in the transaction — run on the batch's
// workers while the engine goes on with the run's next steps, on the
// expectation that the message is made; flushSends waits for them, and
// if any contact's message did not render or was refused, the batch is
// rolled back and run again in line (errSequential), where that contact
// leaves at this step as it always did.
func (s *Service) sendStep(ctx context.Context, b *batch, r *store.WorkflowRunRow, d *Definition, st *Step, c contact.Contact) (result, error) {
	switch {
	case c.Suppression != "":
		return result{exit: OutcomeSuppressed, outcome: "exited"}, nil
	case c.Status != contact.Subscribed:
		return result{exit: OutcomeUnsubscribed, outcome: "exited", detail: string(c.Status)}, nil
	case c.Email == "":
		return result{exit: OutcomeSendFailed, outcome: "exited", detail: "no email address"}, nil
	case d.ConsentRequired() && !contact.CanMarketPHI(c, b.now):
		return result{exit: OutcomeNoConsent, outcome: "exited"}, nil
	}
	compiled, _, err := s.deps.Templates.Compiled(ctx, r.OrgID, st.TemplateID, st.TemplateVersion)
	if err != nil {
		return result{}, fmt.Errorf("template %s v%d: %w", st.TemplateID, st.TemplateVersion, err)
	}
	ps := &pendingSend{workflow: r.WorkflowID, step: st.ID, from: d.Sender.Address, history: -1}
	if b.work != nil {
		run := *r // the engine goes on changing r; the worker reads its copy
		b.async(ps, func() composed { return s.compose(ctx, b, &run, d, st, c, compiled) })
	} else {
		cm := s.compose(ctx, b, r, d, st, c, compiled)
		switch {
		case cm.err != nil:
			return result{}, cm.err
		case cm.unrendered:
			s.opts.Log.Warn("workflow send: the template does not render for a contact", "workflow_id", r.WorkflowID, "step_id", st.ID, "run_id", r.ID)
			return result{exit: OutcomeSendFailed, outcome: "exited", detail: "the template did not render"}, nil
		case cm.refusal != nil:
			return s.refused(r, st, cm.refusal)
		}
		if err := b.accept(ctx, r.OrgID, ps, cm); err != nil {
			return s.refused(r, st, err)
		}
	}
	b.sends[r.OrgID] = append(b.sends[r.OrgID], ps)
	return result{next: d.next(st), outcome: "sent", send: ps}, nil
}

// composed is a send step's message made ready, or why it was not: the
// template did not render for the contact, the outbox refused the message
// (refused says whether the contact leaves or the batch fails), or the
// batch fails (err).
type composed struct {
	prep       *outbox.Prepared
	tracked    bool // the message used the step's link table
	unrendered bool
	refusal    error
	err        error
}

// compose renders, tracks and prepares one contact's message at a send
// step. It reads nothing of the batch's transaction and changes nothing of
// the batch, so a parallel batch's workers run it side by side; what a
// message that was not made means for the contact is the caller's.
func (s *Service) compose(ctx context.Context, b *batch, r *store.WorkflowRunRow, d *Definition, st *Step, c contact.Contact,
	compiled *template.Compiled) composed {
	campaign := CampaignID(r.WorkflowID, st.ID)
	tracker := s.deps.Tracker
	if !st.Tracked() {
		tracker = nil
	}
	var links template.Links
	var err error
	if tracker != nil {
		if links, err = tracker.Links(ctx, r.OrgID, campaign, r.ContactID); err != nil {
			return composed{err: err}
		}
	}
	data := template.NewData(templateContact(c), b.now, links)
	rendered, err := compiled.Render(&data)
	if err != nil {
		return composed{unrendered: true}
	}
	var headers map[string]string
	if tracker != nil {
		tracked, hdrs, err := tracker.Rewrite(ctx, r.OrgID, campaign, r.ContactID, rendered)
		if err != nil {
			return composed{err: fmt.Errorf("track: %w", err)}
		}
		headers = hdrs
		prep, err := s.prepareSend(ctx, r, d, st, c, tracked, headers)
		if err != nil {
			return composed{refusal: err}
		}
		if ds := prep.Decisions(); len(ds) == 1 && len(ds[0].Methods) > 0 && tracking.Enabled(ds[0].Methods[0]) {
			return composed{prep: prep, tracked: true}
		}
	}
	prep, err := s.prepareSend(ctx, r, d, st, c, rendered, headers)
	if err != nil {
		return composed{refusal: err}
	}
	return composed{prep: prep}
}

// accept takes a made message into the batch as ps: its sender checked
// (once per batch and address), its step's link table marked for saving.
func (b *batch) accept(ctx context.Context, org string, ps *pendingSend, cm composed) error {
	if err := b.senderAllowed(ctx, cm.prep, ps.from); err != nil {
		return err
	}
	ps.prep = cm.prep
	if cm.tracked {
		b.tracked[[2]string{org, CampaignID(ps.workflow, ps.step)}] = true
	}
	return nil
}

// prepareSend builds and decides one contact's message, keyed by run and
// step.
func (s *Service) prepareSend(ctx context.Context, r *store.WorkflowRunRow, d *Definition, st *Step, c contact.Contact,
	rendered template.Rendered, headers map[string]string) (*outbox.Prepared, error) {
	draft := &message.Draft{From: message.Address{Name: d.Sender.Name, Email: d.Sender.Address},
		To: []message.Address{{Email: c.Email}}, Subject: rendered.Subject, HTML: rendered.HTML, Text: rendered.Text, Headers: headers}
	if d.ReplyTo != "" {
		draft.ReplyTo = []message.Address{{Email: d.ReplyTo}}
	}
	key := IdempotencyKey(r.ID, st.ID)
	hash := sha256.Sum256([]byte(key))
	return s.deps.Mailer.PrepareOnce(ctx, outbox.Submission{OrgID: r.OrgID,
		Actor: audit.Actor{Type: audit.ActorSystem, ID: "workflow:" + r.WorkflowID}, Source: outbox.SourceWorkflow, Draft: draft,
		IdempotencyKey: key, RequestHash: hash[:], Tags: []string{"workflow"},
		Metadata: map[string]string{"workflow_id": r.WorkflowID, "step_id": st.ID, "run_id": r.ID, "contact_id": r.ContactID}})
}

// refused turns an outbox refusal of one contact's message (a sender
// domain no longer verified, a rendered part too large: validation that
// wrote nothing) into the contact leaving; any other error fails the
// batch.
func (s *Service) refused(r *store.WorkflowRunRow, st *Step, err error) (result, error) {
	var fe *message.FieldError
	var fes message.FieldErrors
	switch {
	case errors.As(err, &fes), errors.As(err, &fe):
		field := ""
		if fe != nil {
			field = fe.Field
		} else if len(fes) > 0 {
			field = fes[0].Field
		}
		s.opts.Log.Warn("workflow send refused by the outbox", "workflow_id", r.WorkflowID, "step_id", st.ID, "run_id", r.ID, "field", field)
		return result{exit: OutcomeSendFailed, outcome: "exited", detail: "refused by the outbox"}, nil
	}
	return result{}, err
}

// senderAllowed checks a sender domain once per batch.
func (b *batch) senderAllowed(ctx context.Context, p *outbox.Prepared, from string) error {
	k := [2]string{p.OrgID(), from}
	if err, ok := b.senders[k]; ok {
		return err
	}
	err := b.s.deps.Mailer.SenderAllowedTx(ctx, b.tx, p)
	var fe *message.FieldError
	if err == nil || errors.As(err, &fe) {
		b.senders[k] = err
	}
	return err
}

// flushSends writes the batch's messages, one CommitManyOnceTx per
// organization, and the step links their tracking added; each send's
// history row then names its message, and sends that were not already
// made (a batch run again) count on the step.
func (b *batch) flushSends(ctx context.Context) error {
	if b.work != nil {
		if err := b.join(ctx); err != nil {
			return err
		}
	}
	for k := range b.tracked {
		if err := b.s.deps.Tracker.Save(ctx, b.tx, k[0], k[1]); err != nil {
			return err
		}
	}
	for org, sends := range b.sends {
		ps := make([]*outbox.Prepared, len(sends))
		for i, p := range sends {
			ps[i] = p.prep
		}
		res, err := b.s.deps.Mailer.CommitManyOnceTx(ctx, b.tx, ps)
		if errors.Is(err, outbox.ErrRace) {
			return errRace
		}
		if err != nil {
			return fmt.Errorf("commit workflow messages: %w", err)
		}
		for i, p := range sends {
			if p.history >= 0 {
				b.history[p.history].Detail = res[i].MessageID
			}
			if !res[i].Duplicate {
				b.stat(org, p.workflow, p.step).Sends++
			}
		}
	}
	return nil
}

// templateContact is what a template sees of a contact.
func templateContact(c contact.Contact) template.Contact {
	fields := make(map[string]any, len(c.Fields))
	for k, v := range c.Fields {
		if v.Type == contact.TypeDate {
			fields[k] = template.DateOf(v.Date)
			continue
		}
		fields[k] = v.Any()
	}
	return template.Contact{ID: c.ID, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Phone: c.Phone,
		Timezone: c.Timezone, Locale: c.Locale, Fields: fields}
}

// errSequential rolls a parallel batch back to be run again in line: one
// of its messages did not come out as the batch went on expecting.
var errSequential = errors.New("workflow: a message of a parallel batch was not made; run the batch in line")

// async queues compose for ps on the batch's workers (Options.SendWorkers
// at most) without waiting: the engine goes on with the batch.
func (b *batch) async(ps *pendingSend, compose func() composed) {
	b.work.submit(func() {
		defer func() {
			if p := recover(); p != nil {
				ps.composed = composed{err: fmt.Errorf("workflow send: %v", p)}
			}
		}()
		ps.composed = compose()
	})
}

// join waits for the batch's messages — composing those still queued on
// the engine's goroutine — and accepts them as sendStep does in line, or
// answers errSequential when a message is not what the batch assumed: not
// made, or its sender refused.
func (b *batch) join(ctx context.Context) error {
	b.work.wait()
	for org, sends := range b.sends {
		for _, ps := range sends {
			cm := ps.composed
			if cm.err != nil || cm.unrendered || cm.refusal != nil {
				return errSequential
			}
			if err := b.accept(ctx, org, ps, cm); err != nil {
				var fe *message.FieldError
				if errors.As(err, &fe) {
					return errSequential
				}
				return err
			}
		}
	}
	return nil
}
