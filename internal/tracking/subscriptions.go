package tracking

import (
	"context"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// Subscriptions is where unsubscribes go: package contact keeps each
// contact's state per list and implements it. Every method is idempotent.
// listID "" means all of the organization's marketing mail.
type Subscriptions interface {
	Unsubscribe(ctx context.Context, orgID, contactID, listID, source string) error
	Resubscribe(ctx context.Context, orgID, contactID, listID, source string) error
	// Lists returns the lists the contact can be on, with its state in
	// each, for the preference page.
	Lists(ctx context.Context, orgID, contactID string) ([]List, error)
}

// List is one list on the preference page. Name may be empty (the page
// then describes it as "this mailing list").
type List struct {
	ID         string
	Name       string
	Subscribed bool
}

// Sources of an unsubscribe, recorded with it.
const (
	SourceOneClick    = "one-click"   // RFC 8058 POST from the mail client
	SourcePage        = "page"        // the button on the unsubscribe page
	SourcePreferences = "preferences" // the preference page
	SourceComplaint   = "complaint"   // a spam complaint (feedback loop)
)

// Local keeps subscription state in carepost's own table
// (tracking_subscriptions). It stands in until package contact implements
// Subscriptions, and it is what the campaign engine reads then too
// (Subscribed) — so an unsubscribe is honoured either way.
type Local struct {
	db    *store.DB
	clock func() time.Time
}

var _ Subscriptions = (*Local)(nil)

// NewLocal returns the table-backed Subscriptions.
func NewLocal(db *store.DB, clock func() time.Time) *Local {
	if clock == nil {
		clock = time.Now
	}
	return &Local{db: db, clock: clock}
}

func (l *Local) put(ctx context.Context, orgID, contactID, listID, source string, subscribed bool) error {
	return l.db.Tx(ctx, func(tx *store.Tx) error {
		return store.PutSubscription(ctx, tx, store.SubscriptionRow{OrgID: orgID, ContactID: contactID, ListID: listID,
			Subscribed: subscribed, Source: source, UpdatedAt: l.clock()})
	})
}

// Unsubscribe records that the contact left the list.
func (l *Local) Unsubscribe(ctx context.Context, orgID, contactID, listID, source string) error {
	return l.put(ctx, orgID, contactID, listID, source, false)
}

// Resubscribe records that the contact chose the list again.
func (l *Local) Resubscribe(ctx context.Context, orgID, contactID, listID, source string) error {
	return l.put(ctx, orgID, contactID, listID, source, true)
}

// Lists returns the lists the contact has a recorded state for, without
// names (the table knows ids only).
func (l *Local) Lists(ctx context.Context, orgID, contactID string) ([]List, error) {
	rows, err := store.SubscriptionsOf(ctx, l.db.Reader(), orgID, contactID)
	if err != nil {
		return nil, err
	}
	out := make([]List, 0, len(rows))
	for _, r := range rows {
		out = append(out, List{ID: r.ListID, Subscribed: r.Subscribed})
	}
	return out, nil
}

// Subscribed reports whether the contact may get mail sent to listID: not
// unsubscribed from it, nor from all marketing mail.
func (l *Local) Subscribed(ctx context.Context, orgID, contactID, listID string) (bool, error) {
	rows, err := store.SubscriptionsOf(ctx, l.db.Reader(), orgID, contactID)
	if err != nil {
		return false, err
	}
	for _, r := range rows {
		if (r.ListID == "" || r.ListID == listID) && !r.Subscribed {
			return false, nil
		}
	}
	return true, nil
}
