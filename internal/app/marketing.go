package app

import (
	"github.com/carepost/carepost/internal/segment"
)

// openMarketing builds segments on the contacts (templates come with the
// campaigns, openCampaigns; tracking with the messaging, openTracking)
// (openMessaging built them and the event recorder).
func (a *App) openMarketing() error {
	a.Segments = segment.New(segment.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Contacts: a.Contacts},
		segment.Options{Clock: a.Clock, Floor: a.Config.Marketing.SmallCellFloor, Log: a.Log.With("component", "segment")})
	return nil
}
