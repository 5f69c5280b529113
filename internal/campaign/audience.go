package campaign

import (
	"context"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/store"
)

// Source streams the members of one audience source — a list here, a
// segment from package segment — by contact id. The prepare step reads
// it a page at a time and never holds the audience: memory stays flat
// for a million contacts.
type Source interface {
	// Members calls fn with the id of each member whose id sorts after
	// after ("" from the start), in ascending id order; the order is what
	// lets an interrupted prepare resume from its cursor. An error from fn
	// stops the stream and is returned.
	Members(ctx context.Context, orgID, sourceID, after string, fn func(contactID string) error) error
}

// listSource reads a list's subscribed members from package contact's
// membership rows, a page per query. A list deleted since the campaign was
// written has no members. (Not contact.Service.Members, which reads the
// list — and counts its subscribers — for every page.)
type listSource struct{ db *store.DB }

const listPage = 1000

func (l listSource) Members(ctx context.Context, orgID, listID, after string, fn func(string) error) error {
	for {
		page, err := store.ListMembers(ctx, l.db.Reader(), orgID, listID, after, listPage)
		if err != nil {
			return err
		}
		for _, m := range page {
			if m.State != string(contact.MemberSubscribed) {
				continue
			}
			if err := fn(m.ContactID); err != nil {
				return err
			}
		}
		if len(page) < listPage {
			return nil
		}
		after = page[len(page)-1].ContactID
	}
}
