package smime

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// Object identifiers (RFC 5652 section 14, RFC 3565, RFC 5084, RFC 4055,
// RFC 5754, RFC 5758, RFC 8551 section 2.5.2).
var (
	oidData                = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidEnvelopedData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidAuthEnvelopedData   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 23}
	oidAES128CBC           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES256CBC           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidAES256GCM           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 46}
	oidRSAEncryption       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAESOAEP           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 7}
	oidMGF1                = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidSHA256              = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidECDSAWithSHA256     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidAttrContentType     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidAttrSMIMECapability = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 15}
)

// Cipher is the content-encryption algorithm.
type Cipher string

const (
	// AES256CBC is EnvelopedData with AES-256-CBC (RFC 3565), which every
	// S/MIME client decrypts. The default.
	AES256CBC Cipher = "aes256-cbc"
	// AES256GCM is AuthEnvelopedData (RFC 5083) with AES-256-GCM (RFC
	// 5084), which RFC 8551 section 2.7 prefers; Outlook before 2019 and
	// OpenSSL before 3.0 cannot read it.
	AES256GCM Cipher = "aes256-gcm"
)

// contentInfo is RFC 5652 section 3.
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue // [0] EXPLICIT, built by explicit0
}

type issuerAndSerial struct {
	Issuer asn1.RawValue // the certificate's DER issuer Name
	Serial *big.Int
}

// keyTransRecipientInfo is RFC 5652 section 6.2.1, version 0 (the
// recipient named by issuer and serial number).
type keyTransRecipientInfo struct {
	Version                int
	RID                    issuerAndSerial
	KeyEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedKey           []byte
}

type encryptedContentInfo struct {
	ContentType      asn1.ObjectIdentifier
	Algorithm        pkix.AlgorithmIdentifier
	EncryptedContent asn1.RawValue // [0] IMPLICIT OCTET STRING
}

// envelopedData is RFC 5652 section 6.1 without originatorInfo and
// unprotectedAttrs, so version 0 (all recipients are version 0).
type envelopedData struct {
	Version        int
	RecipientInfos []asn1.RawValue `asn1:"set"`
	Content        encryptedContentInfo
}

// authEnvelopedData is RFC 5083 section 2.1 without optional fields.
type authEnvelopedData struct {
	Version        int
	RecipientInfos []asn1.RawValue `asn1:"set"`
	Content        encryptedContentInfo
	MAC            []byte
}

type gcmParameters struct { // RFC 5084 section 3.2
	Nonce  []byte
	ICVLen int
}

type oaepParameters struct { // RFC 4055 section 4.1
	Hash pkix.AlgorithmIdentifier `asn1:"explicit,tag:0"`
	MGF  pkix.AlgorithmIdentifier `asn1:"explicit,tag:1"`
}

// explicit0 wraps DER in a [0] EXPLICIT tag.
func explicit0(der []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der}
}

// Envelop encrypts content (a MIME entity) for recipients and returns the
// DER ContentInfo: EnvelopedData with AES-256-CBC, or AuthEnvelopedData
// with AES-256-GCM, the content key transported to each RSA recipient with
// RSAES-PKCS1-v1_5 (RFC 3370 section 4.2.1, what every client reads) or,
// with oaep, RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 3560, RFC 8551
// section 2.3's SHOULD).
func Envelop(content []byte, recipients []*x509.Certificate, c Cipher, oaep bool) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, errors.New("smime: no recipients")
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	var infos []asn1.RawValue
	for _, r := range recipients {
		ri, err := recipientInfo(r, key, oaep)
		if err != nil {
			return nil, err
		}
		infos = append(infos, asn1.RawValue{FullBytes: ri})
	}
	var inner []byte
	var ctype asn1.ObjectIdentifier
	switch c {
	case AES256CBC, "":
		iv := make([]byte, aes.BlockSize)
		if _, err := rand.Read(iv); err != nil {
			return nil, err
		}
		padded := pkcs7Pad(content, aes.BlockSize) // RFC 5652 section 6.3
		ct := make([]byte, len(padded))
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, padded)
		ivDER, _ := asn1.Marshal(iv)
		eci := encryptedContentInfo{ContentType: oidData,
			Algorithm:        pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: ivDER}},
			EncryptedContent: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: ct}}
		inner, err = asn1.Marshal(envelopedData{Version: 0, RecipientInfos: infos, Content: eci})
		ctype = oidEnvelopedData
	case AES256GCM:
		gcm, gerr := cipher.NewGCM(block)
		if gerr != nil {
			return nil, gerr
		}
		nonce := make([]byte, gcm.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		sealed := gcm.Seal(nil, nonce, content, nil) // no authAttrs: empty AAD (RFC 5083 section 2.2)
		ct, tag := sealed[:len(sealed)-gcm.Overhead()], sealed[len(sealed)-gcm.Overhead():]
		params, _ := asn1.Marshal(gcmParameters{Nonce: nonce, ICVLen: gcm.Overhead()})
		eci := encryptedContentInfo{ContentType: oidData,
			Algorithm:        pkix.AlgorithmIdentifier{Algorithm: oidAES256GCM, Parameters: asn1.RawValue{FullBytes: params}},
			EncryptedContent: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: ct}}
		inner, err = asn1.Marshal(authEnvelopedData{Version: 0, RecipientInfos: infos, Content: eci, MAC: tag})
		ctype = oidAuthEnvelopedData
	default:
		return nil, fmt.Errorf("smime: unknown cipher %q", c)
	}
	if err != nil {
		return nil, fmt.Errorf("smime: encode: %w", err)
	}
	return asn1.Marshal(contentInfo{ContentType: ctype, Content: explicit0(inner)})
}

// recipientInfo encrypts key to r's RSA key and returns the DER
// KeyTransRecipientInfo.
func recipientInfo(r *x509.Certificate, key []byte, oaep bool) ([]byte, error) {
	pub, ok := r.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, ErrECKey
	}
	var ek []byte
	var err error
	alg := pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue}
	if oaep {
		ek, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, key, nil)
		sha := pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue}
		shaDER, _ := asn1.Marshal(sha)
		params, _ := asn1.Marshal(oaepParameters{Hash: sha,
			MGF: pkix.AlgorithmIdentifier{Algorithm: oidMGF1, Parameters: asn1.RawValue{FullBytes: shaDER}}})
		alg = pkix.AlgorithmIdentifier{Algorithm: oidRSAESOAEP, Parameters: asn1.RawValue{FullBytes: params}}
	} else {
		// The padding-oracle risk of PKCS #1 v1.5 is in decryption, which
		// carepost never does; RFC 8551 section 2.3 still has every client
		// read it, and many read nothing else.
		//lint:ignore SA1019 RSAES-PKCS1-v1_5 key transport is required for S/MIME interoperability (RFC 8551 section 2.3).
		ek, err = rsa.EncryptPKCS1v15(rand.Reader, pub, key)
	}
	if err != nil {
		return nil, fmt.Errorf("smime: key transport: %w", err)
	}
	return asn1.Marshal(keyTransRecipientInfo{Version: 0,
		RID:                    issuerAndSerial{Issuer: asn1.RawValue{FullBytes: r.RawIssuer}, Serial: r.SerialNumber},
		KeyEncryptionAlgorithm: alg, EncryptedKey: ek})
}

func pkcs7Pad(b []byte, size int) []byte {
	n := size - len(b)%size
	out := make([]byte, len(b), len(b)+n)
	copy(out, b)
	for range n {
		out = append(out, byte(n))
	}
	return out
}
