package tracking

import (
	"context"

	"github.com/carepost/carepost/internal/store"
)

// Count is one engagement figure: Total and Unique count people (Unique:
// distinct contacts), Machine the fetches classified as machines', which
// are in neither.
type Count struct {
	Total, Unique, Machine int64
}

// LinkCount is one link's clicks.
type LinkCount struct {
	Index int
	Count
}

// Report is a campaign's engagement, read from its counters in one query.
// It holds counts only: the campaign report adds delivery figures and
// applies the small-cell floor for viewers without phi:read.
type Report struct {
	Opens Count
	// Clicks over all links; Unique is the number of contacts who clicked.
	Clicks       Count
	Links        []LinkCount
	Unsubscribes int64
	Complaints   int64
}

// Report reads a campaign's engagement.
func (s *Service) Report(ctx context.Context, orgID, campaignID string) (Report, error) {
	rows, err := store.TrackingCountersOf(ctx, s.deps.DB.Reader(), orgID, campaignID)
	if err != nil {
		return Report{}, err
	}
	var r Report
	for _, c := range rows {
		n := Count{Total: c.Total, Unique: c.Unique, Machine: c.Machine}
		switch {
		case c.Kind == "open":
			r.Opens = n
		case c.Kind == "click" && c.Index < 0:
			r.Clicks = n
		case c.Kind == "click":
			r.Links = append(r.Links, LinkCount{Index: c.Index, Count: n})
		case c.Kind == "unsubscribe":
			r.Unsubscribes = c.Total
		case c.Kind == "complaint":
			r.Complaints = c.Total
		}
	}
	return r, nil
}
