package workflow

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// Segments is what workflows need of segments: membership for branch
// conditions and filters, static membership for add_to_segment, and the
// members of a segment for the "all contacts of a segment" trigger.
//
// The seam: package segment implements it (Contains and AddStatic are
// its API; Members pages a segment's current members). Until it is
// wired, ListSegments stands in, treating a contact list as a static
// segment. Whichever implementation is used, whoever changes a segment's
// membership calls Service.SegmentEntered in the same transaction for
// contacts that entered it, so segment_in triggers start (ListSegments
// does so for AddStatic).
type Segments interface {
	Contains(ctx context.Context, orgID, segmentID, contactID string) (bool, error)
	// AddStatic adds contacts to a static segment in tx (a batch's
	// add_to_segment steps for one segment, together).
	AddStatic(ctx context.Context, tx *store.Tx, orgID, segmentID string, contactIDs []string) error
	// Exists reports whether the organization has the segment.
	Exists(ctx context.Context, orgID, segmentID string) (bool, error)
	// Members returns a page of the segment's member contact ids after
	// the cursor (a contact id; "" first), in id order.
	Members(ctx context.Context, orgID, segmentID, after string, limit int) ([]string, error)
}

// ListSegments is Segments over contact lists: a segment id is a list id,
// membership is being subscribed to the list. It is the stand-in until
// package segment provides static and dynamic segments.
type ListSegments struct {
	DB *store.DB
	// Entered is told about contacts AddStatic adds (Service.SegmentEntered).
	Entered func(ctx context.Context, tx *store.Tx, orgID, segmentID string, contactIDs []string) error
	// Joined is told too: adding to the list is joining it.
	Joined func(ctx context.Context, tx *store.Tx, orgID, listID string, contactIDs []string) error
	// Clock stamps memberships. Default time.Now.
	Clock func() time.Time
}

var _ Segments = (*ListSegments)(nil)

// Contains reports whether the contact is subscribed to the list.
func (l *ListSegments) Contains(ctx context.Context, orgID, segmentID, contactID string) (bool, error) {
	m, err := store.ContactMemberships(ctx, l.DB.Reader(), orgID, []string{contactID})
	if err != nil {
		return false, err
	}
	return m[contactID][segmentID] == "subscribed", nil
}

// AddStatic subscribes the contacts to the list in tx, and tells Entered
// and Joined about those that were not members yet.
func (l *ListSegments) AddStatic(ctx context.Context, tx *store.Tx, orgID, segmentID string, contactIDs []string) error {
	m, err := store.ContactMemberships(ctx, tx, orgID, contactIDs)
	if err != nil {
		return err
	}
	var ids []string
	for _, id := range contactIDs {
		if m[id][segmentID] != "subscribed" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if err := store.ContactListExists(ctx, tx, orgID, segmentID); err != nil {
		return err
	}
	if err := store.SetListMembers(ctx, tx, orgID, segmentID, ids, "subscribed", l.now()); err != nil {
		return err
	}
	if l.Joined != nil {
		if err := l.Joined(ctx, tx, orgID, segmentID, ids); err != nil {
			return err
		}
	}
	if l.Entered != nil {
		return l.Entered(ctx, tx, orgID, segmentID, ids)
	}
	return nil
}

func (l *ListSegments) now() time.Time {
	if l.Clock != nil {
		return l.Clock()
	}
	return time.Now()
}

// Exists reports whether the organization has the list.
func (l *ListSegments) Exists(ctx context.Context, orgID, segmentID string) (bool, error) {
	return listExists(ctx, l.DB.Reader(), orgID, segmentID)
}

// listExists is store.ContactListExists as a yes or no.
func listExists(ctx context.Context, q store.Querier, orgID, listID string) (bool, error) {
	err := store.ContactListExists(ctx, q, orgID, listID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Members pages the list's subscribed members.
func (l *ListSegments) Members(ctx context.Context, orgID, segmentID, after string, limit int) ([]string, error) {
	var out []string
	for len(out) < limit {
		page, err := store.ListMembers(ctx, l.DB.Reader(), orgID, segmentID, after, limit)
		if err != nil {
			return nil, err
		}
		for _, m := range page {
			if m.State == "subscribed" {
				out = append(out, m.ContactID)
			}
		}
		if len(page) < limit {
			break
		}
		after = page[len(page)-1].ContactID
	}
	return out, nil
}

// Forms is the seam for the forms product (planned): it calls
// Service.FormSubmitted in the transaction that stores a submission, which
// starts form-triggered workflows and wakes contacts waiting for that form.
// Nothing else is needed from it.
