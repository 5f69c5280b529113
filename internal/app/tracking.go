package app

import (
	"context"
	"fmt"
	"net/http"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/tracking"
)

// openTracking builds engagement tracking on the public URL, with
// unsubscribes kept by package contact (contactSubscriptions).
func (a *App) openTracking() error {
	subs := contactSubscriptions{contacts: a.Contacts, local: tracking.NewLocal(a.DB, a.Clock)}
	t, err := tracking.New(tracking.Deps{DB: a.DB, Keys: a.Keys, Blobs: a.Blobs, Committer: a.Committer, Events: a.Events,
		Subscriptions: subs, Log: a.Log.With("component", "tracking")}, tracking.Options{BaseURL: a.Config.HTTP.PublicURL, Clock: a.Clock})
	if err != nil {
		return fmt.Errorf("tracking: %w", err)
	}
	a.Tracking = t
	return nil
}

// mountTracking serves the open pixel, click redirects, unsubscribe and
// preference pages (/t/…, /u/…).
func (a *App) mountTracking(mux *http.ServeMux) { a.Tracking.Mount(mux) }

// contactSubscriptions is tracking.Subscriptions on package contact: an
// unsubscribe from all marketing mail sets the contact's status, from a
// list the list membership; a complaint marks the contact complained and
// suppresses the address. Each change is also written to tracking's own
// table (tracking.Local), which Local.Subscribed reads, so a reader of
// either sees it.
type contactSubscriptions struct {
	contacts *contact.Service
	local    *tracking.Local
}

var _ tracking.Subscriptions = contactSubscriptions{}

func (c contactSubscriptions) Unsubscribe(ctx context.Context, orgID, contactID, listID, source string) error {
	var err error
	if source == tracking.SourceComplaint {
		err = c.contacts.Complain(ctx, orgID, contactID, source)
	} else {
		err = c.contacts.Unsubscribe(ctx, orgID, contactID, listID, source)
	}
	if err != nil {
		return err
	}
	return c.local.Unsubscribe(ctx, orgID, contactID, listID, source)
}

func (c contactSubscriptions) Resubscribe(ctx context.Context, orgID, contactID, listID, source string) error {
	if err := c.contacts.Resubscribe(ctx, orgID, contactID, listID, source); err != nil {
		return err
	}
	return c.local.Resubscribe(ctx, orgID, contactID, listID, source)
}

func (c contactSubscriptions) Lists(ctx context.Context, orgID, contactID string) ([]tracking.List, error) {
	subs, err := c.contacts.Subscriptions(ctx, orgID, contactID)
	if err != nil {
		return nil, err
	}
	out := make([]tracking.List, 0, len(subs))
	for _, s := range subs {
		out = append(out, tracking.List{ID: s.ListID, Name: s.Name, Subscribed: s.Subscribed})
	}
	return out, nil
}
