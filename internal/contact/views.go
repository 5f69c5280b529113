package contact

import (
	"context"
	"errors"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/store"
)

// Views returns the contacts ids names, in id order, as a may see them:
// PHI masked without phi:read, and — when a person with phi:read sees PHI
// — one audit entry (contact.phi.read, via names the caller, e.g.
// "segment_preview") before anything is returned. Ids that name no contact
// of the organization are left out.
func (s *Service) Views(ctx context.Context, a Actor, ids []string, via string) ([]View, error) {
	if err := a.require(access.ContactsRead); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return []View{}, nil
	}
	sch, err := s.Schema(ctx, a.orgID)
	if err != nil {
		return nil, err
	}
	r := s.deps.DB.Reader()
	rows, err := store.ContactsByID(ctx, r, a.orgID, ids)
	if err != nil {
		return nil, err
	}
	cs, err := s.openRows(ctx, r, sch, rows)
	if err != nil {
		return nil, err
	}
	if err := s.auditContacts(ctx, a, via, sch, cs); err != nil {
		return nil, err
	}
	out := make([]View, 0, len(cs))
	for _, c := range cs {
		out = append(out, s.view(a, sch, c, nil))
	}
	return out, nil
}

// Open reads one contact as carepost itself (a segment's Contains, a
// workflow step): with its PHI opened when phi, and not audited — what
// the caller does with it is. store.ErrNotFound when the organization has
// no such contact.
func (s *Service) Open(ctx context.Context, orgID, contactID string, phi bool) (Contact, error) {
	sch, err := s.Schema(ctx, orgID)
	if err != nil {
		return Contact{}, err
	}
	r := s.deps.DB.Reader()
	row, err := store.GetContact(ctx, r, orgID, contactID)
	if err != nil {
		return Contact{}, err
	}
	if !phi {
		cs, err := clearRows(sch, []store.ContactRow{row})
		if err != nil {
			return Contact{}, err
		}
		return cs[0], nil
	}
	c, _, err := s.openRow(ctx, r, sch, row)
	if errors.Is(err, ErrShredded) {
		return Contact{}, store.ErrNotFound
	}
	return c, err
}

// OpenMany reads contacts by id as carepost itself, in id order, like
// Open (ids of other organizations or deleted contacts are left out).
func (s *Service) OpenMany(ctx context.Context, orgID string, ids []string, phi bool) ([]Contact, error) {
	sch, err := s.Schema(ctx, orgID)
	if err != nil {
		return nil, err
	}
	r := s.deps.DB.Reader()
	rows, err := store.ContactsByID(ctx, r, orgID, ids)
	if err != nil {
		return nil, err
	}
	if !phi {
		return clearRows(sch, rows)
	}
	return s.openRows(ctx, r, sch, rows)
}
