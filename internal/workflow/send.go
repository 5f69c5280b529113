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
	// Track rewrites the rendered message (pixel, click redirects) when
	// the contact's delivery method allows tracking, saving new links in
	// tx, and returns the headers to add (List-Unsubscribe).
	Track(ctx context.Context, tx *store.Tx, orgID, campaignID, contactID, from, to string, r template.Rendered) (template.Rendered, map[string]string, error)
}

// CampaignID is the tracking campaign of a workflow's send step: opens and
// clicks of its email carry it in their events.
func CampaignID(workflowID, stepID string) string { return workflowID + ":" + stepID }

// IdempotencyKey is the outbox key of the message a run sends at a step:
// a step is visited once per run, so the key makes the send exactly once
// even when the same batch is executed again.
func IdempotencyKey(runID, stepID string) string { return "wf:" + runID + ":" + stepID }

// sendStep renders the step's template for the contact and submits it
// through the outbox in the batch's transaction, after checking, at this
// step and not only at enrolment, that the contact may receive it:
// subscribed, not suppressed, and — when the workflow requires consent —
// with a valid marketing authorization.
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
	campaign := CampaignID(r.WorkflowID, st.ID)
	tracker := s.deps.Tracker
	if !st.Tracked() {
		tracker = nil
	}
	var links template.Links
	if tracker != nil {
		if links, err = tracker.Links(ctx, r.OrgID, campaign, r.ContactID); err != nil {
			return result{}, err
		}
	}
	data := template.NewData(templateContact(c), b.now, links)
	rendered, err := compiled.Render(&data)
	if err != nil {
		s.opts.Log.Warn("workflow send: the template does not render for a contact", "workflow_id", r.WorkflowID, "step_id", st.ID, "run_id", r.ID)
		return result{exit: OutcomeSendFailed, outcome: "exited", detail: "the template did not render"}, nil
	}
	var headers map[string]string
	if tracker != nil {
		if rendered, headers, err = tracker.Track(ctx, b.tx, r.OrgID, campaign, r.ContactID, d.Sender.Address, c.Email, rendered); err != nil {
			if errors.Is(err, errRace) {
				return result{}, errRace
			}
			return result{}, fmt.Errorf("track: %w", err)
		}
	}
	draft := &message.Draft{From: message.Address{Name: d.Sender.Name, Email: d.Sender.Address},
		To: []message.Address{{Email: c.Email}}, Subject: rendered.Subject, HTML: rendered.HTML, Text: rendered.Text, Headers: headers}
	if d.ReplyTo != "" {
		draft.ReplyTo = []message.Address{{Email: d.ReplyTo}}
	}
	key := IdempotencyKey(r.ID, st.ID)
	hash := sha256.Sum256([]byte(key))
	res, err := s.deps.Mailer.SubmitOnceTx(ctx, b.tx, outbox.Submission{OrgID: r.OrgID,
		Actor: audit.Actor{Type: audit.ActorSystem, ID: "workflow:" + r.WorkflowID}, Source: outbox.SourceWorkflow, Draft: draft,
		IdempotencyKey: key, RequestHash: hash[:], Tags: []string{"workflow"},
		Metadata: map[string]string{"workflow_id": r.WorkflowID, "step_id": st.ID, "run_id": r.ID, "contact_id": r.ContactID}})
	var fe *message.FieldError
	var fes message.FieldErrors
	switch {
	case errors.Is(err, outbox.ErrRace):
		return result{}, errRace
	case errors.As(err, &fes), errors.As(err, &fe):
		// The message was refused before anything was written (a sender
		// domain no longer verified, a rendered part too large): this
		// contact leaves; the batch goes on.
		field := ""
		if fe != nil {
			field = fe.Field
		} else if len(fes) > 0 {
			field = fes[0].Field
		}
		s.opts.Log.Warn("workflow send refused by the outbox", "workflow_id", r.WorkflowID, "step_id", st.ID, "run_id", r.ID, "field", field)
		return result{exit: OutcomeSendFailed, outcome: "exited", detail: "refused by the outbox"}, nil
	case err != nil:
		return result{}, err
	}
	if !res.Duplicate {
		b.stat(r.OrgID, r.WorkflowID, st.ID).Sends++
	}
	return result{next: d.next(st), outcome: "sent", detail: res.MessageID}, nil
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
