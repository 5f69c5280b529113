package senderdomain

import (
	"context"
	"errors"
	"fmt"

	"github.com/carepost/carepost/internal/dkim"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
)

// The answers to a name that is already registered. The one for another
// organization's claim is the same whoever holds it.
const (
	msgTaken = "this domain cannot be added: it is already registered with carepost"
	msgOwn   = "this domain is already registered to your organization"
)

// idPrefix names sender domains (package id).
const idPrefix = "dom"

// Add registers a domain for the actor's organization: it validates the
// name (NormalizeDomain), makes its RSA-2048 and Ed25519 keys, seals them
// and stores the domain pending (verified at once in demo mode), audited
// "domain.add". It returns the domain and the records to publish. A name
// another organization holds is an input error that does not say who.
func (s *Service) Add(ctx context.Context, a Actor, name string) (Domain, []Record, error) {
	if err := a.mayChange(); err != nil {
		return Domain{}, nil, err
	}
	d, err := NormalizeDomain(name)
	if err != nil {
		return Domain{}, nil, inputErr(err.Error())
	}
	if _, err := store.GetOrganization(ctx, s.deps.DB.Reader(), a.orgID); err != nil {
		return Domain{}, nil, fmt.Errorf("add sender domain: organization: %w", err)
	}
	// A cheap answer before the key generation; repeated in the transaction.
	if err := s.claimable(ctx, s.deps.DB.Reader(), a.orgID, d); err != nil {
		return Domain{}, nil, err
	}
	keys, err := dkim.GenerateKeys(d)
	if err != nil {
		return Domain{}, nil, fmt.Errorf("add sender domain: %w", err)
	}
	now := s.now()
	row := store.SenderDomainRow{ID: id.New(idPrefix), OrgID: a.orgID, Domain: d, Status: store.SenderDomainPending,
		RSASelector: keys.Selectors.RSA, EdSelector: keys.Selectors.Ed25519, CreatedAt: now}
	if s.opts.Demo {
		row.Status, row.VerifiedAt = store.SenderDomainVerified, now
		row.LastCheck = stored{VerifiedBy: VerifiedByDemo}.encode()
	}
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := s.release(ctx, tx, a.orgID, d); err != nil {
			return err
		}
		sealed, v, err := s.sealKeys(ctx, tx, a.orgID, row.ID, keys)
		if err != nil {
			return err
		}
		row.DKIMKeys, row.DEKVersion = sealed, v
		if err := store.InsertSenderDomain(ctx, tx, row); err != nil {
			if errors.Is(err, store.ErrConflict) { // another request won the name meanwhile
				return inputErr(msgTaken)
			}
			return err
		}
		details := map[string]string{"domain": d, "rsa_selector": row.RSASelector, "ed25519_selector": row.EdSelector}
		if err := s.record(ctx, tx, a, "domain.add", row.ID, details); err != nil {
			return err
		}
		if s.opts.Demo {
			return s.record(ctx, tx, a, "domain.verify", row.ID, map[string]string{"domain": d, "verified_by": VerifiedByDemo})
		}
		return nil
	})
	if err != nil {
		return Domain{}, nil, err
	}
	recs, err := s.records(d, keys)
	if err != nil {
		return Domain{}, nil, err
	}
	dom, err := s.fromRow(row)
	return dom, recs, err
}

// claimable refuses a name someone holds: the actor's organization, or
// another one whose claim is verified or younger than PendingClaim.
func (s *Service) claimable(ctx context.Context, q store.Querier, org, domain string) error {
	c, err := store.SenderDomainClaim(ctx, q, domain)
	switch {
	case isNotFound(err):
		return nil
	case err != nil:
		return err
	case c.OrgID == org:
		return inputErr(msgOwn)
	case s.expired(c):
		return nil
	default:
		return inputErr(msgTaken)
	}
}

// expired reports whether another organization's claim may be taken over:
// it never sent (not verified by DNS) and is older than PendingClaim.
func (s *Service) expired(c store.SenderDomainRow) bool {
	st, err := parseStored(c.LastCheck)
	if err != nil {
		return false
	}
	dnsVerified := c.Status == store.SenderDomainVerified && st.VerifiedBy == VerifiedByDNS
	return !dnsVerified && !s.sends(c.Status, st) && s.now().Sub(c.CreatedAt) > s.opts.PendingClaim
}

// release checks the name inside tx and, when another organization's claim
// has expired, deletes it, audited "domain.release" in that organization's
// chain.
func (s *Service) release(ctx context.Context, tx *store.Tx, org, domain string) error {
	if err := s.claimable(ctx, tx, org, domain); err != nil {
		return err
	}
	c, err := store.SenderDomainClaim(ctx, tx, domain)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := store.DeleteSenderDomain(ctx, tx, c.OrgID, c.ID); err != nil {
		return err
	}
	tx.AfterCommit(func() { s.cache.drop(c.OrgID, c.Domain) })
	return s.record(ctx, tx, System(c.OrgID, "senderdomain"), "domain.release", c.ID,
		map[string]string{"domain": c.Domain, "reason": "unverified claim expired; another organization added the domain"})
}

// Delete removes a domain and its keys, audited "domain.delete". It refuses
// (*InUseError) while mail from the domain awaits delivery.
// store.ErrNotFound if the actor's organization has no domain with that id.
func (s *Service) Delete(ctx context.Context, a Actor, domainID string) error {
	if err := a.mayChange(); err != nil {
		return err
	}
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		r, err := store.GetSenderDomain(ctx, tx, a.orgID, domainID)
		if err != nil {
			return err
		}
		n, err := store.CountUndeliveredFrom(ctx, tx, a.orgID, r.Domain)
		if err != nil {
			return err
		}
		if n > 0 {
			return &InUseError{Undelivered: n}
		}
		if err := store.DeleteSenderDomain(ctx, tx, a.orgID, r.ID); err != nil {
			return err
		}
		tx.AfterCommit(func() { s.cache.drop(r.OrgID, r.Domain) })
		return s.record(ctx, tx, a, "domain.delete", r.ID, map[string]string{"domain": r.Domain})
	})
}
