package contact

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

// ErrEmailTaken means another contact of the organization has the address.
var ErrEmailTaken = errors.New("another contact has this e-mail address")

// Create adds a contact. The e-mail address is required and unique in the
// organization (compared by blind index, so case-insensitively); a new
// contact is subscribed unless in says otherwise.
func (s *Service) Create(ctx context.Context, a Actor, in Input) (View, error) {
	if err := a.require(access.ContactsWrite); err != nil {
		return View{}, err
	}
	sch, err := s.Schema(ctx, a.orgID)
	if err != nil {
		return View{}, err
	}
	p, errs := in.patch(sch, "")
	if len(errs) == 0 && (p.email == nil || *p.email == "") {
		errs = append(errs, &message.FieldError{Field: "email", Msg: "is required"})
	}
	if len(errs) > 0 {
		return View{}, errs
	}
	if err := s.ensureIndex(ctx, a.orgID); err != nil {
		return View{}, err
	}
	var c Contact
	err = s.write(ctx, func(tx *store.Tx) error {
		index, err := s.deps.Index.Email(ctx, tx, a.orgID, *p.email)
		if err != nil {
			return err
		}
		if taken, err := store.ContactsByEmailIndex(ctx, tx, a.orgID, [][]byte{index}); err != nil {
			return err
		} else if len(taken) > 0 {
			return ErrEmailTaken
		}
		out, err := s.upsert(ctx, tx, a.orgID, sch, []item{{index: index, p: p}}, s.now(), nil)
		if err != nil {
			return err
		}
		row, err := store.GetContact(ctx, tx, a.orgID, out[0].ID)
		if err != nil {
			return err
		}
		if c, _, err = s.openRow(ctx, tx, sch, row); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, a, "contact.create", "contact", c.ID, nil, nil)
	})
	if err != nil {
		return View{}, err
	}
	return s.view(a, sch, c, nil), nil
}

// Update changes a contact. Only the values in given change; the contact
// keeps its key, so its events' properties stay readable.
func (s *Service) Update(ctx context.Context, a Actor, contactID string, in Input) (View, error) {
	if err := a.require(access.ContactsWrite); err != nil {
		return View{}, err
	}
	sch, err := s.Schema(ctx, a.orgID)
	if err != nil {
		return View{}, err
	}
	p, errs := in.patch(sch, "")
	if p.email != nil && *p.email == "" {
		errs = append(errs, &message.FieldError{Field: "email", Msg: "cannot be removed"})
	}
	if len(errs) > 0 {
		return View{}, errs
	}
	if err := s.ensureIndex(ctx, a.orgID); err != nil {
		return View{}, err
	}
	var c Contact
	err = s.write(ctx, func(tx *store.Tx) error {
		row, err := store.GetContact(ctx, tx, a.orgID, contactID)
		if err != nil {
			return err
		}
		cur, aead, err := s.openRow(ctx, tx, sch, row)
		if err != nil {
			return err
		}
		index := row.EmailIndex
		if p.email != nil && *p.email != cur.Email {
			if index, err = s.deps.Index.Email(ctx, tx, a.orgID, *p.email); err != nil {
				return err
			}
			if taken, err := store.ContactsByEmailIndex(ctx, tx, a.orgID, [][]byte{index}); err != nil {
				return err
			} else if t, ok := taken[string(index)]; ok && t.ID != contactID {
				return ErrEmailTaken
			}
		}
		before := cur.Status
		p.apply(&cur)
		cur.UpdatedAt = s.now()
		next, err := toRow(aead, sch, &cur, index)
		if err != nil {
			return err
		}
		if err := store.UpdateContact(ctx, tx, next); err != nil {
			return err
		}
		if err := s.suppressOnStatus(ctx, tx, cur, index, before, cur.UpdatedAt); err != nil {
			return err
		}
		c = cur
		c.Suppression = row.Suppression
		if err := s.notifyChanged(ctx, tx, a.orgID, []string{contactID}); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, a, "contact.update", "contact", contactID,
			map[string]string{"fields": strings.Join(p.changed(), ",")}, nil)
	})
	if err != nil {
		return View{}, err
	}
	return s.view(a, sch, c, nil), nil
}

// changed lists the keys the patch touches (names, never values).
func (p patch) changed() []string {
	var out []string
	for k, v := range map[string]bool{"email": p.email != nil, "phone": p.phone != nil, "first_name": p.first != nil,
		"last_name": p.last != nil, "timezone": p.timezone != nil, "locale": p.locale != nil, "status": p.status != nil} {
		if v {
			out = append(out, k)
		}
	}
	for k := range p.fields {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Delete removes a contact and crypto-shreds it: its key is destroyed in
// the same transaction, so its sealed PHI and event properties can never
// be opened again, from this database or from any copy of their bytes
// made later. Its authorizations are kept (they hold no PHI and HIPAA
// requires them retained); see the package documentation for backups.
func (s *Service) Delete(ctx context.Context, a Actor, contactID string) error {
	if err := a.require(access.ContactsWrite); err != nil {
		return err
	}
	return s.write(ctx, func(tx *store.Tx) error {
		if err := store.ShredContact(ctx, tx, a.orgID, contactID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, a, "contact.delete", "contact", contactID, map[string]string{"shredded": "true"}, nil)
	})
}
