// Package smime is carepost's S/MIME version 4.0 (RFC 8551): checking
// recipients' certificates (RFC 8550), and writing CMS (RFC 5652)
// enveloped and signed messages.
//
// # Certificates
//
// ParseChain reads a PEM chain, the recipient's certificate first. Verify
// is the rule for using one, at upload and again each time a message is
// encrypted: valid now (RFC 5280 section 4.1.2.5), a path to the
// configured trust store with emailProtection allowed by every extended
// key usage on it (RFC 8550 section 4.4.4), keyEncipherment when a key
// usage is present (section 4.4.2), the recipient's address among the
// subjectAltName rfc822Names or the legacy subject emailAddress (section
// 3), compared case-insensitively, and an RSA key of at least 2048 bits.
// EC certificates are refused with ErrECKey: encrypting to them needs CMS
// key agreement (RFC 5753, ECDH with a key-wrap algorithm), which is not
// implemented; RSA key transport covers the certificates public CAs issue
// for S/MIME today. Revocation (CRL, OCSP) is not checked.
//
// # CMS, written here
//
// The CMS encoders are written with encoding/asn1 rather than taken from a
// PKCS #7 module: the candidates (go.mozilla.org/pkcs7 and its forks)
// choose algorithms through mutable package variables shared by the whole
// process and default to DES-CBC, and their "GCM" is EnvelopedData with a
// GCM identifier rather than AuthEnvelopedData. What carepost writes is
// small and fixed:
//
//   - Envelop: EnvelopedData (RFC 5652 section 6, version 0) with
//     AES-256-CBC (RFC 3565) and a KeyTransRecipientInfo per recipient
//     (issuer and serial number), the 256-bit content key encrypted with
//     RSAES-PKCS1-v1_5 (RFC 3370 section 4.2.1, readable by every client)
//     or, configured, RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 3560,
//     RFC 4055); or AuthEnvelopedData (RFC 5083) with AES-256-GCM (RFC
//     5084, 12-byte nonce, 16-byte tag), which RFC 8551 section 2.7
//     prefers and OpenSSL 3 and current Outlook read.
//   - SignDetached: SignedData (section 5, version 1) without
//     encapsulated content, SHA-256, signed attributes contentType,
//     signingTime, messageDigest and SMIMECapabilities (RFC 8551 section
//     2.5.2), sorted as DER requires, the signer's chain included; RSA
//     PKCS #1 v1.5 or ECDSA signatures.
//
// Tests decrypt and verify every variant with `openssl cms`.
//
// # S/MIME messages
//
// Encrypt writes application/pkcs7-mime; smime-type=enveloped-data (or
// authEnveloped-data) with a base64 body around the inner MIME entity that
// package e2e splits off with protected headers
// (draft-autocrypt-lamps-protected-headers). Signed messages are signed
// then enveloped (RFC 8551 section 3.7): the multipart/signed entity is
// what is encrypted.
package smime
