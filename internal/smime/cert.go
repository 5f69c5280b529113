package smime

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"time"
)

// Limits on an uploaded chain.
const (
	MaxChainSize  = 256 << 10
	MaxChainCerts = 10
)

// Why a certificate is refused. The messages are shown to administrators
// and never contain anything from the certificate.
var (
	ErrChainFormat   = errors.New("not a PEM certificate chain (BEGIN CERTIFICATE blocks, the recipient's certificate first)")
	ErrChainTooLarge = errors.New("the certificate chain is larger than 256 KiB or has more than 10 certificates")
	ErrPrivateKey    = errors.New("the upload contains a private key: send certificates only")
	ErrExpired       = errors.New("the certificate (or one in its chain) has expired")
	ErrNotYetValid   = errors.New("the certificate is not valid yet")
	ErrUntrusted     = errors.New("the certificate does not chain to a trusted S/MIME certificate authority")
	ErrUsage         = errors.New("the certificate is not for e-mail protection (extended key usage) or key encipherment (key usage)")
	ErrEmailMismatch = errors.New("the certificate is not issued for this address (subjectAltName rfc822Name or subject emailAddress)")
	ErrECKey         = errors.New("the certificate has an elliptic-curve key: S/MIME to EC keys needs CMS key agreement (RFC 5753), which carepost does not implement; ask the recipient for an RSA certificate")
	ErrKeyType       = errors.New("the certificate's key is not RSA of at least 2048 bits")
)

// ParseChain reads a PEM chain: the recipient's certificate first, then
// any intermediates (the root may be included; it is found in the trust
// store either way).
func ParseChain(data []byte) ([]*x509.Certificate, error) {
	if len(data) > MaxChainSize {
		return nil, ErrChainTooLarge
	}
	var out []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if strings.Contains(b.Type, "PRIVATE KEY") {
			return nil, ErrPrivateKey
		}
		if b.Type != "CERTIFICATE" {
			return nil, ErrChainFormat
		}
		if len(out) == MaxChainCerts {
			return nil, ErrChainTooLarge
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, ErrChainFormat
		}
		out = append(out, c)
	}
	if len(out) == 0 || len(bytes.TrimSpace(rest)) > 0 {
		return nil, ErrChainFormat
	}
	return out, nil
}

// oidEmailAddress is PKCS #9 emailAddress, the legacy place for an address
// in the subject (RFC 8550 section 3).
var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// Emails returns a certificate's addresses, lower-cased and sorted:
// subjectAltName rfc822Name entries and, for older certificates, subject
// emailAddress attributes (RFC 8550 section 3).
func Emails(c *x509.Certificate) []string {
	var out []string
	add := func(a string) {
		a = strings.ToLower(strings.TrimSpace(a))
		if strings.Contains(a, "@") && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, a := range c.EmailAddresses {
		add(a)
	}
	for _, n := range c.Subject.Names {
		if s, ok := n.Value.(string); ok && n.Type.Equal(oidEmailAddress) {
			add(s)
		}
	}
	slices.Sort(out)
	return out
}

// Verify applies carepost's rules for encrypting to chain[0] for address
// at now. The certificate must be valid at now (RFC 5280 section 4.1.2.5),
// chain to roots through the certificates given with
// emailProtection allowed by the extended key usage of each (RFC 8550
// section 4.4.4; a certificate without the extension allows any usage),
// carry keyEncipherment when it has a key usage extension (section 4.4.2),
// name address, and hold an RSA key of at least 2048 bits. Revocation (CRL,
// OCSP) is not checked: remove a revoked certificate from the directory.
// Call it at upload and again every time the certificate is used.
func Verify(chain []*x509.Certificate, roots *x509.CertPool, address string, now time.Time) error {
	if len(chain) == 0 {
		return ErrChainFormat
	}
	leaf := chain[0]
	switch {
	case now.After(leaf.NotAfter):
		return ErrExpired
	case now.Before(leaf.NotBefore):
		return ErrNotYetValid
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}})
	if err != nil {
		return verifyError(err)
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
		return ErrUsage
	}
	if !slices.Contains(Emails(leaf), strings.ToLower(strings.TrimSpace(address))) {
		return ErrEmailMismatch
	}
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return ErrKeyType
		}
	case *ecdsa.PublicKey:
		return ErrECKey
	default:
		return ErrKeyType
	}
	return nil
}

// verifyError maps an x509 verification failure to a sentinel.
func verifyError(err error) error {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) {
		switch inv.Reason {
		case x509.Expired:
			return ErrExpired
		case x509.IncompatibleUsage:
			return ErrUsage
		}
	}
	// The x509 error is not passed on: some carry the certificate's names
	// and addresses.
	return ErrUntrusted
}
