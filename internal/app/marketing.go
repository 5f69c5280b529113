package app

import (
	"context"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/segment"
	"github.com/carepost/carepost/internal/template"
)

// openMarketing builds segments and tracking on the contacts (templates
// come with the workflows, openWorkflows)
// (openMessaging built them and the event recorder).
func (a *App) openMarketing() error {
	a.Segments = segment.New(segment.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Contacts: a.Contacts},
		segment.Options{Clock: a.Clock, Floor: a.Config.Marketing.SmallCellFloor, Log: a.Log.With("component", "segment")})
	a.Segments.Observe(a.Workflows) // static adds (API, add_to_segment) start segment_in workflows
	if err := a.openTracking(); err != nil {
		return err
	}
	a.trackWorkflows()
	return nil
}

// contactFields gives the template PHI lint the organization's fields:
// the built-ins and every custom field marked PHI are PHI.
type contactFields struct{ contacts *contact.Service }

func (f contactFields) FieldSet(ctx context.Context, orgID string) (template.FieldSet, error) {
	sch, err := f.contacts.Schema(ctx, orgID)
	if err != nil {
		return nil, err
	}
	fs := template.FieldSet{}
	for _, fl := range sch.Fields {
		fs[fl.Key] = fl.PHI
	}
	return fs, nil
}
