package app

import (
	"context"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/segment"
	"github.com/carepost/carepost/internal/template"
)

// openMarketing builds templates, segments and tracking on the contacts
// (openMessaging built them and the event recorder).
func (a *App) openMarketing() error {
	a.Templates = template.New(template.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Fields: contactFields{a.Contacts}},
		template.Options{Clock: a.Clock})
	a.Segments = segment.New(segment.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit, Contacts: a.Contacts},
		segment.Options{Clock: a.Clock, Floor: a.Config.Marketing.SmallCellFloor, Log: a.Log.With("component", "segment")})
	return a.openTracking()
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
