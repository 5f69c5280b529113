package pgp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// MaxKeySize bounds a key accepted for parsing, armored or binary. Keys
// with many third-party signatures reach a few hundred KiB; more is a
// flooded key (the SKS attack) and is refused rather than parsed.
const MaxKeySize = 1 << 20

// Why a key is refused. The messages are shown to administrators and never
// contain anything from the key.
var (
	ErrKeyFormat       = errors.New("not an OpenPGP public key (ASCII-armored or binary, RFC 9580 section 10.1)")
	ErrKeyTooLarge     = errors.New("the OpenPGP key is larger than 1 MiB")
	ErrPrivateKey      = errors.New("this is an OpenPGP private key: send the public key only")
	ErrRevoked         = errors.New("the OpenPGP key is revoked")
	ErrExpired         = errors.New("the OpenPGP key has expired")
	ErrNoEncryptionKey = errors.New("the OpenPGP key has no valid encryption subkey")
	ErrNoAddress       = errors.New("no valid (self-signed, unrevoked, unexpired) user ID of the OpenPGP key carries this address")
	ErrWeakKey         = errors.New("the OpenPGP encryption key is too weak: RSA below 2048 bits and ElGamal are refused")
)

// ParseKeys reads transferable public keys (RFC 9580 section 10.1) from
// data, ASCII-armored (section 6.2) or binary. Self-signatures are verified
// while parsing: a user ID or subkey without a valid binding signature is
// dropped, and a key whose revocation does not verify is refused.
func ParseKeys(data []byte) (openpgp.EntityList, error) {
	if len(data) > MaxKeySize {
		return nil, ErrKeyTooLarge
	}
	var r io.Reader = bytes.NewReader(data)
	if bytes.Contains(data, []byte("-----BEGIN PGP ")) {
		block, err := armor.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, ErrKeyFormat
		}
		switch block.Type {
		case openpgp.PublicKeyType:
		case openpgp.PrivateKeyType:
			return nil, ErrPrivateKey
		default:
			return nil, ErrKeyFormat
		}
		r = block.Body
	}
	el, err := openpgp.ReadKeyRing(r)
	if err != nil || len(el) == 0 {
		return nil, ErrKeyFormat
	}
	for _, e := range el {
		if e.PrivateKey != nil {
			return nil, ErrPrivateKey
		}
	}
	return el, nil
}

// Info describes a public key. None of it is checked: see Check.
type Info struct {
	// Fingerprint is the primary key's fingerprint in upper-case hex
	// (40 digits for v4 keys, 64 for v6).
	Fingerprint string
	Version     int
	// Emails are the addresses of the user IDs with a valid
	// self-signature, lower-cased, sorted, without duplicates.
	Emails  []string
	Created time.Time
	// Expires is when the primary key expires; zero when it does not.
	Expires time.Time
	// Algorithm names the encryption key Check would use, "" when none
	// is usable at the time given to Describe.
	Algorithm string
}

// Describe returns what a key says about itself at now.
func Describe(e *openpgp.Entity, now time.Time) Info {
	now = skewed(e, now)
	in := Info{
		Fingerprint: fmt.Sprintf("%X", e.PrimaryKey.Fingerprint),
		Version:     e.PrimaryKey.Version,
		Created:     e.PrimaryKey.CreationTime.UTC(),
	}
	for _, id := range e.Identities {
		if addr := identityEmail(id); addr != "" && !slices.Contains(in.Emails, addr) {
			in.Emails = append(in.Emails, addr)
		}
	}
	slices.Sort(in.Emails)
	if sig, _ := e.PrimarySelfSignature(); sig != nil && sig.KeyLifetimeSecs != nil && *sig.KeyLifetimeSecs > 0 {
		in.Expires = e.PrimaryKey.CreationTime.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second).UTC()
	}
	if k, ok := e.EncryptionKey(now); ok {
		in.Algorithm = algorithm(k.PublicKey)
	}
	return in
}

