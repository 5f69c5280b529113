package pgp

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/carepost/carepost/internal/e2e"
)

// Options tune Encrypt.
type Options struct {
	// Signer, with its private key decrypted, signs the message inside the
	// encryption (RFC 3156 section 6.2, the combined method). Nil: not
	// signed.
	Signer *openpgp.Entity
	// NeutralSubject replaces the outer Subject. Default
	// e2e.DefaultNeutralSubject ("...").
	NeutralSubject string
	// Now is the time keys are checked at and the signature carries.
	// Default time.Now.
	Now func() time.Time
}

// ErrNoRecipients: Encrypt needs at least one key.
var ErrNoRecipients = errors.New("pgp: no recipient keys")

// Encrypt turns raw, an RFC 5322 message, into a PGP/MIME message (RFC
// 3156 section 4) for the recipients' keys: the outer header (package e2e),
// then
//
//	Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"
//	  part 1: application/pgp-encrypted, "Version: 1"
//	  part 2: application/octet-stream, the ASCII-armored OpenPGP message
//
// The OpenPGP message encrypts the inner MIME entity with its protected
// headers: AES-256 (or the best cipher every recipient prefers), in a
// version 2 SEIPD packet with AEAD when every recipient's key announces
// support for it (RFC 9580 section 5.13.2), else version 1 with the MDC
// (RFC 4880 section 5.13), which GnuPG 2.2 and most clients read. With
// Options.Signer the literal data is signed with SHA-256 inside the
// encryption, one OpenPGP message rather than a multipart/signed within
// (RFC 3156 section 6.2 allows both; the combined form hides who signed
// from anyone who cannot decrypt, and every OpenPGP client verifies it).
// Each key is checked with Check's rules by the caller; Encrypt refuses a
// key without a valid encryption subkey at Options.Now.
func Encrypt(raw []byte, to []*openpgp.Entity, opts Options) ([]byte, error) {
	if len(to) == 0 {
		return nil, ErrNoRecipients
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	env, err := e2e.Split(raw, opts.NeutralSubject)
	if err != nil {
		return nil, fmt.Errorf("pgp: %w", err)
	}
	armored, err := encryptEntity(env.Inner, to, opts)
	if err != nil {
		return nil, err
	}
	boundary := e2e.Boundary(armored)
	ct := "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n boundary=\"" + boundary + "\"\r\n"
	var body bytes.Buffer
	body.Grow(len(armored) + 512)
	// RFC 3156 section 4: the preamble is for readers without MIME.
	body.WriteString("This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n")
	body.WriteString("--" + boundary + "\r\n")
	body.WriteString("Content-Type: application/pgp-encrypted\r\n")
	body.WriteString("Content-Description: PGP/MIME version identification\r\n\r\n")
	body.WriteString("Version: 1\r\n\r\n")
	body.WriteString("--" + boundary + "\r\n")
	body.WriteString("Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n")
	body.WriteString("Content-Description: OpenPGP encrypted message\r\n")
	body.WriteString("Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n")
	body.Write(armored)
	body.WriteString("\r\n--" + boundary + "--\r\n")
	return env.Wrap(ct, body.Bytes()), nil
}

// encryptEntity returns the ASCII-armored OpenPGP message for entity, with
// CRLF line endings.
func encryptEntity(entity []byte, to []*openpgp.Entity, opts Options) ([]byte, error) {
	now := opts.Now()
	for _, e := range to {
		if t := skewed(e, now); t.After(now) {
			now = t
		}
	}
	cfg := &packet.Config{
		DefaultCipher: packet.CipherAES256,
		DefaultHash:   crypto.SHA256,
		Time:          func() time.Time { return now },
		// Used only when every recipient key announces SEIPDv2.
		AEADConfig: &packet.AEADConfig{},
	}
	var buf bytes.Buffer
	aw, err := armor.Encode(&buf, "PGP MESSAGE", nil)
	if err != nil {
		return nil, fmt.Errorf("pgp: armor: %w", err)
	}
	// The literal data is binary: the entity's line endings are already
	// canonical and must arrive unchanged (RFC 3156 section 4).
	pw, err := openpgp.Encrypt(aw, to, opts.Signer, &openpgp.FileHints{IsBinary: true}, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgp: encrypt: %w", err)
	}
	if _, err := pw.Write(entity); err != nil {
		return nil, fmt.Errorf("pgp: encrypt: %w", err)
	}
	if err := pw.Close(); err != nil {
		return nil, fmt.Errorf("pgp: encrypt: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("pgp: armor: %w", err)
	}
	return e2e.Canonical(buf.Bytes()), nil
}
