package keydir

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/carepost/carepost/internal/pgp"
	"github.com/carepost/carepost/internal/smime"
	"github.com/carepost/carepost/internal/store"
)

// Blob ids (in the organization's scope) of the signing keys. Blobs are
// sealed by the keyring and re-encrypted on rotation.
const (
	pgpSignerBlob   = "openpgp-signing-key"
	smimeSignerBlob = "smime-signing-key"
)

// SigningKeys are the public halves of an organization's signing keys.
type SigningKeys struct {
	OpenPGP *OpenPGPPublic
	SMIME   *SMIMEPublic
}

// OpenPGPPublic is the organization's OpenPGP signing key, to publish.
type OpenPGPPublic struct {
	Fingerprint string
	Armored     string
	Created     time.Time
}

// SMIMEPublic is the organization's S/MIME signing certificate.
type SMIMEPublic struct {
	Chain    string // PEM
	Emails   []string
	NotAfter time.Time
}

// smimeSignerBlobContent is the sealed S/MIME signing identity.
type smimeSignerBlobContent struct {
	Chain []byte `json:"chain"` // PEM
	Key   []byte `json:"key"`   // PKCS #8 DER
}

// GenerateOpenPGPSigningKey makes (or replaces) the organization's OpenPGP
// signing key, sealed as a blob; from then on PGP/MIME messages are
// signed. Audited signing_key.generate.
func (s *Service) GenerateOpenPGPSigningKey(ctx context.Context, a Actor) (SigningKeys, error) {
	if err := a.mayManage(); err != nil {
		return SigningKeys{}, err
	}
	org, err := store.GetOrganization(ctx, s.deps.DB.Reader(), a.orgID)
	if err != nil {
		return SigningKeys{}, err
	}
	e, private, err := pgp.GenerateSigningKey(org.Name, s.now())
	if err != nil {
		return SigningKeys{}, err
	}
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := s.replaceBlob(ctx, tx, a.orgID, pgpSignerBlob, private); err != nil {
			return err
		}
		return s.record(ctx, tx, a, "signing_key.generate", "signing_key", "openpgp",
			map[string]string{"fingerprint": pgp.Describe(e, s.now()).Fingerprint})
	})
	if err != nil {
		return SigningKeys{}, err
	}
	return s.SigningKeys(ctx, a)
}

// SetSMIMESigner stores the organization's S/MIME signing certificate
// chain and key (PEM; PKCS #8, PKCS #1 or SEC 1), sealed; from then on
// S/MIME messages are signed then enveloped. The certificate must be
// valid now and allow e-mail protection. Audited signing_key.set.
func (s *Service) SetSMIMESigner(ctx context.Context, a Actor, chainPEM, keyPEM []byte) (SigningKeys, error) {
	if err := a.mayManage(); err != nil {
		return SigningKeys{}, err
	}
	signer, err := parseSigner(chainPEM, keyPEM, s.now())
	if err != nil {
		return SigningKeys{}, inputErr("certificate", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(signer.Key)
	if err != nil {
		return SigningKeys{}, inputErr("private_key", err)
	}
	content, err := json.Marshal(smimeSignerBlobContent{Chain: pemChain(signer.Chain), Key: der})
	if err != nil {
		return SigningKeys{}, err
	}
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := s.replaceBlob(ctx, tx, a.orgID, smimeSignerBlob, content); err != nil {
			return err
		}
		return s.record(ctx, tx, a, "signing_key.set", "signing_key", "smime",
			map[string]string{"certificate_sha256": certFingerprint(signer.Chain[0])})
	})
	if err != nil {
		return SigningKeys{}, err
	}
	return s.SigningKeys(ctx, a)
}

// DeleteSigningKey removes the organization's signing key of kind
// (KindPGP or KindSMIME); messages of that kind are no longer signed.
// store.ErrNotFound when there is none. Audited signing_key.delete.
func (s *Service) DeleteSigningKey(ctx context.Context, a Actor, kind string) error {
	if err := a.mayManage(); err != nil {
		return err
	}
	blobID := map[string]string{KindPGP: pgpSignerBlob, KindSMIME: smimeSignerBlob}[kind]
	if blobID == "" {
		return store.ErrNotFound
	}
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := s.deps.Blobs.Delete(ctx, tx, a.orgID, blobID); err != nil {
			return err
		}
		return s.record(ctx, tx, a, "signing_key.delete", "signing_key", kind, nil)
	})
}

