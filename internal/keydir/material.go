package keydir

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/carepost/carepost/internal/pgp"
	"github.com/carepost/carepost/internal/smime"
)

// errUploadFormat refuses an upload that is neither kind.
var errUploadFormat = errors.New("send an OpenPGP public key (ASCII-armored or binary) or a PEM S/MIME certificate chain")

// sealed is what recipient_keys.content holds, sealed: the key as
// uploaded (armored OpenPGP, or the PEM chain) and the addresses bound to
// it, which are in the material anyway.
type sealed struct {
	Material    []byte   `json:"material"`
	Emails      []string `json:"emails"`
	Fingerprint string   `json:"fingerprint"`
}

// material is a parsed key of either kind.
type material struct {
	kind  string
	pgp   *openpgp.Entity
	chain []*x509.Certificate
	raw   []byte
}

// parseMaterial reads an upload or a stored key. Detection is by form:
// PEM certificates are S/MIME, anything else is tried as OpenPGP.
func parseMaterial(data []byte) (material, error) {
	isPEM := bytes.Contains(data, []byte("-----BEGIN CERTIFICATE-----")) ||
		bytes.Contains(data, []byte("PRIVATE KEY-----")) && !bytes.Contains(data, []byte("-----BEGIN PGP"))
	if isPEM {
		chain, err := smime.ParseChain(data)
		if err != nil {
			return material{}, err
		}
		return material{kind: KindSMIME, chain: chain, raw: data}, nil
	}
	keys, err := pgp.ParseKeys(data)
	if errors.Is(err, pgp.ErrKeyFormat) && !bytes.Contains(data, []byte("-----BEGIN PGP")) {
		return material{}, errUploadFormat
	}
	if err != nil {
		return material{}, err
	}
	if len(keys) != 1 {
		return material{}, errors.New("send one OpenPGP key per request")
	}
	return material{kind: KindPGP, pgp: keys[0], raw: data}, nil
}

// fingerprint identifies the key: the OpenPGP fingerprint, or the SHA-256
// of the certificate (upper-case hex either way).
func (m material) fingerprint() string {
	if m.kind == KindPGP {
		return pgp.Describe(m.pgp, time.Now()).Fingerprint
	}
	return certFingerprint(m.chain[0])
}

// emails are the addresses the key names.
func (m material) emails() []string {
	if m.kind == KindPGP {
		return pgp.Describe(m.pgp, time.Now()).Emails
	}
	return smime.Emails(m.chain[0])
}

// check applies the kind's rules for addr at now.
func (m material) check(addr string, roots *x509.CertPool, now time.Time) error {
	if m.kind == KindPGP {
		return pgp.Check(m.pgp, addr, now)
	}
	return smime.Verify(m.chain, roots, addr, now)
}

// validity returns the algorithm label and validity period shown in
// clear.
func (m material) validity(now time.Time) (alg string, created, expires time.Time) {
	if m.kind == KindPGP {
		in := pgp.Describe(m.pgp, now)
		return in.Algorithm, in.Created, in.Expires
	}
	c := m.chain[0]
	alg = strings.ToLower(c.PublicKeyAlgorithm.String())
	if k, ok := c.PublicKey.(interface{ Size() int }); ok && alg == "rsa" {
		alg = fmt.Sprintf("rsa%d", k.Size()*8)
	}
	return alg, c.NotBefore.UTC(), c.NotAfter.UTC()
}

// bind chooses the addresses to bind: want when given, else every address
// the key names; each must pass check. The error is the first address's
// reason when none passes.
func (m material) bind(want string, roots *x509.CertPool, now time.Time) ([]string, error) {
	candidates := m.emails()
	if want != "" {
		candidates = []string{strings.ToLower(strings.TrimSpace(want))}
	}
	if len(candidates) == 0 {
		if m.kind == KindPGP {
			return nil, pgp.ErrNoAddress
		}
		return nil, smime.ErrEmailMismatch
	}
	var ok []string
	var first error
	for _, addr := range candidates {
		if err := m.check(addr, roots, now); err != nil {
			first = cmpOr(first, err)
			continue
		}
		ok = append(ok, addr)
	}
	if len(ok) == 0 {
		return nil, first
	}
	return ok, nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func certFingerprint(c *x509.Certificate) string {
	return fmt.Sprintf("%X", sha256.Sum256(c.Raw))
}

func (s sealed) encode() ([]byte, error) { return json.Marshal(s) }

func decodeSealed(b []byte) (sealed, material, error) {
	var sl sealed
	if err := json.Unmarshal(b, &sl); err != nil {
		return sealed{}, material{}, fmt.Errorf("decode recipient key: %w", err)
	}
	m, err := parseMaterial(sl.Material)
	if err != nil {
		return sealed{}, material{}, fmt.Errorf("parse stored recipient key: %w", err)
	}
	return sl, m, nil
}

// pemChain re-encodes a chain as PEM (what is stored for S/MIME: the
// upload minus anything around the certificates).
func pemChain(chain []*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range chain {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}
