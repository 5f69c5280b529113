package contact

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// Per-contact keys. Each contact has a random AES-256 key; its PHI map and
// its events' properties are sealed under it, and the key itself is sealed
// by the keyring under the organization's data key (table contact_keys).
// Deleting the key row crypto-shreds the contact.
//
// Ciphertext under a contact key:
//
//	byte  0      format, 0x01
//	bytes 1..12  nonce, 96 random bits (NIST SP 800-38D section 8.2.2)
//	bytes 13..   AES-256-GCM ciphertext and 16-byte tag
//
// The additional data binds it to its record like the keyring's AAD does:
// "carepost:contact:v1\x00", the format byte, then organization, table,
// column and row id, each with a uint32 length prefix. A contact key seals
// a handful of values in its life, far inside the 2^32 random-nonce limit
// (section 8.3).
const (
	sealFormat    byte = 0x01
	sealNonceSize      = 12
	sealOverhead       = 1 + sealNonceSize + 16
	contactAAD         = "carepost:contact:v1\x00"
	keyTable           = "contact_keys"
	keyColumn          = "wrapped_key"
)

// ErrShredded means a contact's key is gone: it was deleted and its sealed
// values can never be opened again.
var ErrShredded = errors.New("contact key destroyed (contact deleted)")

// errOpen is any sealed value that does not open; it names no value.
var errOpen = errors.New("contact: sealed value does not open")

// recordAAD names what a ciphertext under a contact key belongs to.
type recordAAD struct{ org, table, column, row string }

func (a recordAAD) encode() []byte {
	b := make([]byte, 0, len(contactAAD)+1+16+len(a.org)+len(a.table)+len(a.column)+len(a.row))
	b = append(b, contactAAD...)
	b = append(b, sealFormat)
	for _, f := range []string{a.org, a.table, a.column, a.row} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

func phiAAD(orgID, contactID string) recordAAD {
	return recordAAD{org: orgID, table: "contacts", column: "phi", row: contactID}
}

func propertiesAAD(orgID, eventID string) recordAAD {
	return recordAAD{org: orgID, table: "contact_events", column: "properties", row: eventID}
}

// newKey returns a fresh contact key and its AEAD.
func newKey() ([]byte, cipher.AEAD, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, nil, fmt.Errorf("generate contact key: %w", err)
	}
	aead, err := aeadFor(raw)
	return raw, aead, err
}

func aeadFor(raw []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("contact key: %w", err)
	}
	return cipher.NewGCM(block)
}

func keyAAD(orgID, contactID string) keyring.AAD {
	return keyring.AAD{Scope: orgID, Table: keyTable, Column: keyColumn, RowID: contactID}
}

// wrapKey seals a contact key with the organization's current data key.
func (s *Service) wrapKey(ctx context.Context, tx *store.Tx, orgID, contactID string, raw []byte) ([]byte, int, error) {
	return s.deps.Keys.Seal(ctx, tx, keyAAD(orgID, contactID), raw)
}

// unwrapKey opens a contact's wrapped key. A missing key row is ErrShredded.
func (s *Service) unwrapKey(ctx context.Context, q store.Querier, orgID, contactID string, wrapped []byte) (cipher.AEAD, error) {
	if len(wrapped) == 0 {
		return nil, ErrShredded
	}
	raw, err := s.deps.Keys.Open(ctx, q, keyAAD(orgID, contactID), wrapped)
	if err != nil {
		return nil, fmt.Errorf("open contact key %s/%s: %w", orgID, contactID, err)
	}
	defer clear(raw)
	return aeadFor(raw)
}

// sealWith encrypts plaintext under a contact key for the record aad.
func sealWith(aead cipher.AEAD, aad recordAAD, plaintext []byte) ([]byte, error) {
	out := make([]byte, 1+sealNonceSize, sealOverhead+len(plaintext))
	out[0] = sealFormat
	if _, err := rand.Read(out[1 : 1+sealNonceSize]); err != nil {
		return nil, fmt.Errorf("read random nonce: %w", err)
	}
	return aead.Seal(out, out[1:1+sealNonceSize], plaintext, aad.encode()), nil
}

// openWith decrypts a ciphertext sealed by sealWith for the record aad.
func openWith(aead cipher.AEAD, aad recordAAD, ct []byte) ([]byte, error) {
	if len(ct) < sealOverhead || ct[0] != sealFormat {
		return nil, errOpen
	}
	pt, err := aead.Open(nil, ct[1:1+sealNonceSize], ct[1+sealNonceSize:], aad.encode())
	if err != nil {
		return nil, errOpen
	}
	return pt, nil
}

// OpenSealedPHI tries to open a contact's sealed PHI map from its bytes as
// they were stored — a copy taken before the contact was deleted, say — with
// the contact's key as the database holds it now. After Delete it fails
// with ErrShredded: that is what crypto-shredding means. It exists for
// tests and for the operator's "prove it is gone" check; it returns only
// whether the bytes open, never their content.
func (s *Service) OpenSealedPHI(ctx context.Context, orgID, contactID string, sealed []byte) error {
	wrapped, err := store.ContactKey(ctx, s.deps.DB.Reader(), orgID, contactID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrShredded
	}
	if err != nil {
		return err
	}
	aead, err := s.unwrapKey(ctx, s.deps.DB.Reader(), orgID, contactID, wrapped)
	if err != nil {
		return err
	}
	_, err = openWith(aead, phiAAD(orgID, contactID), sealed)
	return err
}
