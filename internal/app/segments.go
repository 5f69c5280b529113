package app

import (
	"context"
	"errors"

	"github.com/carepost/carepost/internal/campaign"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/workflow"
)

// segmentSeam is workflow.Segments over package segment: branch
// conditions and filters ask segment.Contains, add_to_segment is
// segment.AddStatic (whose observer, the workflow engine, hears the
// contact entered in the step's transaction: openMarketing wires it), and
// the "all contacts of a segment" trigger pages segment.MembersAfter. The
// segment service is read through the app because the engine is built
// before it (openWorkflows runs before openMarketing).
type segmentSeam struct{ a *App }

var _ workflow.Segments = segmentSeam{}

func (s segmentSeam) Contains(ctx context.Context, orgID, segmentID, contactID string) (bool, error) {
	return s.a.Segments.Contains(ctx, orgID, segmentID, contactID)
}

func (s segmentSeam) AddStatic(ctx context.Context, tx *store.Tx, orgID, segmentID string, contactIDs []string) error {
	return s.a.Segments.AddStatic(ctx, tx, orgID, segmentID, contactIDs)
}

func (s segmentSeam) Exists(ctx context.Context, orgID, segmentID string) (bool, error) {
	_, err := store.GetSegment(ctx, s.a.DB.Reader(), orgID, segmentID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Members reads one page: the stream starts after the cursor and stops
// at the limit, so a long segment is read once over all its pages.
func (s segmentSeam) Members(ctx context.Context, orgID, segmentID, after string, limit int) ([]string, error) {
	out := make([]string, 0, min(limit, 1024))
	for id, err := range s.a.Segments.MembersAfter(ctx, orgID, segmentID, after) {
		if err != nil {
			return nil, err
		}
		out = append(out, id)
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}

// campaignSegments is campaign.Segments over package segment: a campaign's
// segment audience streams segment.MembersAfter (ascending contact ids,
// so an interrupted prepare resumes after its cursor). The campaign
// applies consent, subscription and suppression itself.
type campaignSegments struct{ a *App }

var _ campaign.Segments = campaignSegments{}

func (c campaignSegments) Members(ctx context.Context, orgID, segmentID, after string, fn func(contactID string) error) error {
	for id, err := range c.a.Segments.MembersAfter(ctx, orgID, segmentID, after) {
		if err != nil {
			return err
		}
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

func (c campaignSegments) Exists(ctx context.Context, orgID, segmentID string) error {
	_, err := store.GetSegment(ctx, c.a.DB.Reader(), orgID, segmentID)
	return err
}
