package contact

import (
	"context"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// Observer hears about changes to contacts inside the transaction that
// makes them, so what it does (a workflow enrolling or waking the contact)
// commits with the change or not at all. Package workflow implements it.
// It must not open transactions of its own.
type Observer interface {
	// ContactEvent: a custom event was recorded.
	ContactEvent(ctx context.Context, tx *store.Tx, orgID, contactID, name, eventID string, at time.Time) error
	// ListJoined: contacts were subscribed to a list.
	ListJoined(ctx context.Context, tx *store.Tx, orgID, listID string, contactIDs []string) error
	// ContactsChanged: existing contacts' values were written (an update,
	// a bulk upsert, an import row), so conditions on them may have become
	// true.
	ContactsChanged(ctx context.Context, tx *store.Tx, orgID string, contactIDs []string) error
}

// Observe sets the service's observer (nil: none). Call it during wiring,
// before the service is used.
func (s *Service) Observe(o Observer) { s.observer = o }

func (s *Service) notifyEvent(ctx context.Context, tx *store.Tx, orgID, contactID, name, eventID string, at time.Time) error {
	if s.observer == nil {
		return nil
	}
	return s.observer.ContactEvent(ctx, tx, orgID, contactID, name, eventID, at)
}

func (s *Service) notifyJoined(ctx context.Context, tx *store.Tx, orgID, listID string, contactIDs []string) error {
	if s.observer == nil || len(contactIDs) == 0 {
		return nil
	}
	return s.observer.ListJoined(ctx, tx, orgID, listID, contactIDs)
}

func (s *Service) notifyChanged(ctx context.Context, tx *store.Tx, orgID string, contactIDs []string) error {
	if s.observer == nil || len(contactIDs) == 0 {
		return nil
	}
	return s.observer.ContactsChanged(ctx, tx, orgID, contactIDs)
}
