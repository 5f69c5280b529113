package app

import (
	"fmt"

	"github.com/riverqueue/river"

	"github.com/carepost/carepost/internal/blindindex"
	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webhook"
)

// openMessaging wires the sending pipeline's shared parts: group commit,
// the blind index, delivery, the job client (with every worker), webhooks,
// events and the outbox.
func (a *App) openMessaging(opts Options) error {
	a.Index = blindindex.New(a.Blobs)
	a.Committer = store.NewCommitter(a.DB, store.CommitterOptions{})
	a.openContacts()
	a.openCampaigns(opts.Campaign)
	a.openWorkflows()
	if err := a.openDelivery(opts); err != nil {
		return fmt.Errorf("delivery: %w", err)
	}
	whOpts := webhook.Options{Allow: a.Config.Webhooks.Allow, AllowHTTP: a.Config.Webhooks.AllowHTTP,
		Logger: a.Log.With("component", "webhook")}
	whWorker, err := webhook.NewWorker(a.DB, a.Keys, whOpts)
	if err != nil {
		return fmt.Errorf("webhook worker: %w", err)
	}
	a.openPortal()
	a.Jobs, err = a.newJobs(func(w *river.Workers) {
		river.AddWorker(w, whWorker)
		a.Delivery.Register(w)
		a.Portal.Register(w)
		a.Campaigns.Register(w)
	}, append(append(a.Delivery.PeriodicJobs(), a.Portal.PeriodicJobs()...), a.Campaigns.PeriodicJobs()...)...)
	if err != nil {
		return err
	}
	a.Webhooks, err = webhook.New(a.DB, a.Keys, a.Jobs, whOpts)
	if err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	a.Events = event.New(a.Webhooks, a.Clock)
	a.Keys.Register(store.MessagesTable())
	a.Keys.Register(store.RecipientsTable())
	a.openPolicy()
	a.Outbox = outbox.New(outbox.Deps{DB: a.DB, Committer: a.Committer, Keys: a.Keys, Index: a.Index, Audit: a.Audit,
		Events: a.Events, Domains: a.Domains, Scheduler: a.Delivery, Policy: a.Policy, Portal: a.Portal},
		outbox.Options{Clock: a.Clock, Lifetime: a.Config.Delivery.Lifetime.Duration()})
	a.Delivery.Bind(a.Jobs, a.Events, a.Outbox)
	a.Portal.Bind(a.Events, a.Outbox)
	if err := a.openTracking(); err != nil {
		return err
	}
	a.bindWorkflows()
	return a.bindCampaigns()
}