// SigningKeys returns the public halves of the organization's signing
// keys; any principal of the organization may read them (they are meant
// to be published).
func (s *Service) SigningKeys(ctx context.Context, a Actor) (SigningKeys, error) {
	if a.orgID == "" {
		return SigningKeys{}, errors.New("keydir: no organization")
	}
	var out SigningKeys
	e, err := s.pgpSigner(ctx, a.orgID)
	if err != nil {
		return SigningKeys{}, err
	}
	if e != nil {
		armored, err := pgp.ArmorPublic(e)
		if err != nil {
			return SigningKeys{}, err
		}
		in := pgp.Describe(e, s.now())
		out.OpenPGP = &OpenPGPPublic{Fingerprint: in.Fingerprint, Armored: string(armored), Created: in.Created}
	}
	sg, err := s.smimeSigner(ctx, a.orgID)
	if err != nil {
		return SigningKeys{}, err
	}
	if sg != nil {
		out.SMIME = &SMIMEPublic{Chain: string(pemChain(sg.Chain)), Emails: smime.Emails(sg.Chain[0]), NotAfter: sg.Chain[0].NotAfter.UTC()}
	}
	return out, nil
}

// pgpSigner is the organization's OpenPGP signing key, or nil.
func (s *Service) pgpSigner(ctx context.Context, org string) (*openpgp.Entity, error) {
	b, err := s.deps.Blobs.Get(ctx, s.deps.DB.Reader(), org, pgpSignerBlob)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return pgp.ReadSigningKey(b.Content)
}

// smimeSigner is the organization's S/MIME signing identity, or nil.
func (s *Service) smimeSigner(ctx context.Context, org string) (*smime.Signer, error) {
	b, err := s.deps.Blobs.Get(ctx, s.deps.DB.Reader(), org, smimeSignerBlob)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c smimeSignerBlobContent
	if err := json.Unmarshal(b.Content, &c); err != nil {
		return nil, fmt.Errorf("keydir: decode S/MIME signer: %w", err)
	}
	chain, err := smime.ParseChain(c.Chain)
	if err != nil {
		return nil, fmt.Errorf("keydir: stored S/MIME signer: %w", err)
	}
	key, err := x509.ParsePKCS8PrivateKey(c.Key)
	if err != nil {
		return nil, fmt.Errorf("keydir: stored S/MIME signing key: %w", err)
	}
	signer, _ := key.(crypto.Signer)
	return &smime.Signer{Chain: chain, Key: signer}, nil
}

func (s *Service) replaceBlob(ctx context.Context, tx *store.Tx, org, blobID string, content []byte) error {
	if err := s.deps.Blobs.Delete(ctx, tx, org, blobID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return s.deps.Blobs.Put(ctx, tx, org, blobID, blobID, content)
}

// parseSigner reads and checks an S/MIME signing identity.
func parseSigner(chainPEM, keyPEM []byte, now time.Time) (*smime.Signer, error) {
	chain, err := smime.ParseChain(chainPEM)
	if err != nil {
		return nil, err
	}
	leaf := chain[0]
	if now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return nil, smime.ErrExpired
	}
	if len(leaf.ExtKeyUsage) > 0 && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageEmailProtection) &&
		!slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return nil, smime.ErrUsage
	}
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, errors.New("the private key is not PEM")
	}
	var key any
	if key, err = x509.ParsePKCS8PrivateKey(b.Bytes); err != nil {
		if key, err = x509.ParsePKCS1PrivateKey(b.Bytes); err != nil {
			if key, err = x509.ParseECPrivateKey(b.Bytes); err != nil {
				return nil, errors.New("the private key is not PKCS #8, PKCS #1 or SEC 1")
			}
		}
	}
	cs, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("the private key cannot sign")
	}
	signer := &smime.Signer{Chain: chain, Key: cs}
	if err := signer.Check(); err != nil {
		return nil, err
	}
	return signer, nil
}
