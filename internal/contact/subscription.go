package contact

import (
	"context"
	"errors"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// Unsubscribing by the contact themself: the one-click and page
// unsubscribes, the preference page and spam complaints (package tracking
// verifies the signed link; these methods record the choice). Each is
// idempotent: a state already recorded changes nothing and writes no audit
// entry; a contact or list deleted since the mail went out is a success
// with nothing to do (there is nothing left to send to). The audit actor
// is the contact (audit.ActorRecipient, by id), the source names the way
// it came ("one-click", "page", "preferences", "complaint").

// Subscription is a contact's state for one list, for the preference page.
// ListID "" is all of the organization's marketing mail (the contact's own
// status).
type Subscription struct {
	ListID     string
	Name       string
	Subscribed bool
}

// Unsubscribe takes the contact off a list, or off all marketing mail
// when listID is "". A bounced or complained contact stays as it is.
func (s *Service) Unsubscribe(ctx context.Context, orgID, contactID, listID, source string) error {
	return s.setSubscription(ctx, orgID, contactID, listID, source, false)
}

// Resubscribe puts the contact back on a list, or back on marketing mail
// when listID is "" — only from unsubscribed: a bounced or complained
// address stays suppressed.
func (s *Service) Resubscribe(ctx context.Context, orgID, contactID, listID, source string) error {
	return s.setSubscription(ctx, orgID, contactID, listID, source, true)
}

func (s *Service) setSubscription(ctx context.Context, orgID, contactID, listID, source string, subscribed bool) error {
	now := s.now()
	return s.write(ctx, func(tx *store.Tx) error {
		row, err := store.GetContact(ctx, tx, orgID, contactID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		action := "contact.unsubscribe"
		if subscribed {
			action = "contact.resubscribe"
		}
		if listID == "" {
			from, to := Subscribed, Unsubscribed
			if subscribed {
				from, to = Unsubscribed, Subscribed
			}
			if Status(row.Status) != from {
				return nil
			}
			if err := store.SetContactStatus(ctx, tx, orgID, contactID, string(to), now); err != nil {
				return err
			}
		} else {
			if err := store.ContactListExists(ctx, tx, orgID, listID); errors.Is(err, store.ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			have, err := store.ContactMemberships(ctx, tx, orgID, []string{contactID})
			if err != nil {
				return err
			}
			state := MemberUnsubscribed
			if subscribed {
				state = MemberSubscribed
			}
			cur, member := have[contactID][listID]
			if cur == string(state) || (subscribed && !member) {
				return nil // already so; and a page cannot join a list the contact was never on
			}
			if err := store.SetListMembers(ctx, tx, orgID, listID, []string{contactID}, string(state), now); err != nil {
				return err
			}
		}
		return s.appendSelf(ctx, tx, orgID, contactID, action, map[string]string{"source": source, "list": listID})
	})
}

// Complain records a spam complaint: the contact becomes complained and
// the address goes on the delivery suppression list, so nothing is sent
// to it again by any path.
func (s *Service) Complain(ctx context.Context, orgID, contactID, source string) error {
	now := s.now()
	return s.write(ctx, func(tx *store.Tx) error {
		row, err := store.GetContact(ctx, tx, orgID, contactID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		before := Status(row.Status)
		if before == Complained {
			return nil
		}
		if err := store.SetContactStatus(ctx, tx, orgID, contactID, string(Complained), now); err != nil {
			return err
		}
		c := Contact{ID: contactID, OrgID: orgID, Status: Complained}
		if err := s.suppressOnStatus(ctx, tx, c, row.EmailIndex, before, now); err != nil {
			return err
		}
		return s.appendSelf(ctx, tx, orgID, contactID, "contact.complain", map[string]string{"source": source})
	})
}

// Subscriptions returns the contact's states: all marketing mail first,
// then each list the contact is or was on, by name. store.ErrNotFound
// when the organization has no such contact.
func (s *Service) Subscriptions(ctx context.Context, orgID, contactID string) ([]Subscription, error) {
	r := s.deps.DB.Reader()
	row, err := store.GetContact(ctx, r, orgID, contactID)
	if err != nil {
		return nil, err
	}
	out := []Subscription{{ListID: "", Subscribed: Status(row.Status) == Subscribed && row.Suppression == ""}}
	have, err := store.ContactMemberships(ctx, r, orgID, []string{contactID})
	if err != nil {
		return nil, err
	}
	if len(have[contactID]) == 0 {
		return out, nil
	}
	lists, err := store.ListContactLists(ctx, r, orgID)
	if err != nil {
		return nil, err
	}
	for _, l := range lists {
		if state, ok := have[contactID][l.ID]; ok {
			out = append(out, Subscription{ListID: l.ID, Name: l.Name, Subscribed: state == string(MemberSubscribed)})
		}
	}
	return out, nil
}

// appendSelf audits a change the contact made themself.
func (s *Service) appendSelf(ctx context.Context, tx *store.Tx, orgID, contactID, action string, details map[string]string) error {
	err := s.deps.Audit.Append(ctx, tx, audit.Entry{Chain: orgID, Actor: audit.Actor{Type: audit.ActorRecipient, ID: contactID},
		Action: action, TargetType: "contact", TargetID: contactID, Outcome: audit.Success, Details: details})
	return err
}
