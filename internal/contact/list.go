package contact

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

// A list groups contacts for campaigns. Each membership has its own state:
// a contact may unsubscribe from one list and stay on others, while the
// contact's own status (unsubscribed, bounced, complained) and the
// delivery suppression list override every list. List names are in clear:
// name lists by purpose ("Newsletter"), never after a patient.

// List is one of an organization's lists.
type List struct {
	ID, Name, Description string
	// Subscribed counts the members subscribed to the list.
	Subscribed           int64
	CreatedAt, UpdatedAt time.Time
}

// MemberState is a contact's state in one list.
type MemberState string

// Membership states.
const (
	MemberSubscribed   MemberState = "subscribed"
	MemberUnsubscribed MemberState = "unsubscribed"
)

func fromListRow(r store.ContactListRow) List {
	return List{ID: r.ID, Name: r.Name, Description: r.Description, Subscribed: r.Subscribed, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func checkListInput(name, desc string) message.FieldErrors {
	var errs message.FieldErrors
	if name == "" || checkText(name, 128) != nil || strings.ContainsAny(name, "\n\r\t") {
		errs = append(errs, &message.FieldError{Field: "name", Msg: "is required: 1-128 characters on one line"})
	}
	if checkText(desc, 1024) != nil {
		errs = append(errs, &message.FieldError{Field: "description", Msg: "is at most 1024 characters"})
	}
	return errs
}

// CreateList adds a list. Names are unique in the organization.
func (s *Service) CreateList(ctx context.Context, a Actor, name, description string) (List, error) {
	if err := a.require(access.ContactsWrite); err != nil {
		return List{}, err
	}
	name = strings.TrimSpace(name)
	if errs := checkListInput(name, description); len(errs) > 0 {
		return List{}, errs
	}
	now := s.now()
	r := store.ContactListRow{OrgID: a.orgID, ID: id.New("lst"), Name: name, Description: description, CreatedAt: now, UpdatedAt: now}
	err := s.write(ctx, func(tx *store.Tx) error {
		if err := store.InsertContactList(ctx, tx, r); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, a, "contact.list.create", "contact_list", r.ID, nil, nil)
	})
	return fromListRow(r), err
}

// Lists returns the organization's lists by name.
func (s *Service) Lists(ctx context.Context, a Actor) ([]List, error) {
	if err := a.require(access.ContactsRead); err != nil {
		return nil, err
	}
	rows, err := store.ListContactLists(ctx, s.deps.DB.Reader(), a.orgID)
	if err != nil {
		return nil, err
	}
	out := make([]List, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromListRow(r))
	}
	return out, nil
}

// GetList returns one list.
func (s *Service) GetList(ctx context.Context, a Actor, listID string) (List, error) {
	if err := a.require(access.ContactsRead); err != nil {
		return List{}, err
	}
	r, err := store.GetContactList(ctx, s.deps.DB.Reader(), a.orgID, listID)
	return fromListRow(r), err
}

// UpdateList renames or re-describes a list; empty arguments keep the
// current values.
func (s *Service) UpdateList(ctx context.Context, a Actor, listID string, name, description *string) (List, error) {
	if err := a.require(access.ContactsWrite); err != nil {
		return List{}, err
	}
	var out store.ContactListRow
	err := s.write(ctx, func(tx *store.Tx) error {
		r, err := store.GetContactList(ctx, tx, a.orgID, listID)
		if err != nil {
			return err
		}
		if name != nil {
			r.Name = strings.TrimSpace(*name)
		}
		if description != nil {
			r.Description = *description
		}
		if errs := checkListInput(r.Name, r.Description); len(errs) > 0 {
			return errs
		}
		r.UpdatedAt = s.now()
		if err := store.UpdateContactList(ctx, tx, r); err != nil {
			return err
		}
		out = r
		return s.appendAudit(ctx, tx, a, "contact.list.update", "contact_list", listID, nil, nil)
	})
	return fromListRow(out), err
}

// DeleteList removes a list and its memberships; the contacts stay.
func (s *Service) DeleteList(ctx context.Context, a Actor, listID string) error {
	if err := a.require(access.ContactsWrite); err != nil {
		return err
	}
	return s.write(ctx, func(tx *store.Tx) error {
		if err := store.DeleteContactList(ctx, tx, a.orgID, listID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, a, "contact.list.delete", "contact_list", listID, nil, nil)
	})
}

// SetMembers subscribes contacts to a list or unsubscribes them from it (at
// most MaxBulk at once). Every id must name a contact of the organization.
func (s *Service) SetMembers(ctx context.Context, a Actor, listID string, contactIDs []string, state MemberState) error {
	if err := a.require(access.ContactsWrite); err != nil {
		return err
	}
	if state != MemberSubscribed && state != MemberUnsubscribed {
		return message.FieldErrors{{Field: "state", Msg: "must be subscribed or unsubscribed"}}
	}
	if len(contactIDs) == 0 || len(contactIDs) > MaxBulk {
		return message.FieldErrors{{Field: "contact_ids", Msg: "send 1 to " + strconv.Itoa(MaxBulk) + " contact ids"}}
	}
	return s.write(ctx, func(tx *store.Tx) error {
		if err := store.ContactListExists(ctx, tx, a.orgID, listID); err != nil {
			return err
		}
		found, err := store.ContactsByID(ctx, tx, a.orgID, contactIDs)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, r := range found {
			have[r.ID] = true
		}
		ids := make([]string, 0, len(have))
		seen := map[string]bool{}
		for i, cid := range contactIDs {
			if !have[cid] {
				return message.FieldErrors{{Field: "contact_ids[" + strconv.Itoa(i) + "]", Msg: "no such contact"}}
			}
			if !seen[cid] {
				seen[cid] = true
				ids = append(ids, cid)
			}
		}
		if err := store.SetListMembers(ctx, tx, a.orgID, listID, ids, string(state), s.now()); err != nil {
			return err
		}
		if state == MemberSubscribed {
			if err := s.notifyJoined(ctx, tx, a.orgID, listID, ids); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, a, "contact.list.members", "contact_list", listID,
			map[string]string{"state": string(state), "count": strconv.Itoa(len(ids))}, ids)
	})
}

// Members returns a page of a list's memberships (ids and states, no PHI).
func (s *Service) Members(ctx context.Context, a Actor, listID, after string, limit int) ([]store.ListMember, error) {
	if err := a.require(access.ContactsRead); err != nil {
		return nil, err
	}
	if err := store.ContactListExists(ctx, s.deps.DB.Reader(), a.orgID, listID); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return store.ListMembers(ctx, s.deps.DB.Reader(), a.orgID, listID, after, limit)
}
