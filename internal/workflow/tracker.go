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

// TrackingTracker is Tracker over package tracking: one link table per
// workflow step (CampaignID), shared by every contact.
type TrackingTracker struct {
	service *tracking.Service

	mu     sync.Mutex
	tables map[string]*tracking.LinkTable // org + campaign → table
}

var _ Tracker = (*TrackingTracker)(nil)

// NewTrackingTracker tracks through svc.
func NewTrackingTracker(svc *tracking.Service) *TrackingTracker {
	return &TrackingTracker{service: svc, tables: map[string]*tracking.LinkTable{}}
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

// Rewrite adds the open pixel and click redirects (new links go into
// the step's table, saved by Save), and returns the list-unsubscribe
// headers (RFC 8058).
func (t *TrackingTracker) Rewrite(ctx context.Context, orgID, campaignID, contactID string, r template.Rendered) (template.Rendered, map[string]string, error) {
	iss, err := t.service.Issuer(ctx, orgID)
	if err != nil {
		return r, nil, err
	}
	rc := tracking.Recipient{Issuer: iss, CampaignID: campaignID, ContactID: contactID, Method: policy.VerifiedTLS}
	headers, err := rc.Headers()
	if err != nil {
		return r, nil, err
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
	return r, headers, nil
}

// Save writes the step's new links in tx. A link another node numbered
// first is errRace: the table is reloaded, and the batch runs again.
func (t *TrackingTracker) Save(ctx context.Context, tx *store.Tx, orgID, campaignID string) error {
	table, err := t.table(ctx, orgID, campaignID)
	if err != nil {
		return err
	}
	if err := t.service.SaveLinks(ctx, tx, orgID, table); err != nil {
		if errors.Is(err, tracking.ErrLinkConflict) {
			t.mu.Lock()
			delete(t.tables, orgID+"/"+campaignID)
			t.mu.Unlock()
			return errRace
		}
		return err
	}
	return nil
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
