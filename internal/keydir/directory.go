package keydir

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/pgp"
	"github.com/carepost/carepost/internal/smime"
	"github.com/carepost/carepost/internal/store"
)

// idPrefix names directory entries (package id).
const idPrefix = "rkey"

// Statuses of an entry, evaluated when it is read.
const (
	StatusValid   = "valid"
	StatusExpired = "expired"
	StatusRevoked = "revoked"
	StatusInvalid = "invalid" // fails another rule (trust, usage, address)
)

// Entry is a key in the directory as administrators see it.
type Entry struct {
	ID          string
	Kind        string // KindPGP or KindSMIME
	Fingerprint string
	// Emails are the bound addresses, masked for principals without
	// phi:read.
	Emails    []string
	Algorithm string
	Created   time.Time // the key's creation, or the certificate's notBefore
	Expires   time.Time // zero: never
	// Status and Problem are evaluated now: a key that was valid at upload
	// may have expired since.
	Status, Problem string
	AddedAt         time.Time
	UpdatedAt       time.Time
}

// Add parses and checks an uploaded key (armored or binary OpenPGP public
// key, or PEM S/MIME chain) and stores it bound to email, or, when email
// is empty, to every address it names that passes the checks. A key whose
// fingerprint the organization already has replaces the stored copy
// (same id), so re-uploading a key with a new expiry or a revocation takes
// effect; a revoked upload is refused, and a stored copy of it is updated
// so that it is not used either. Audited recipient_key.add or .update.
func (s *Service) Add(ctx context.Context, a Actor, data []byte, email string) (Entry, error) {
	if err := a.mayManage(); err != nil {
		return Entry{}, err
	}
	m, err := parseMaterial(data)
	if err != nil {
		return Entry{}, inputErr("key", err)
	}
	if m.kind == KindSMIME {
		m.raw = pemChain(m.chain)
	}
	now := s.now()
	emails, bindErr := m.bind(email, s.opts.Roots, now)
	if bindErr != nil && !errors.Is(bindErr, pgp.ErrRevoked) {
		return Entry{}, inputErr(fieldOf(email), bindErr)
	}
	fp := m.fingerprint()
	var out Entry
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		fpIndex, err := s.deps.Index.Index(ctx, tx, a.orgID, "keyfp", m.kind+":"+fp)
		if err != nil {
			return err
		}
		old, err := store.RecipientKeyByFingerprint(ctx, tx, a.orgID, fpIndex)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if bindErr != nil {
				return inputErr("key", bindErr)
			}
			old = store.RecipientKeyRow{}
		case err != nil:
			return err
		}
		if bindErr != nil { // revoked: keep the old binding, record the revocation
			var sl sealed
			if sl, _, err = s.open(ctx, tx, old); err != nil {
				return err
			}
			emails = sl.Emails
		}
		row := store.RecipientKeyRow{ID: old.ID, OrgID: a.orgID, Kind: m.kind, FingerprintIndex: fpIndex, CreatedAt: old.CreatedAt, UpdatedAt: now}
		if row.ID == "" {
			row.ID, row.CreatedAt = id.New(idPrefix), now
		}
		row.Algorithm, row.KeyCreatedAt, row.ExpiresAt = m.validity(now)
		for _, e := range emails {
			ix, err := s.deps.Index.Email(ctx, tx, a.orgID, e)
			if err != nil {
				return err
			}
			row.AddressIndexes = append(row.AddressIndexes, ix)
		}
		content, err := sealed{Material: m.raw, Emails: emails, Fingerprint: fp}.encode()
		if err != nil {
			return err
		}
		if row.Content, row.DEKVersion, err = s.deps.Keys.Seal(ctx, tx, s.aad(a.orgID, row.ID), content); err != nil {
			return err
		}
		action := "recipient_key.add"
		if old.ID != "" {
			action = "recipient_key.update"
			err = store.ReplaceRecipientKey(ctx, tx, row)
		} else {
			err = store.InsertRecipientKey(ctx, tx, row)
		}
		if err != nil {
			return err
		}
		details := map[string]string{"kind": m.kind, "addresses": fmt.Sprint(len(emails))}
		if err := s.record(ctx, tx, a, action, "recipient_key", row.ID, details); err != nil {
			return err
		}
		out = s.entry(a, row, sealed{Emails: emails, Fingerprint: fp}, m, now)
		return nil
	})
	if err != nil {
		return Entry{}, err
	}
	if bindErr != nil {
		return Entry{}, inputErr("key", fmt.Errorf("%w; the directory's copy was updated and is no longer used", bindErr))
	}
	return out, nil
}

