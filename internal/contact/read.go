package contact

import (
	"context"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/store"
)

// View is a contact as a principal may see it: PHI values are
// access.Masked for principals without phi:read (a masked field that is
// empty stays empty).
type View struct {
	ID                                string
	Email, Phone, FirstName, LastName string
	Timezone, Locale                  string
	Status                            Status
	// Suppressed: delivery refuses the address (see Contact.Suppression).
	Suppressed bool
	// Fields are the custom values by key in their JSON form (Value.JSON),
	// or access.Masked.
	Fields  map[string]any
	Consent Consent
	// ConsentValid is Consent.Valid at the time of reading.
	ConsentValid bool
	// Lists are the contact's list memberships (list id → state), when
	// the read asked for them.
	Lists map[string]string
	// Masked is true when PHI was hidden from this principal.
	Masked               bool
	CreatedAt, UpdatedAt time.Time
}

// view renders c for a, masking PHI when a lacks phi:read.
func (s *Service) view(a Actor, sch *Schema, c Contact, lists map[string]string) View {
	m := func(v string) string { return access.MaskPHI(a.perms, v) }
	v := View{ID: c.ID, Email: m(c.Email), Phone: m(c.Phone), FirstName: m(c.FirstName), LastName: m(c.LastName),
		Timezone: c.Timezone, Locale: c.Locale, Status: c.EffectiveStatus(), Suppressed: c.Suppression != "",
		Fields: map[string]any{}, Consent: c.Consent, ConsentValid: c.Consent.Valid(s.now()), Lists: lists,
		Masked: !a.readsPHI(), CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	for _, f := range sch.Custom() {
		val, ok := c.Fields[f.Key]
		switch {
		case !ok:
		case f.PHI && !a.readsPHI():
			v.Fields[f.Key] = access.Masked
		default:
			v.Fields[f.Key] = val.JSON()
		}
	}
	return v
}

// phiShown lists the PHI fields of c that are set (what a reader with
// phi:read sees), for the audit entry.
func phiShown(sch *Schema, cs []Contact, into map[string]bool) {
	for _, c := range cs {
		for _, f := range sch.Fields {
			if !f.PHI {
				continue
			}
			if p := c.builtin(f.Tag); p != nil {
				if *p != "" {
					into[f.Key] = true
				}
			} else if _, ok := c.Fields[f.Key]; ok {
				into[f.Key] = true
			}
		}
	}
}

// Get returns one contact with its list memberships. A principal with
// phi:read sees its PHI and the read is audited (contact.phi.read) before
// it is returned.
func (s *Service) Get(ctx context.Context, a Actor, contactID string) (View, error) {
	if err := a.require(access.ContactsRead); err != nil {
		return View{}, err
	}
	sch, err := s.Schema(ctx, a.orgID)
	if err != nil {
		return View{}, err
	}
	r := s.deps.DB.Reader()
	row, err := store.GetContact(ctx, r, a.orgID, contactID)
	if err != nil {
		return View{}, err
	}
	c, _, err := s.openRow(ctx, r, sch, row)
	if err != nil {
		return View{}, err
	}
	lists, err := store.ContactMemberships(ctx, r, a.orgID, []string{contactID})
	if err != nil {
		return View{}, err
	}
	if err := s.auditContacts(ctx, a, "get", sch, []Contact{c}); err != nil {
		return View{}, err
	}
	l := lists[contactID]
	if l == nil {
		l = map[string]string{}
	}
	return s.view(a, sch, c, l), nil
}

// auditContacts audits a read of cs by a person with phi:read, naming the
// PHI fields that were set.
func (s *Service) auditContacts(ctx context.Context, a Actor, via string, sch *Schema, cs []Contact) error {
	if !a.person || !a.readsPHI() || len(cs) == 0 {
		return nil
	}
	shown := map[string]bool{}
	phiShown(sch, cs, shown)
	var fields, ids []string
	for _, f := range sch.Fields {
		if shown[f.Key] {
			fields = append(fields, f.Key)
		}
	}
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return s.auditRead(ctx, a, via, ids, fields)
}
