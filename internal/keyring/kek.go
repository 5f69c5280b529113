package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrDecrypt means a ciphertext (or a wrapped data key) does not open:
	// it was tampered with, moved to another record, or sealed under another
	// key. It never carries plaintext or key material.
	ErrDecrypt = errors.New("ciphertext does not open: tampered, moved, or wrong key")
	// ErrUnknownKEK means a data key is wrapped under a key-encryption key
	// this node does not have: the keyset is not the one the data was
	// written with, or an old key was removed before RewrapAll finished.
	ErrUnknownKEK = errors.New("data key is wrapped under a key-encryption key this node does not have")
)

// KeyEncrypter wraps and unwraps data keys under a key-encryption key (KEK).
// Keyset is the local implementation; a KMS can implement it later.
type KeyEncrypter interface {
	// Wrap encrypts a data key under the primary KEK, returning that KEK's id.
	Wrap(ctx context.Context, dek, aad []byte) (kekID string, wrapped []byte, err error)
	// Unwrap decrypts a data key wrapped under the KEK named by kekID.
	Unwrap(ctx context.Context, kekID string, wrapped, aad []byte) ([]byte, error)
	// PrimaryID names the KEK that Wrap uses.
	PrimaryID() string
}

var _ KeyEncrypter = (*Keyset)(nil)

// keySize is 256 bits, for AES-256.
const keySize = 32

// wrapFormat is the first byte of a key wrapped by a Keyset; the nonce and
// the AES-256-GCM sealed key follow.
const wrapFormat byte = 0x01

// Keyset is a local KeyEncrypter: one or more 256-bit KEKs, the first of
// which is the primary. A Keyset is immutable; WithNewPrimary and Without
// return new ones. Its String method prints ids only.
type Keyset struct {
	keys []kek
}

type kek struct {
	id   string
	raw  []byte
	aead cipher.AEAD
}

func newKEK(raw []byte) (kek, error) {
	if len(raw) != keySize {
		return kek{}, fmt.Errorf("key-encryption key is %d bytes, want %d", len(raw), keySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return kek{}, fmt.Errorf("key-encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return kek{}, fmt.Errorf("key-encryption key: %w", err)
	}
	return kek{id: fingerprint(raw), raw: raw, aead: aead}, nil
}

// fingerprint is a key's public id: "k1-" and 6 bytes of a domain-separated
// SHA-256 of the key. It reveals nothing usable about the key and lets the
// database record which KEK wrapped each data key.
func fingerprint(raw []byte) string {
	h := sha256.New()
	h.Write([]byte("carepost:kek-id:v1\x00"))
	h.Write(raw)
	return "k1-" + hex.EncodeToString(h.Sum(nil)[:6])
}

func randomKEK() (kek, error) {
	raw := make([]byte, keySize)
	if _, err := rand.Read(raw); err != nil {
		return kek{}, fmt.Errorf("generate key-encryption key: %w", err)
	}
	return newKEK(raw)
}

// GenerateKeyset returns a keyset holding one new random key.
func GenerateKeyset() (*Keyset, error) {
	k, err := randomKEK()
	if err != nil {
		return nil, err
	}
	return &Keyset{keys: []kek{k}}, nil
}

// WithNewPrimary returns a keyset with a fresh random key prepended as the
// primary; the existing keys stay so data wrapped under them still opens.
func (ks *Keyset) WithNewPrimary() (*Keyset, error) {
	k, err := randomKEK()
	if err != nil {
		return nil, err
	}
	return &Keyset{keys: append([]kek{k}, ks.keys...)}, nil
}

// Without returns the keyset minus the key named id. It refuses to remove
// the primary (make a new primary first) or a key it does not hold. Check
// with Keyring.Status that no data key is still wrapped under id.
func (ks *Keyset) Without(id string) (*Keyset, error) {
	if id == ks.PrimaryID() {
		return nil, fmt.Errorf("remove key-encryption key %s: it is the primary", id)
	}
	out := &Keyset{}
	for _, k := range ks.keys {
		if k.id != id {
			out.keys = append(out.keys, k)
		}
	}
	if len(out.keys) == len(ks.keys) {
		return nil, fmt.Errorf("remove key-encryption key %s: not in the keyset", id)
	}
	return out, nil
}

// PrimaryID is the id of the key new data keys are wrapped under.
func (ks *Keyset) PrimaryID() string { return ks.keys[0].id }

// IDs lists the key ids, primary first.
func (ks *Keyset) IDs() []string {
	ids := make([]string, len(ks.keys))
	for i, k := range ks.keys {
		ids[i] = k.id
	}
	return ids
}

// String prints the key ids only, never key material.
// It has a value receiver so a dereferenced Keyset is covered too.
func (ks Keyset) String() string {
	return "keyset[" + strings.Join(ks.IDs(), " ") + "]"
}

// GoString keeps %#v from printing key material.
func (ks Keyset) GoString() string { return ks.String() }

// Wrap seals dek under the primary key: format byte, random 96-bit nonce
// (NIST SP 800-38D section 8.2.2), AES-256-GCM with aad.
func (ks *Keyset) Wrap(_ context.Context, dek, aad []byte) (string, []byte, error) {
	k := ks.keys[0]
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(dek)+tagSize)
	out[0] = wrapFormat
	if _, err := rand.Read(out[1:]); err != nil {
		return "", nil, fmt.Errorf("wrap data key: read random nonce: %w", err)
	}
	return k.id, k.aead.Seal(out, out[1:], dek, aad), nil
}

// Unwrap opens a data key wrapped under the key named kekID.
func (ks *Keyset) Unwrap(_ context.Context, kekID string, wrapped, aad []byte) ([]byte, error) {
	for _, k := range ks.keys {
		if k.id != kekID {
			continue
		}
		if len(wrapped) < 1+nonceSize+tagSize || wrapped[0] != wrapFormat {
			return nil, fmt.Errorf("unwrap data key under %s: %w", kekID, ErrDecrypt)
		}
		dek, err := k.aead.Open(nil, wrapped[1:1+nonceSize], wrapped[1+nonceSize:], aad)
		if err != nil {
			return nil, fmt.Errorf("unwrap data key under %s: %w", kekID, ErrDecrypt)
		}
		return dek, nil
	}
	return nil, fmt.Errorf("unwrap data key under %s (keyset has %s): %w", kekID, strings.Join(ks.IDs(), ", "), ErrUnknownKEK)
}
