package app

import (
	"context"

	"github.com/carepost/carepost/internal/campaign"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/template"
)

// openCampaigns builds the template service on the organization's contact
// fields (which say what is PHI, for the lint) and the campaign engine; its
// workers join the job client in newJobs. The parts built after the job
// client are bound in bindCampaigns.
func (a *App) openCampaigns(edit func(*campaign.Options)) {
	fields := contactFields{a.Contacts}
	a.Templates = template.New(template.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Fields: fields}, template.Options{Clock: a.Clock})
	opts := campaign.Options{Clock: a.Clock, Log: a.Log.With("component", "campaign"), SmallCellFloor: a.Config.Marketing.SmallCellFloor}
	if edit != nil {
		edit(&opts)
	}
	a.Campaigns = campaign.New(campaign.Deps{DB: a.DB, Committer: a.Committer, Audit: a.Audit, Contacts: a.Contacts,
		Templates: a.Templates, Fields: fields, Domains: a.Domains, Keys: keydirLookup{a}}, opts)
}

// bindCampaigns gives the campaign engine the job client, the outbox and
// the app's tracking (openTracking).
func (a *App) bindCampaigns() error {
	a.Campaigns.Bind(a.Jobs, a.Outbox, a.Tracking)
	return nil
}

// contactFields gives the template lint the organization's field set from
// package contact: built-ins are PHI, custom fields as defined.
type contactFields struct{ c *contact.Service }

func (f contactFields) FieldSet(ctx context.Context, orgID string) (template.FieldSet, error) {
	sch, err := f.c.Schema(ctx, orgID)
	if err != nil {
		return nil, err
	}
	fs := template.FieldSet{}
	for _, fd := range sch.Fields {
		fs[fd.Key] = fd.PHI
	}
	return fs, nil
}
