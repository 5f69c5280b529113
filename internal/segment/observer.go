package segment

import (
	"context"

	"github.com/carepost/carepost/internal/store"
)

// Observer hears about contacts entering a segment, inside the
// transaction that records it (AddStatic and AddMembers for a static
// segment, Sweep for a watched dynamic one), so what it does (a workflow
// enrolling them) commits with the membership or not at all.
// Package workflow implements it (Service.SegmentEntered). It must not
// open transactions of its own.
type Observer interface {
	SegmentEntered(ctx context.Context, tx *store.Tx, orgID, segmentID string, contactIDs []string) error
}

// Observe sets the service's observer (nil: none). Call it during wiring,
// before the service is used.
func (s *Service) Observe(o Observer) { s.observer = o }

// notifyEntered tells the observer about contacts that were not members
// before.
func (s *Service) notifyEntered(ctx context.Context, tx *store.Tx, orgID, segmentID string, contactIDs []string) error {
	if s.observer == nil || len(contactIDs) == 0 {
		return nil
	}
	return s.observer.SegmentEntered(ctx, tx, orgID, segmentID, contactIDs)
}
