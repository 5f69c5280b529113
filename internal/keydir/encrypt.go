package keydir

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/carepost/carepost/internal/pgp"
	"github.com/carepost/carepost/internal/smime"
	"github.com/carepost/carepost/internal/store"
)

// Sources of a Key.
const (
	SourceDirectory = "directory" // uploaded to the organization's directory
	SourceWKD       = "wkd"       // found in the recipient's Web Key Directory
)

// Key is a recipient's key that is valid now.
type Key struct {
	Kind   string // KindPGP or KindSMIME
	ID     string // the directory entry; "" for a WKD key
	Source string
	PGP    *openpgp.Entity     // KindPGP
	Chain  []*x509.Certificate // KindSMIME: the recipient's certificate first
}

// Key returns the key to encrypt to email with: the most recently changed
// directory entry bound to the address that passes its kind's checks now
// (pgp.Check, smime.Verify), else, when enabled, a key from the
// recipient's Web Key Directory. ErrNoKey when there is none. It only
// reads, through the read pool, so it may be called inside or outside a
// transaction; a WKD lookup is network I/O bounded by Options.WKDTimeout.
func (s *Service) Key(ctx context.Context, orgID, email string) (*Key, error) {
	addr := normalize(email)
	now := s.now()
	q := s.deps.DB.Reader()
	ix, err := s.deps.Index.Lookup(ctx, q, orgID, "email", addr)
	switch {
	case errors.Is(err, store.ErrNotFound): // nothing indexed in this organization yet
	case err != nil:
		return nil, err
	default:
		rows, err := store.RecipientKeysForAddress(ctx, q, orgID, ix)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			_, m, err := s.open(ctx, q, r)
			if err != nil {
				return nil, err
			}
			if m.check(addr, s.opts.Roots, now) != nil {
				continue
			}
			return &Key{Kind: m.kind, ID: r.ID, Source: SourceDirectory, PGP: m.pgp, Chain: m.chain}, nil
		}
	}
	if s.wkd != nil {
		k, err := s.wkd.lookup(ctx, addr, now)
		if err != nil {
			// A lookup failure is no key: the caller falls back, which is
			// the safe direction. Logged without the address.
			s.opts.Log.Warn("web key directory lookup failed", "org", orgID, "err", err)
		} else if k != nil {
			return &Key{Kind: KindPGP, Source: SourceWKD, PGP: k}, nil
		}
	}
	return nil, ErrNoKey
}

// HasValidKey reports whether email has a key valid now, and its kind
// ("pgp" or "smime"): what the policy engine asks before choosing e2e. It
// never writes. A key may expire between this answer and Encrypt, which
// then returns ErrNoKey.
func (s *Service) HasValidKey(ctx context.Context, orgID, email string) (kind string, ok bool, err error) {
	k, err := s.Key(ctx, orgID, email)
	if errors.Is(err, ErrNoKey) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return k.Kind, true, nil
}

// Encrypt is the seam delivery calls for a recipient whose method is e2e:
// it encrypts raw (the whole RFC 5322 message, before DKIM signing) to
// email's key, checked again now, and returns the message to send and the
// method used, KindPGP (PGP/MIME) or KindSMIME. The organization's signing
// key of that kind signs when it has one. ErrNoKey when the recipient has
// no valid key any more: fall back to the portal, never send raw.
func (s *Service) Encrypt(ctx context.Context, orgID, email string, raw []byte) ([]byte, string, error) {
	k, err := s.Key(ctx, orgID, email)
	if err != nil {
		return nil, "", err
	}
	now := s.opts.Clock
	switch k.Kind {
	case KindPGP:
		signer, err := s.pgpSigner(ctx, orgID)
		if err != nil {
			return nil, "", err
		}
		out, err := pgp.Encrypt(raw, []*openpgp.Entity{k.PGP}, pgp.Options{Signer: signer, NeutralSubject: s.opts.NeutralSubject, Now: now})
		if err != nil {
			return nil, "", fmt.Errorf("keydir: %w", err)
		}
		return out, KindPGP, nil
	case KindSMIME:
		signer, err := s.smimeSigner(ctx, orgID)
		if err != nil {
			return nil, "", err
		}
		out, err := smime.Encrypt(raw, k.Chain[:1], smime.Options{Cipher: s.opts.SMIMECipher, OAEP: s.opts.SMIMEOAEP,
			Signer: signer, NeutralSubject: s.opts.NeutralSubject, Now: now})
		if err != nil {
			return nil, "", fmt.Errorf("keydir: %w", err)
		}
		return out, KindSMIME, nil
	}
	return nil, "", fmt.Errorf("keydir: unknown key kind %q", k.Kind)
}
