package app

import (
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
		workflow.Options{Clock: a.Clock, Log: a.Log.With("component", "workflow"),
			SmallCellFloor: a.Config.Marketing.SmallCellFloor})
	a.Contacts.Observe(a.Workflows)
}

// bindWorkflows hands the engine the outbox, events, jobs and tracking,
// and makes it an observer of events (opens and clicks of its mail).
func (a *App) bindWorkflows() {
	a.Workflows.Bind(a.Outbox, a.Events, a.Jobs)
	a.Events.Observe(a.Workflows.ObserveEvent)
	// The app's tracking (openTracking), so workflow mail carries the links
	// and pixel the tracking handlers serve.
	a.Workflows.SetTracker(workflow.NewTrackingTracker(a.Tracking))
}
