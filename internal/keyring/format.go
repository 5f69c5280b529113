package keyring

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Ciphertext layout, format version 1:
//
//	byte  0      format version (0x01)
//	bytes 1..4   data-key version, uint32 big-endian
//	bytes 5..16  nonce, 96 random bits
//	bytes 17..   AES-256-GCM ciphertext and 16-byte tag
const (
	formatV1    byte = 0x01
	nonceSize        = 12
	tagSize          = 16
	headerSize       = 1 + 4 + nonceSize
	minSealSize      = headerSize + tagSize
)

const (
	aadPrefix    = "carepost:v1\x00"
	dekAADPrefix = "carepost:dek:v1\x00"
)

// AAD names the record a ciphertext belongs to. It is authenticated, not
// encrypted: a ciphertext copied to another row, column, table or scope does
// not open. RowID is the row's id as text.
type AAD struct {
	Scope  string
	Table  string
	Column string
	RowID  string
}

func (a AAD) String() string { return a.Table + "." + a.Column + " " + a.Scope + "/" + a.RowID }

// validScope checks ^[A-Za-z0-9_.:-]{1,128}$ by hand: it runs on every
// Open, and a regular expression there cost a contact scan a microsecond
// per contact.
func validScope(scope string) error {
	ok := len(scope) >= 1 && len(scope) <= 128
	for i := 0; ok && i < len(scope); i++ {
		c := scope[i]
		ok = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-'
	}
	if !ok {
		return fmt.Errorf("invalid key scope %q: want 1 to 128 of [A-Za-z0-9_.:-]", scope)
	}
	return nil
}

func (a AAD) validate() error {
	if err := validScope(a.Scope); err != nil {
		return err
	}
	if a.Table == "" || a.Column == "" || a.RowID == "" {
		return errors.New("AAD needs a table, a column and a row id")
	}
	return nil
}

// encode is the GCM additional data: a prefix, the header's format and key
// version bytes, then each field length-prefixed (uint32 big-endian), so no
// two different records encode alike.
func (a AAD) encode(format byte, version uint32) []byte {
	n := len(aadPrefix) + 5 + 16 + len(a.Scope) + len(a.Table) + len(a.Column) + len(a.RowID)
	b := make([]byte, 0, n)
	b = append(b, aadPrefix...)
	b = append(b, format)
	b = binary.BigEndian.AppendUint32(b, version)
	for _, f := range []string{a.Scope, a.Table, a.Column, a.RowID} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// dekAAD binds a wrapped data key to its scope and version, so a wrapped key
// copied to another scope or version does not unwrap. Scopes cannot contain
// NUL (validScope), so the encoding is unambiguous.
func dekAAD(scope string, version int) []byte {
	return []byte(dekAADPrefix + scope + "\x00" + strconv.Itoa(version))
}

// seal encrypts under aead, the data key of the given version.
func seal(aead cipher.AEAD, version int, aad AAD, plaintext []byte) ([]byte, error) {
	if version <= 0 || version > math.MaxInt32 {
		return nil, fmt.Errorf("data key version %d out of range", version)
	}
	out := make([]byte, headerSize, headerSize+len(plaintext)+tagSize)
	out[0] = formatV1
	binary.BigEndian.PutUint32(out[1:5], uint32(version))
	// NIST SP 800-38D section 8.2.2: a 96-bit IV from an approved RBG. With
	// random IVs section 8.3 allows at most 2^32 encryptions per key, which
	// is what rotation (a new data-key version) resets.
	if _, err := rand.Read(out[5:headerSize]); err != nil {
		return nil, fmt.Errorf("read random nonce: %w", err)
	}
	return aead.Seal(out, out[5:headerSize], plaintext, aad.encode(formatV1, uint32(version))), nil
}

// header is a parsed ciphertext header.
type header struct {
	version int
	nonce   []byte
	sealed  []byte
}

// parseHeader splits a ciphertext. Anything it refuses is ErrDecrypt: to a
// caller a malformed ciphertext is a ciphertext that does not open.
func parseHeader(ct []byte) (header, error) {
	if len(ct) < minSealSize {
		return header{}, fmt.Errorf("%w (too short)", ErrDecrypt)
	}
	if ct[0] != formatV1 {
		return header{}, fmt.Errorf("%w (unknown format %#x)", ErrDecrypt, ct[0])
	}
	v := binary.BigEndian.Uint32(ct[1:5])
	if v == 0 || v > math.MaxInt32 {
		return header{}, fmt.Errorf("%w (key version out of range)", ErrDecrypt)
	}
	return header{version: int(v), nonce: ct[5:headerSize], sealed: ct[headerSize:]}, nil
}

// openWith decrypts a parsed ciphertext with the data key of its version.
func openWith(aead cipher.AEAD, h header, aad AAD) ([]byte, error) {
	pt, err := aead.Open(nil, h.nonce, h.sealed, aad.encode(formatV1, uint32(h.version)))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}
