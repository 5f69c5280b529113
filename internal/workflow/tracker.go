package workflow

import (
	"context"
	"errors"
	"sync"

	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/template"
	"github.com/carepost/carepost/internal/tracking"
)

// MethodFunc is the delivery method policy chooses for a message to a
// recipient (the first of its methods): tracking is added only when
// tracking.Enabled allows it, so portal-delivered and end-to-end encrypted
// mail is never tracked.
type MethodFunc func(ctx context.Context, orgID, from, to string, r template.Rendered) (policy.Level, error)

// TrackingTracker is Tracker over package tracking: one link table per
// workflow step (CampaignID), shared by every contact.
type TrackingTracker struct {
	service *tracking.Service
	method  MethodFunc

	mu     sync.Mutex
	tables map[string]*tracking.LinkTable // org + campaign → table
}

var _ Tracker = (*TrackingTracker)(nil)

// NewTrackingTracker tracks through svc, deciding with method.
func NewTrackingTracker(svc *tracking.Service, method MethodFunc) *TrackingTracker {
	return &TrackingTracker{service: svc, method: method, tables: map[string]*tracking.LinkTable{}}
}

// Ready creates the organization's tracking key if it has none.
func (t *TrackingTracker) Ready(ctx context.Context, orgID string) error {
	_, err := t.service.Issuer(ctx, orgID)
	return err
}

// Links are the contact's unsubscribe and preference links.
func (t *TrackingTracker) Links(ctx context.Context, orgID, campaignID, contactID string) (template.Links, error) {
	iss, err := t.service.Issuer(ctx, orgID)
	if err != nil {
		return template.Links{}, err
	}
	rc := tracking.Recipient{Issuer: iss, CampaignID: campaignID, ContactID: contactID}
	return template.Links{Unsubscribe: rc.UnsubscribeURL(), Preferences: rc.PreferencesURL()}, nil
}

// Track rewrites links and adds the pixel when the method allows, and
// always returns the list-unsubscribe headers (RFC 8058).
func (t *TrackingTracker) Track(ctx context.Context, tx *store.Tx, orgID, campaignID, contactID, from, to string, r template.Rendered) (template.Rendered, map[string]string, error) {
	iss, err := t.service.Issuer(ctx, orgID)
	if err != nil {
		return r, nil, err
	}
	method, err := t.method(ctx, orgID, from, to, r)
	if err != nil {
		return r, nil, err
	}
	rc := tracking.Recipient{Issuer: iss, CampaignID: campaignID, ContactID: contactID, Method: method}
	headers, err := rc.Headers()
	if err != nil {
		return r, nil, err
	}
	if !tracking.Enabled(method) {
		return r, headers, nil
	}
	table, err := t.table(ctx, orgID, campaignID)
	if err != nil {
		return r, nil, err
	}
	if r.HTML != "" {
		if r.HTML, err = tracking.Rewrite(r.HTML, rc, table); err != nil {
			return r, nil, err
		}
	}
	if r.Text != "" {
		if r.Text, err = tracking.RewriteText(r.Text, rc, table); err != nil {
			return r, nil, err
		}
	}
	if err := t.service.SaveLinks(ctx, tx, orgID, table); err != nil {
		if errors.Is(err, tracking.ErrLinkConflict) {
			// Another node numbered a link first: reload and run again.
			t.mu.Lock()
			delete(t.tables, orgID+"/"+campaignID)
			t.mu.Unlock()
			return r, nil, errRace
		}
		return r, nil, err
	}
	return r, headers, nil
}

func (t *TrackingTracker) table(ctx context.Context, orgID, campaignID string) (*tracking.LinkTable, error) {
	k := orgID + "/" + campaignID
	t.mu.Lock()
	tab, ok := t.tables[k]
	t.mu.Unlock()
	if ok {
		return tab, nil
	}
	tab, err := t.service.LinkTable(ctx, orgID, campaignID)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if have, ok := t.tables[k]; ok {
		return have, nil
	}
	t.tables[k] = tab
	return tab, nil
}
