package contact

import (
	"context"
	"crypto/cipher"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// openRow turns a stored row into a Contact, opening its key and its PHI
// map. The contact's AEAD is returned for re-sealing after a change.
func (s *Service) openRow(ctx context.Context, q store.Querier, sch *Schema, r store.ContactRow) (Contact, cipher.AEAD, error) {
	aead, err := s.unwrapKey(ctx, q, r.OrgID, r.ID, r.WrappedKey)
	if err != nil {
		return Contact{}, nil, err
	}
	c, err := openWithKey(aead, sch, r)
	return c, aead, err
}

// openWithKey opens a row's PHI with its already unwrapped key.
func openWithKey(aead cipher.AEAD, sch *Schema, r store.ContactRow) (Contact, error) {
	return openWithKeyAttrs(aead, sch, r, true)
}

// openWithKeyAttrs is openWithKey, leaving the values of fields not
// marked PHI out unless attrs.
func openWithKeyAttrs(aead cipher.AEAD, sch *Schema, r store.ContactRow, attrs bool) (Contact, error) {
	c := fromRow(r)
	pt, err := openWith(aead, phiAAD(r.OrgID, r.ID), r.PHI)
	if err != nil {
		return Contact{}, fmt.Errorf("open contact %s/%s: %w", r.OrgID, r.ID, err)
	}
	if err := decodePHI(pt, sch, &c); err != nil {
		return Contact{}, fmt.Errorf("decode contact %s/%s: %w", r.OrgID, r.ID, err)
	}
	clear(pt)
	if !attrs {
		return c, nil
	}
	if err := decodeAttrs(r.Attrs, sch, &c); err != nil {
		return Contact{}, fmt.Errorf("decode contact %s/%s: %w", r.OrgID, r.ID, err)
	}
	return c, nil
}

// fromRow copies a row's clear columns.
func fromRow(r store.ContactRow) Contact {
	return Contact{
		ID: r.ID, OrgID: r.OrgID, Timezone: r.Timezone, Locale: r.Locale, Status: Status(r.Status),
		Suppression: r.Suppression, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Consent: Consent{ID: r.ConsentID, GrantedAt: r.ConsentAt, ExpiresAt: r.ConsentExpires, RevokedAt: r.ConsentRevoked},
	}
}

// toRow seals c under its key into a row (without the key columns).
func toRow(aead cipher.AEAD, sch *Schema, c *Contact, index []byte) (store.ContactRow, error) {
	phi, err := sealWith(aead, phiAAD(c.OrgID, c.ID), encodePHI(c, sch))
	if err != nil {
		return store.ContactRow{}, fmt.Errorf("seal contact %s/%s: %w", c.OrgID, c.ID, err)
	}
	return store.ContactRow{
		OrgID: c.OrgID, ID: c.ID, EmailIndex: index, Status: string(c.Status), Timezone: c.Timezone, Locale: c.Locale,
		Attrs: encodeAttrs(c, sch), PHI: phi, ConsentID: c.Consent.ID, ConsentAt: c.Consent.GrantedAt,
		ConsentExpires: c.Consent.ExpiresAt, ConsentRevoked: c.Consent.RevokedAt, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}, nil
}

// Consent is the summary of a contact's current marketing authorization:
// the most recently granted one (see Authorization).
type Consent struct {
	ID        string
	GrantedAt time.Time
	// ExpiresAt is zero when the authorization expires on an event
	// instead (Authorization.ExpiryEvent) rather than a date.
	ExpiresAt time.Time
	RevokedAt time.Time
}

// Valid reports whether the authorization permits marketing at now:
// granted by then, not yet expired, not revoked by then.
func (c Consent) Valid(now time.Time) bool {
	if c.ID == "" || c.GrantedAt.After(now) {
		return false
	}
	if !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt) {
		return false
	}
	return c.RevokedAt.IsZero() || now.Before(c.RevokedAt)
}

// CanMarketPHI reports whether a campaign that uses the contact's PHI may
// go to them at now: HIPAA 164.508(a)(3) requires a valid authorization for
// marketing, and this is the one check campaigns make for it. It says
// nothing about whether mail may go at all (see Sendable).
func CanMarketPHI(c Contact, now time.Time) bool { return c.Consent.Valid(now) }

func (c Consent) row() store.ContactConsent {
	return store.ContactConsent{ID: c.ID, At: c.GrantedAt, Expires: c.ExpiresAt, Revoked: c.RevokedAt}
}
