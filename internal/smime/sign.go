package smime

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Signer is an organization's S/MIME signing identity: its certificate
// first, then intermediates, and the private key of the first.
type Signer struct {
	Chain []*x509.Certificate
	Key   crypto.Signer
}

// Check reports whether s can sign: a chain and a key that matches it,
// RSA or ECDSA (RFC 8551 section 2.2 MUSTs and SHOULDs).
func (s *Signer) Check() error {
	if s == nil || len(s.Chain) == 0 || s.Key == nil {
		return errors.New("smime: signer needs a certificate and its key")
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := s.Key.Public().(equaler)
	if !ok || !pub.Equal(s.Chain[0].PublicKey) {
		return errors.New("smime: the private key does not match the signing certificate")
	}
	switch s.Key.Public().(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
		return nil
	}
	return errors.New("smime: the signing key must be RSA or ECDSA")
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

// signerInfo is RFC 5652 section 5.3, version 1 (issuer and serial).
type signerInfo struct {
	Version            int
	SID                issuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue // [0] IMPLICIT SET OF Attribute
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
}

// encapContentInfo without eContent: a detached signature.
type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
}

// signedData is RFC 5652 section 5.1 with certificates and without CRLs.
type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue // [0] IMPLICIT CertificateSet
	SignerInfos      []signerInfo  `asn1:"set"`
}

// SignDetached returns a DER ContentInfo with a detached SignedData over
// content (RFC 5652 section 5, RFC 8551 section 3.5.3): SHA-256, signed
// attributes contentType, signingTime, messageDigest and
// SMIMECapabilities (section 2.5), the signer's chain included so the
// recipient can verify without a directory.
func SignDetached(content []byte, s *Signer, now time.Time) ([]byte, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	digest := sha256.Sum256(content)
	attrs, err := signedAttributes(digest[:], now)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(attrs) // the SET OF with its universal tag (section 5.4)
	sig, err := s.Key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("smime: sign: %w", err)
	}
	sigAlg := pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue} // RFC 3370 section 3.2
	if _, ok := s.Key.Public().(*ecdsa.PublicKey); ok {
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256} // RFC 5758 section 3.2: no parameters
	}
	implicit := append([]byte{0xa0}, attrs[1:]...) // [0] IMPLICIT in place of SET
	leaf := s.Chain[0]
	var certs []byte
	for _, c := range s.Chain {
		certs = append(certs, c.Raw...)
	}
	sha := pkix.AlgorithmIdentifier{Algorithm: oidSHA256} // RFC 5754 section 2: parameters absent
	sd := signedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{sha},
		EncapContentInfo: encapContentInfo{EContentType: oidData},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certs},
		SignerInfos: []signerInfo{{
			Version:            1,
			SID:                issuerAndSerial{Issuer: asn1.RawValue{FullBytes: leaf.RawIssuer}, Serial: leaf.SerialNumber},
			DigestAlgorithm:    sha,
			SignedAttrs:        asn1.RawValue{FullBytes: implicit},
			SignatureAlgorithm: sigAlg,
			Signature:          sig,
		}},
	}
	inner, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("smime: encode signed data: %w", err)
	}
	return asn1.Marshal(contentInfo{ContentType: oidSignedData, Content: explicit0(inner)})
}

// signedAttributes returns the DER SET OF Attribute, sorted as DER
// requires (X.690 section 11.6).
func signedAttributes(digest []byte, now time.Time) ([]byte, error) {
	one := func(v any) ([]asn1.RawValue, error) {
		b, err := asn1.Marshal(v)
		return []asn1.RawValue{{FullBytes: b}}, err
	}
	var list []attribute
	add := func(oid asn1.ObjectIdentifier, v any) error {
		vals, err := one(v)
		list = append(list, attribute{Type: oid, Values: vals})
		return err
	}
	caps := []pkix.AlgorithmIdentifier{{Algorithm: oidAES256GCM}, {Algorithm: oidAES256CBC}, {Algorithm: oidAES128CBC}}
	err := errors.Join(
		add(oidAttrContentType, oidData),
		add(oidAttrSigningTime, now.UTC().Truncate(time.Second)), // UTCTime until 2050 (RFC 5652 section 11.3)
		add(oidAttrMessageDigest, digest),
		add(oidAttrSMIMECapability, caps),
	)
	if err != nil {
		return nil, err
	}
	enc := make([][]byte, len(list))
	for i, a := range list {
		if enc[i], err = asn1.Marshal(a); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(enc, bytes.Compare)
	var body []byte
	for _, e := range enc {
		body = append(body, e...)
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: body})
}