// Check applies carepost's rules for encrypting to e for address at now:
// the primary key is not revoked (RFC 9580 section 5.2.1.11) or expired
// (section 5.2.3.13); a user ID carrying address has a valid, unexpired,
// unrevoked self-signature; and a valid encryption-capable subkey (or an
// encryption-capable primary key) exists. Among several, the newest valid
// subkey is chosen (go-crypto's Entity.EncryptionKey, which the encryption
// itself uses too), and it must not be RSA below 2048 bits or ElGamal
// (RFC 9580 section 12.4 and 12.5). Call it when a key is uploaded and
// again every time it is used: keys expire while they sit in the
// directory. A key created up to MaxClockSkew ahead of now is checked as
// of its creation.
func Check(e *openpgp.Entity, address string, now time.Time) error {
	now = skewed(e, now)
	sig, _ := e.PrimarySelfSignature()
	switch {
	case e.Revoked(now):
		return ErrRevoked
	case sig == nil:
		return ErrNoAddress
	case e.PrimaryKey.KeyExpired(sig, now), sig.SigExpired(now):
		return ErrExpired
	}
	if !hasIdentity(e, address, now) {
		return ErrNoAddress
	}
	k, ok := e.EncryptionKey(now)
	if !ok {
		if anySubkey(e, func(s openpgp.Subkey) bool { return s.Revoked(now) }) {
			return ErrRevoked
		}
		if anySubkey(e, func(s openpgp.Subkey) bool { return s.PublicKey.KeyExpired(s.Sig, now) }) {
			return ErrExpired
		}
		return ErrNoEncryptionKey
	}
	bits, _ := k.PublicKey.BitLength()
	switch k.PublicKey.PubKeyAlgo {
	case packet.PubKeyAlgoElGamal:
		return ErrWeakKey
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly:
		if bits < 2048 {
			return ErrWeakKey
		}
	}
	return nil
}

// hasIdentity reports whether a user ID with address is valid at now.
func hasIdentity(e *openpgp.Entity, address string, now time.Time) bool {
	address = strings.ToLower(strings.TrimSpace(address))
	for _, id := range e.Identities {
		if identityEmail(id) != address || id.Revoked(now) {
			continue
		}
		// v6 keys may bind user IDs without key properties, but every
		// identity go-crypto keeps has a verified self-signature.
		if id.SelfSignature != nil && !id.SelfSignature.SigExpired(now) {
			return true
		}
	}
	return false
}

func anySubkey(e *openpgp.Entity, f func(openpgp.Subkey) bool) bool {
	for _, s := range e.Subkeys {
		if s.Sig != nil && s.Sig.FlagsValid && s.Sig.FlagEncryptCommunications && f(s) {
			return true
		}
	}
	return false
}

// identityEmail is the lower-cased address of a user ID ("Name <a@b>"),
// or "" when it has none.
func identityEmail(id *openpgp.Identity) string {
	if id.UserId == nil {
		return ""
	}
	addr := strings.ToLower(strings.TrimSpace(id.UserId.Email))
	if !strings.Contains(addr, "@") {
		return ""
	}
	return addr
}

// algorithm names a public key for people: "rsa3072", "ecdh-curve25519",
// "x25519".
func algorithm(pk *packet.PublicKey) string {
	bits, _ := pk.BitLength()
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly, packet.PubKeyAlgoRSASignOnly:
		return fmt.Sprintf("rsa%d", bits)
	case packet.PubKeyAlgoECDH, packet.PubKeyAlgoECDSA, packet.PubKeyAlgoEdDSA:
		c, err := pk.Curve()
		if err != nil {
			return fmt.Sprintf("ecc-%d", bits)
		}
		return strings.ToLower(fmt.Sprintf("%s-%s", algoName(pk.PubKeyAlgo), c))
	case packet.PubKeyAlgoX25519:
		return "x25519"
	case packet.PubKeyAlgoX448:
		return "x448"
	case packet.PubKeyAlgoElGamal:
		return fmt.Sprintf("elgamal%d", bits)
	}
	return fmt.Sprintf("algorithm-%d", pk.PubKeyAlgo)
}

func algoName(a packet.PublicKeyAlgorithm) string {
	switch a {
	case packet.PubKeyAlgoECDH:
		return "ecdh"
	case packet.PubKeyAlgoECDSA:
		return "ecdsa"
	}
	return "eddsa"
}

// MaxClockSkew is how far in the future a key's creation (or one of its
// self-signatures) may be and still count as made now.
const MaxClockSkew = 10 * time.Minute

// skewed returns the time to check e at: now, or the newest creation time
// of its keys, self-signatures and revocations when that is at most
// MaxClockSkew ahead (a revocation made a moment ago must count).
// QUIRK: RFC 9580 treats a key created in the future as not yet valid; a
// key generated a moment ago on a machine whose clock runs a little ahead
// of ours would then be refused as expired, which only confuses.
func skewed(e *openpgp.Entity, now time.Time) time.Time {
	latest := e.PrimaryKey.CreationTime
	later := func(t time.Time) {
		if t.After(latest) {
			latest = t
		}
	}
	sigs := func(l []*packet.Signature) {
		for _, s := range l {
			later(s.CreationTime)
		}
	}
	sigs(e.Revocations)
	for _, id := range e.Identities {
		if id.SelfSignature != nil {
			later(id.SelfSignature.CreationTime)
		}
		sigs(id.Revocations)
	}
	for _, s := range e.Subkeys {
		later(s.PublicKey.CreationTime)
		if s.Sig != nil {
			later(s.Sig.CreationTime)
		}
		sigs(s.Revocations)
	}
	if latest.After(now) && latest.Sub(now) <= MaxClockSkew {
		return latest
	}
	return now
}
