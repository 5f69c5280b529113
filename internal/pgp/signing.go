package pgp

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// GenerateSigningKey makes an organization's signing key: a version 4
// EdDSA key on Ed25519 (RFC 9580 section 5.5.5.5, the "legacy" EdDSA that
// GnuPG 2.2 and every current client verify) with a Curve25519 ECDH
// encryption subkey, no expiry, and a user ID "name (carepost signing
// key)" without an address, since the organization sends from many. It
// returns the key and its private serialization (binary, unencrypted:
// seal it before storing).
func GenerateSigningKey(name string, now time.Time) (*openpgp.Entity, []byte, error) {
	cfg := &packet.Config{
		Algorithm:     packet.PubKeyAlgoEdDSA,
		Curve:         packet.Curve25519,
		DefaultHash:   crypto.SHA256,
		DefaultCipher: packet.CipherAES256,
		Time:          func() time.Time { return now },
	}
	e, err := openpgp.NewEntity(sanitizeName(name), "carepost signing key", "", cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("pgp: generate signing key: %w", err)
	}
	var buf bytes.Buffer
	if err := e.SerializePrivate(&buf, cfg); err != nil {
		return nil, nil, fmt.Errorf("pgp: serialize signing key: %w", err)
	}
	return e, buf.Bytes(), nil
}

// ReadSigningKey parses a private key written by GenerateSigningKey.
func ReadSigningKey(private []byte) (*openpgp.Entity, error) {
	el, err := openpgp.ReadKeyRing(bytes.NewReader(private))
	if err != nil {
		return nil, fmt.Errorf("pgp: read signing key: %w", err)
	}
	if len(el) != 1 || el[0].PrivateKey == nil || el[0].PrivateKey.Encrypted {
		return nil, errors.New("pgp: read signing key: not one unencrypted private key")
	}
	return el[0], nil
}

// ArmorPublic returns the public part of e, ASCII-armored (RFC 9580
// section 6.2), for publication.
func ArmorPublic(e *openpgp.Entity) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.Serialize(w); err != nil {
		return nil, fmt.Errorf("pgp: serialize public key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// sanitizeName keeps a user ID's name printable: no control characters,
// and none of "(<>" that would make the user ID ambiguous (RFC 9580
// section 5.11 suggests "name (comment) <address>").
func sanitizeName(name string) string {
	out := make([]rune, 0, len(name))
	for _, r := range name {
		switch {
		case r < ' ' || r == 0x7f, r == '(' || r == ')' || r == '<' || r == '>':
			out = append(out, ' ')
		default:
			out = append(out, r)
		}
	}
	s := strings.Join(strings.Fields(string(out)), " ")
	if s == "" {
		s = "carepost"
	}
	return s
}
