package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/net/idna"
)

// RSABits is the size of generated RSA keys. RFC 8301 section 3.2: signers
// MUST use at least 1024 bits and SHOULD use at least 2048.
const RSABits = 2048

var (
	ErrKeyType     = errors.New("dkim: private key is not of the expected type")
	ErrKeyTooSmall = errors.New("dkim: RSA key is smaller than 2048 bits")
	ErrDomain      = errors.New("dkim: domain is not a valid host name")
)

// Keys are one sender domain's signing keys: an RSA key, which every
// verifier understands, and an Ed25519 key (RFC 8463), which is small and
// fast and which verifiers increasingly prefer. RFC 8463 section 4 expects
// signers to sign with both while Ed25519 support spreads.
type Keys struct {
	RSA       *rsa.PrivateKey
	Ed25519   ed25519.PrivateKey
	Selectors Selectors
}

// Selectors name the keys in DNS: "<selector>._domainkey.<domain>" (RFC 6376
// section 3.1).
type Selectors struct {
	RSA     string
	Ed25519 string
}

// SelectorsAt returns the selectors for keys made at t: "cp<yyyymm>r" and
// "cp<yyyymm>e". A month in the name lets a rotation publish the new keys
// next to the old ones; two rotations in one month must pick other names.
func SelectorsAt(t time.Time) Selectors {
	ym := t.UTC().Format("200601")
	return Selectors{RSA: "cp" + ym + "r", Ed25519: "cp" + ym + "e"}
}

// GenerateKeys makes a new RSA-2048 and Ed25519 key pair for domain, named
// by this month's selectors.
func GenerateKeys(domain string) (Keys, error) {
	if _, err := normalizeDomain(domain); err != nil {
		return Keys{}, err
	}
	rk, err := rsa.GenerateKey(rand.Reader, RSABits)
	if err != nil {
		return Keys{}, fmt.Errorf("dkim: generate RSA key: %w", err)
	}
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Keys{}, fmt.Errorf("dkim: generate Ed25519 key: %w", err)
	}
	return Keys{RSA: rk, Ed25519: ek, Selectors: SelectorsAt(time.Now())}, nil
}

// MarshalPrivateKey encodes an RSA or Ed25519 private key as PKCS #8 DER
// (RFC 5208, RFC 8410 for Ed25519), for the caller to seal with the keyring.
// The bytes are secret: they must never be stored or logged unsealed.
func MarshalPrivateKey(key crypto.Signer) ([]byte, error) {
	switch key.(type) {
	case *rsa.PrivateKey, ed25519.PrivateKey:
	default:
		return nil, ErrKeyType
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("dkim: marshal private key: %w", err)
	}
	return der, nil
}

// ParseRSAPrivateKey decodes a PKCS #8 RSA key of at least 2048 bits.
func ParseRSAPrivateKey(der []byte) (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("dkim: parse private key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, ErrKeyType
	}
	if rk.N.BitLen() < RSABits {
		return nil, ErrKeyTooSmall
	}
	return rk, nil
}

// ParseEd25519PrivateKey decodes a PKCS #8 Ed25519 key.
func ParseEd25519PrivateKey(der []byte) (ed25519.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("dkim: parse private key: %w", err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, ErrKeyType
	}
	return ek, nil
}

// rsaPublicData is the p= value for an RSA key: base64 of the DER
// SubjectPublicKeyInfo. RFC 6376 section 3.6.1 says RSAPublicKey, but
// erratum 3017 and every deployed verifier take SubjectPublicKeyInfo, which
// is what "openssl rsa -pubout" and other signers publish.
func rsaPublicData(k *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", fmt.Errorf("dkim: marshal public key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// ed25519PublicData is the p= value for an Ed25519 key: base64 of the raw
// 32-byte public key, not a SubjectPublicKeyInfo (RFC 8463 section 4.2).
func ed25519PublicData(k ed25519.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
}

// normalizeDomain returns domain in lower-case A-labels, or ErrDomain. It
// wants a fully qualified host name: at least two labels of 1..63 octets,
// 253 octets in all, letters, digits and hyphens (RFC 1123 section 2.1).
func normalizeDomain(domain string) (string, error) {
	return normalizeName(idna.Lookup, domain)
}

// normalizeDNSName is normalizeDomain for names that are not host names
// and may carry underscores, such as "_spf.example.com" (RFC 2181 section
// 11 allows any octet in a DNS label).
func normalizeDNSName(name string) (string, error) {
	return normalizeName(idna.New(idna.MapForLookup(), idna.StrictDomainName(false), idna.BidiRule()), name)
}

func normalizeName(p *idna.Profile, domain string) (string, error) {
	d, err := p.ToASCII(strings.TrimSuffix(domain, "."))
	if err != nil || d == "" || len(d) > 253 {
		return "", ErrDomain
	}
	d = strings.ToLower(d)
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", ErrDomain
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return "", ErrDomain
		}
	}
	return d, nil
}
