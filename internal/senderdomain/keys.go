package senderdomain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/carepost/carepost/internal/dkim"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// bundle is the plaintext sealed in sender_domains.dkim_keys: both private
// keys as PKCS #8 DER (base64 in the JSON). The selectors are columns.
type bundle struct {
	V       int    `json:"v"`
	RSA     []byte `json:"rsa"`
	Ed25519 []byte `json:"ed25519"`
}

func keysAAD(org, id string) keyring.AAD {
	return keyring.AAD{Scope: org, Table: "sender_domains", Column: "dkim_keys", RowID: id}
}

// sealKeys seals both private keys for row id of org inside tx.
func (s *Service) sealKeys(ctx context.Context, tx *store.Tx, org, id string, k dkim.Keys) ([]byte, int, error) {
	rsaDER, err := dkim.MarshalPrivateKey(k.RSA)
	if err != nil {
		return nil, 0, err
	}
	edDER, err := dkim.MarshalPrivateKey(k.Ed25519)
	if err != nil {
		return nil, 0, err
	}
	pt, err := json.Marshal(bundle{V: 1, RSA: rsaDER, Ed25519: edDER})
	clear(rsaDER)
	clear(edDER)
	if err != nil {
		return nil, 0, fmt.Errorf("encode DKIM keys: %w", err)
	}
	defer clear(pt)
	ct, v, err := s.deps.Keys.Seal(ctx, tx, keysAAD(org, id), pt)
	if err != nil {
		return nil, 0, fmt.Errorf("seal DKIM keys: %w", err)
	}
	return ct, v, nil
}

// openKeys unseals a row's keys.
func (s *Service) openKeys(ctx context.Context, q store.Querier, r store.SenderDomainRow) (dkim.Keys, error) {
	pt, err := s.deps.Keys.Open(ctx, q, keysAAD(r.OrgID, r.ID), r.DKIMKeys)
	if err != nil {
		return dkim.Keys{}, fmt.Errorf("open DKIM keys of %s: %w", r.ID, err)
	}
	defer clear(pt)
	var b bundle
	if err := json.Unmarshal(pt, &b); err != nil || b.V != 1 {
		return dkim.Keys{}, fmt.Errorf("DKIM keys of %s: unknown encoding", r.ID)
	}
	defer clear(b.RSA)
	defer clear(b.Ed25519)
	rk, err := dkim.ParseRSAPrivateKey(b.RSA)
	if err != nil {
		return dkim.Keys{}, err
	}
	ek, err := dkim.ParseEd25519PrivateKey(b.Ed25519)
	if err != nil {
		return dkim.Keys{}, err
	}
	return dkim.Keys{RSA: rk, Ed25519: ek, Selectors: dkim.Selectors{RSA: r.RSASelector, Ed25519: r.EdSelector}}, nil
}

// cache holds unsealed keys and their Signer per (organization, domain),
// valid while the row still has the same id and the same ciphertext.
type cache struct {
	mu sync.Mutex
	m  map[cacheKey]cached
}

type cacheKey struct{ org, domain string }

type cached struct {
	id     string
	sealed []byte
	keys   dkim.Keys
	signer *dkim.Signer
}

func (c *cache) get(r store.SenderDomainRow) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[cacheKey{r.OrgID, r.Domain}]
	if !ok || e.id != r.ID || !bytes.Equal(e.sealed, r.DKIMKeys) {
		return cached{}, false
	}
	return e, true
}

func (c *cache) put(r store.SenderDomainRow, e cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.id, e.sealed = r.ID, bytes.Clone(r.DKIMKeys)
	c.m[cacheKey{r.OrgID, r.Domain}] = e
}

func (c *cache) drop(org, domain string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, cacheKey{org, domain})
}

// keysFor returns a row's keys and signer, from the cache when the row is
// unchanged.
func (s *Service) keysFor(ctx context.Context, q store.Querier, r store.SenderDomainRow) (cached, error) {
	if e, ok := s.cache.get(r); ok {
		return e, nil
	}
	k, err := s.openKeys(ctx, q, r)
	if err != nil {
		return cached{}, err
	}
	// RFC 8463 section 4: sign with both, RSA first for verifiers that
	// stop at the first signature they understand.
	sig, err := dkim.NewSigner(r.Domain, k, dkim.RSASHA256, dkim.Ed25519SHA256)
	if err != nil {
		return cached{}, err
	}
	e := cached{keys: k, signer: sig}
	s.cache.put(r, e)
	return e, nil
}

// Signer returns the DKIM signer of orgID's domain for the delivery
// workers: both keys, dual signing. The domain must be verified (as
// Verified answers); an unknown domain is store.ErrNotFound and a pending
// one ErrNotVerified. The row is read on every call, so a domain deleted or
// re-keyed on another node stops signing at once; the unsealed keys are
// cached while the row's ciphertext is unchanged.
func (s *Service) Signer(ctx context.Context, orgID, domain string) (*dkim.Signer, error) {
	n, err := NormalizeDomain(domain)
	if err != nil {
		return nil, fmt.Errorf("sender domain signer: %w", store.ErrNotFound)
	}
	q := s.deps.DB.Reader()
	r, err := store.SenderDomainByName(ctx, q, orgID, n)
	if err != nil {
		return nil, fmt.Errorf("sender domain signer: %w", err)
	}
	st, err := parseStored(r.LastCheck)
	if err != nil {
		return nil, err
	}
	if !s.sends(r.Status, st) {
		return nil, fmt.Errorf("sender domain signer %s: %w", r.ID, ErrNotVerified)
	}
	e, err := s.keysFor(ctx, q, r)
	if err != nil {
		return nil, fmt.Errorf("sender domain signer: %w", err)
	}
	return e.signer, nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