func fieldOf(email string) string {
	if email != "" {
		return "email"
	}
	return "key"
}

// aad binds a sealed entry to its row.
func (s *Service) aad(org, rowID string) keyring.AAD {
	return keyring.AAD{Scope: org, Table: "recipient_keys", Column: "content", RowID: rowID}
}

// open unseals and parses a stored key.
func (s *Service) open(ctx context.Context, q store.Querier, r store.RecipientKeyRow) (sealed, material, error) {
	b, err := s.deps.Keys.Open(ctx, q, s.aad(r.OrgID, r.ID), r.Content)
	if err != nil {
		return sealed{}, material{}, fmt.Errorf("open recipient key %s: %w", r.ID, err)
	}
	return decodeSealed(b)
}

// entry describes a row, re-evaluating its status at now.
func (s *Service) entry(a Actor, r store.RecipientKeyRow, sl sealed, m material, now time.Time) Entry {
	e := Entry{ID: r.ID, Kind: r.Kind, Fingerprint: sl.Fingerprint, Emails: a.mask(sl.Emails), Algorithm: r.Algorithm,
		Created: r.KeyCreatedAt, Expires: r.ExpiresAt, Status: StatusValid, AddedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	var first error
	for _, addr := range sl.Emails {
		err := m.check(addr, s.opts.Roots, now)
		if err == nil {
			return e
		}
		first = cmpOr(first, err)
	}
	if first == nil {
		first = pgp.ErrNoAddress
	}
	e.Status, e.Problem = statusOf(first), first.Error()
	return e
}

func statusOf(err error) string {
	switch {
	case errors.Is(err, pgp.ErrRevoked):
		return StatusRevoked
	case errors.Is(err, pgp.ErrExpired), errors.Is(err, smime.ErrExpired), errors.Is(err, smime.ErrNotYetValid):
		return StatusExpired
	}
	return StatusInvalid
}

// List returns the organization's keys, most recently changed first; with
// email, only the keys bound to that address.
func (s *Service) List(ctx context.Context, a Actor, email string) ([]Entry, error) {
	if err := a.mayManage(); err != nil {
		return nil, err
	}
	q := s.deps.DB.Reader()
	var rows []store.RecipientKeyRow
	var err error
	if email != "" {
		ix, lerr := s.deps.Index.Lookup(ctx, q, a.orgID, "email", normalize(email))
		if errors.Is(lerr, store.ErrNotFound) {
			return []Entry{}, nil
		} else if lerr != nil {
			return nil, lerr
		}
		rows, err = store.RecipientKeysForAddress(ctx, q, a.orgID, ix)
	} else {
		rows, err = store.ListRecipientKeys(ctx, q, a.orgID)
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]Entry, 0, len(rows))
	for _, r := range rows {
		sl, m, err := s.open(ctx, q, r)
		if err != nil {
			return nil, err
		}
		out = append(out, s.entry(a, r, sl, m, now))
	}
	return out, nil
}

// Get returns one key; store.ErrNotFound when the organization has none
// with that id.
func (s *Service) Get(ctx context.Context, a Actor, keyID string) (Entry, error) {
	if err := a.mayManage(); err != nil {
		return Entry{}, err
	}
	q := s.deps.DB.Reader()
	r, err := store.GetRecipientKey(ctx, q, a.orgID, keyID)
	if err != nil {
		return Entry{}, err
	}
	sl, m, err := s.open(ctx, q, r)
	if err != nil {
		return Entry{}, err
	}
	return s.entry(a, r, sl, m, s.now()), nil
}

// Delete removes a key, audited recipient_key.delete; store.ErrNotFound
// when the organization has none with that id.
func (s *Service) Delete(ctx context.Context, a Actor, keyID string) error {
	if err := a.mayManage(); err != nil {
		return err
	}
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		r, err := store.GetRecipientKey(ctx, tx, a.orgID, keyID)
		if err != nil {
			return err
		}
		if err := store.DeleteRecipientKey(ctx, tx, a.orgID, keyID); err != nil {
			return err
		}
		return s.record(ctx, tx, a, "recipient_key.delete", "recipient_key", keyID, map[string]string{"kind": r.Kind})
	})
}

// normalize is the address form the blind index is made of
// (blindindex.Indexer.Email).
func normalize(addr string) string { return strings.ToLower(strings.TrimSpace(addr)) }
