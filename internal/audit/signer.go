package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Signer signs checkpoints. The application keeps the private key sealed by
// the keyring and hands the log a Signer; tests use NewEd25519Signer on a
// generated key.
type Signer interface {
	// KeyID is the short fingerprint of the public key (see KeyID).
	KeyID() string
	Public() ed25519.PublicKey
	Sign(msg []byte) []byte
}

// KeyID returns the fingerprint that names pub in checkpoints and in
// audit_signing_keys: the first 8 bytes of SHA-256(pub), in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

type ed25519Signer struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	id   string
}

// NewEd25519Signer returns a Signer over priv. It fails if priv is not an
// Ed25519 private key (the bytes usually come from storage).
func NewEd25519Signer(priv ed25519.PrivateKey) (Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("audit signing key: want %d bytes, have %d", ed25519.PrivateKeySize, len(priv))
	}
	pub := priv.Public().(ed25519.PublicKey)
	return &ed25519Signer{priv: priv, pub: pub, id: KeyID(pub)}, nil
}

func (s *ed25519Signer) KeyID() string             { return s.id }
func (s *ed25519Signer) Public() ed25519.PublicKey { return s.pub }
func (s *ed25519Signer) Sign(msg []byte) []byte    { return ed25519.Sign(s.priv, msg) }
