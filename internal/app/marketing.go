package app

import (
	"github.com/carepost/carepost/internal/segment"
)

// openMarketing builds segments on the contacts, which openMessaging built
// (templates come with the campaigns, openCampaigns; tracking with the
// messaging, openTracking), and lets static segment adds start workflows.
func (a *App) openMarketing() error {
	a.Segments = segment.New(segment.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Contacts: a.Contacts},
		segment.Options{Clock: a.Clock, Floor: a.Config.Marketing.SmallCellFloor, Log: a.Log.With("component", "segment")})
	a.Segments.Observe(a.Workflows) // static adds (API, add_to_segment) start segment_in workflows
	a.Campaigns.BindSegments(campaignSegments{a})
	return nil
}
