package app

import (
	"context"
	"strings"

	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/template"
	"github.com/carepost/carepost/internal/tracking"
	"github.com/carepost/carepost/internal/workflow"
)

// openWorkflows builds the workflow engine on contacts and templates, and
// makes it the contacts' observer (events and list joins start and wake
// journeys in the contact change's transaction). Its workers join the job
// client in newJobs; the outbox, events and job client are bound once
// they exist (bindWorkflows).
func (a *App) openWorkflows() {
	// The engine compiles and caches the versions it sends with its own
	// template service over the shared store (versions are immutable).
	tpl := template.New(template.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Fields: workflowFields{a}},
		template.Options{Clock: a.Clock})
	a.Workflows = workflow.New(workflow.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Contacts: a.Contacts, Templates: tpl},
		workflow.Options{Clock: a.Clock, Log: a.Log.With("component", "workflow")})
	a.Contacts.Observe(a.Workflows)
}

// bindWorkflows hands the engine the outbox, events and jobs, makes it an
// observer of events (opens and clicks of its mail), and turns tracking on
// when the public URL allows tracking links.
func (a *App) bindWorkflows() {
	a.Workflows.Bind(a.Outbox, a.Events, a.Jobs)
	a.Events.Observe(a.Workflows.ObserveEvent)
	if !strings.HasPrefix(a.Config.HTTP.PublicURL, "http") {
		return
	}
	tr, err := tracking.New(tracking.Deps{DB: a.DB, Keys: a.Keys, Blobs: a.Blobs, Committer: a.Committer, Events: a.Events,
		Log: a.Log.With("component", "tracking")}, tracking.Options{BaseURL: a.Config.HTTP.PublicURL, Clock: a.Clock})
	if err != nil {
		a.Log.Warn("workflow mail is sent untracked", "err", err)
		return
	}
	a.Workflows.SetTracker(workflow.NewTrackingTracker(tr, a.trackingMethod))
}

// trackingMethod is the first delivery method policy gives a workflow
// message to a recipient, decided on the untracked content exactly as the
// outbox will decide it (tracking links carry no PHI).
func (a *App) trackingMethod(ctx context.Context, orgID, from, to string, r template.Rendered) (policy.Level, error) {
	d := message.Draft{From: message.Address{Email: from}, To: []message.Address{{Email: to}}, Subject: r.Subject, HTML: r.HTML, Text: r.Text}
	raw, err := message.Build(d, message.BuildOptions{Date: a.Clock()})
	if err != nil {
		return "", err
	}
	parsed, _ := message.Inspect(raw, message.Limits{})
	ev, err := a.Policy.Evaluate(ctx, policy.Message{OrgID: orgID, From: from, Parsed: parsed})
	if err != nil {
		return "", err
	}
	dec, err := ev.Decide(ctx, to)
	if err != nil || len(dec.Methods) == 0 {
		return "", err
	}
	return dec.Methods[0], nil
}

// workflowFields is the organization's field set for the PHI lint of
// templates the engine compiles.
type workflowFields struct{ a *App }

func (f workflowFields) FieldSet(ctx context.Context, orgID string) (template.FieldSet, error) {
	return f.a.Workflows.FieldSet(ctx, orgID)
}
