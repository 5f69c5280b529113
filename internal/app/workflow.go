package app

import (
	"context"

	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/template"
	"github.com/carepost/carepost/internal/workflow"
)

// openWorkflows builds the workflow engine on contacts and templates, and
// makes it the contacts' observer (events and list joins start and wake
// journeys in the contact change's transaction). Its workers join the job
// client in newJobs; the outbox, events and job client are bound once
// they exist (bindWorkflows).
func (a *App) openWorkflows() {
	// The templates are the app's one service (openCampaigns built it; the
	// API uses it too): the engine sends with its compiled-version cache.
	a.Workflows = workflow.New(workflow.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Contacts: a.Contacts, Templates: a.Templates, Segments: segmentSeam{a}},
		workflow.Options{Clock: a.Clock, Log: a.Log.With("component", "workflow")})
	a.Contacts.Observe(a.Workflows)
}

// bindWorkflows hands the engine the outbox, events, jobs and tracking,
// and makes it an observer of events (opens and clicks of its mail).
func (a *App) bindWorkflows() {
	a.Workflows.Bind(a.Outbox, a.Events, a.Jobs)
	a.Events.Observe(a.Workflows.ObserveEvent)
	// The app's tracking (openTracking), so workflow mail carries the links
	// and pixel the tracking handlers serve.
	a.Workflows.SetTracker(workflow.NewTrackingTracker(a.Tracking, a.trackingMethod))
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
