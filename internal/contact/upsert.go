package contact

import (
	"context"
	"crypto/cipher"
	"fmt"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

// MaxBulk is the most contacts one bulk upsert takes.
const MaxBulk = 1000

// item is one contact to create or update, found by its e-mail index.
type item struct {
	index   []byte
	p       patch
	consent *Authorization // a grant to record with the contact, or nil
}

// Outcome is what an upsert did with one input, in input order.
type Outcome struct {
	ID      string
	Created bool
}

// pending is a contact being written by one upsert.
type pending struct {
	c      Contact
	aead   cipher.AEAD
	index  []byte
	raw    []byte // a new contact's key, to wrap
	isNew  bool
	status Status // before the upsert
	// granted: this upsert records a grant for the contact, so its
	// consent summary changes (a new contact's row carries it anyway).
	granted bool
	// sealed is a drafted contact's row, every item for it applied
	// (drafts); nil for a contact the upsert works on itself.
	sealed *store.ContactRow
}

// upsert creates or updates contacts by e-mail index inside tx, in input
// order: a later item with the same address updates what an earlier one
// wrote. It returns one outcome per item. ready, when not nil, holds the
// items' contacts drafted as new ones before the transaction (drafts).
func (s *Service) upsert(ctx context.Context, tx *store.Tx, orgID string, sch *Schema, items []item, now time.Time, ready *drafts) ([]Outcome, error) {
	defer ready.discard()
	if !ready.usableWith(sch) {
		ready = nil // the deferred discard still clears its keys
	}
	idx := make([][]byte, 0, len(items))
	for _, it := range items {
		idx = append(idx, it.index)
	}
	existing, err := store.ContactsByEmailIndex(ctx, tx, orgID, idx)
	if err != nil {
		return nil, err
	}
	byIndex := make(map[string]*pending, len(items))
	order := make([]*pending, 0, len(items))
	outcomes := make([]Outcome, len(items))
	var grants []store.ConsentRow
	for i, it := range items {
		pd := byIndex[string(it.index)]
		if pd == nil {
			row := existing[string(it.index)]
			if d := ready.take(it.index); d != nil && row.ID == "" {
				// Drafted with every item for the address applied.
				pd = d.pd
				grants = append(grants, d.grants...)
			} else {
				if d != nil {
					clear(d.pd.raw) // the address has a contact already
				}
				if pd, err = s.pendingFor(ctx, tx, sch, orgID, row, now); err != nil {
					return nil, err
				}
			}
			pd.index = it.index
			byIndex[string(it.index)] = pd
			order = append(order, pd)
		}
		if pd.sealed == nil {
			if g := applyItem(pd, it, orgID, now); g != nil {
				grants = append(grants, *g)
			}
		}
		outcomes[i] = Outcome{ID: pd.c.ID, Created: pd.isNew}
	}
	var fresh []store.ContactRow
	var changed []string
	for _, pd := range order {
		var row store.ContactRow
		if pd.sealed != nil {
			row = *pd.sealed
		} else if row, err = toRow(pd.aead, sch, &pd.c, pd.index); err != nil {
			return nil, err
		}
		if pd.isNew {
			row.WrappedKey, row.KeyVersion, err = s.wrapKey(ctx, tx, orgID, pd.c.ID, pd.raw)
			clear(pd.raw)
			if err != nil {
				return nil, fmt.Errorf("wrap contact key: %w", err)
			}
			fresh = append(fresh, row)
		} else if err := store.UpdateContact(ctx, tx, row); err != nil {
			return nil, err
		} else {
			changed = append(changed, pd.c.ID)
			// UpdateContact leaves the consent columns alone; a grant
			// recorded here becomes the current authorization, as one
			// given through the API does (GrantConsent).
			if pd.granted {
				if err := store.SetContactConsent(ctx, tx, orgID, pd.c.ID, pd.c.Consent.row()); err != nil {
					return nil, err
				}
			}
		}
		if err := s.suppressOnStatus(ctx, tx, pd.c, pd.index, pd.status, now); err != nil {
			return nil, err
		}
	}
	if err := store.InsertContacts(ctx, tx, fresh); err != nil {
		return nil, err
	}
	if err := store.InsertConsents(ctx, tx, grants); err != nil {
		return nil, err
	}
	if err := s.notifyChanged(ctx, tx, orgID, changed); err != nil {
		return nil, err
	}
	return outcomes, nil
}

// pendingFor opens an existing contact or starts a new one.
func (s *Service) pendingFor(ctx context.Context, tx *store.Tx, sch *Schema, orgID string, row store.ContactRow, now time.Time) (*pending, error) {
	if row.ID != "" {
		c, aead, err := s.openRow(ctx, tx, sch, row)
		if err != nil {
			return nil, err
		}
		return &pending{c: c, aead: aead, status: c.Status}, nil
	}
	return newPending(orgID, now)
}

// suppressOnStatus puts the address on the delivery suppression list when
// the contact became bounced or complained, so no path — campaign, API,
// SMTP — sends to it any more.
func (s *Service) suppressOnStatus(ctx context.Context, tx *store.Tx, c Contact, index []byte, before Status, now time.Time) error {
	if c.Status == before || (c.Status != Bounced && c.Status != Complained) {
		return nil
	}
	return store.Suppress(ctx, tx, c.OrgID, index, "contact "+string(c.Status), "", now)
}

// BulkUpsert creates or updates up to MaxBulk contacts by e-mail address in
// one transaction. Every input is validated first: if any is invalid,
// nothing is written and the errors name each one ("contacts[3].email").
func (s *Service) BulkUpsert(ctx context.Context, a Actor, ins []Input) ([]Outcome, error) {
	if err := a.require(access.ContactsWrite); err != nil {
		return nil, err
	}
	if len(ins) == 0 || len(ins) > MaxBulk {
		return nil, message.FieldErrors{{Field: "contacts", Msg: "send 1 to " + strconv.Itoa(MaxBulk) + " contacts"}}
	}
	sch, err := s.Schema(ctx, a.orgID)
	if err != nil {
		return nil, err
	}
	items := make([]item, len(ins))
	var errs message.FieldErrors
	for i, in := range ins {
		prefix := "contacts[" + strconv.Itoa(i) + "]."
		p, fe := in.patch(sch, prefix)
		errs = append(errs, fe...)
		if p.email == nil || *p.email == "" {
			if in.Email == nil || len(fe) == 0 {
				errs = append(errs, &message.FieldError{Field: prefix + "email", Msg: "is required"})
			}
			continue
		}
		items[i].p = p
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if err := s.ensureIndex(ctx, a.orgID); err != nil {
		return nil, err
	}
	var out []Outcome
	err = s.write(ctx, func(tx *store.Tx) error {
		for i := range items {
			if items[i].index, err = s.deps.Index.Email(ctx, tx, a.orgID, *items[i].p.email); err != nil {
				return err
			}
		}
		if out, err = s.upsert(ctx, tx, a.orgID, sch, items, s.now(), nil); err != nil {
			return err
		}
		created := 0
		for _, o := range out {
			if o.Created {
				created++
			}
		}
		return s.appendAudit(ctx, tx, a, "contact.bulk_upsert", "", "", map[string]string{
			"count": strconv.Itoa(len(out)), "created": strconv.Itoa(created)}, outcomeIDs(out))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func outcomeIDs(out []Outcome) []string {
	ids := make([]string, 0, len(out))
	seen := map[string]bool{}
	for _, o := range out {
		if !seen[o.ID] {
			seen[o.ID] = true
			ids = append(ids, o.ID)
		}
	}
	return ids
}
