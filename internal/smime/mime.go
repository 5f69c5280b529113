package smime

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/e2e"
)

// Options tune Encrypt.
type Options struct {
	// Cipher is the content encryption. Default AES256CBC.
	Cipher Cipher
	// OAEP transports the content key with RSAES-OAEP instead of
	// RSAES-PKCS1-v1_5. Default false.
	OAEP bool
	// Signer, when set, signs the entity before it is encrypted.
	Signer *Signer
	// NeutralSubject replaces the outer Subject. Default "...".
	NeutralSubject string
	// Now is the signing time. Default time.Now.
	Now func() time.Time
}

// Encrypt turns raw, an RFC 5322 message, into an S/MIME enveloped message
// (RFC 8551 section 3.3) for the recipients' RSA certificates: the outer
// header (package e2e), then
//
//	Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"
//	Content-Transfer-Encoding: base64
//
// (smime-type=authEnveloped-data with AES256GCM, section 3.4) whose body
// is the CMS object encrypting the inner MIME entity with its protected
// headers. With Options.Signer the entity is first signed (section 3.5.3,
// multipart/signed with a detached application/pkcs7-signature, micalg
// sha-256) and that multipart is what is encrypted: signed then enveloped,
// so the signature is hidden from anyone who cannot decrypt (section
// 3.7). Certificates are checked with Verify by the caller.
func Encrypt(raw []byte, recipients []*x509.Certificate, opts Options) ([]byte, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	env, err := e2e.Split(raw, opts.NeutralSubject)
	if err != nil {
		return nil, fmt.Errorf("smime: %w", err)
	}
	content := env.Inner
	if opts.Signer != nil {
		if content, err = signedEntity(content, opts.Signer, opts.Now()); err != nil {
			return nil, err
		}
	}
	der, err := Envelop(content, recipients, opts.Cipher, opts.OAEP)
	if err != nil {
		return nil, err
	}
	smimeType := "enveloped-data"
	if opts.Cipher == AES256GCM {
		smimeType = "authEnveloped-data"
	}
	ct := "Content-Type: application/pkcs7-mime; smime-type=" + smimeType + ";\r\n name=\"smime.p7m\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"smime.p7m\"\r\n" +
		"Content-Description: S/MIME Encrypted Message\r\n"
	return env.Wrap(ct, e2e.Base64(der)), nil
}

// signedEntity wraps entity in multipart/signed (RFC 8551 section 3.5.3,
// RFC 1847): the entity exactly as signed, then its detached signature.
func signedEntity(entity []byte, s *Signer, now time.Time) ([]byte, error) {
	sig, err := SignDetached(entity, s, now)
	if err != nil {
		return nil, err
	}
	sigPart := e2e.Base64(sig)
	boundary := e2e.Boundary(entity, sigPart)
	var b bytes.Buffer
	b.Grow(len(entity) + len(sigPart) + 512)
	b.WriteString("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;\r\n boundary=\"" + boundary + "\"\r\n\r\n")
	b.WriteString("This is a cryptographically signed message in MIME format.\r\n\r\n")
	b.WriteString("--" + boundary + "\r\n")
	// The CRLF before the next delimiter belongs to the delimiter (RFC
	// 2046 section 5.1.1), so the signed bytes are entity exactly.
	b.Write(entity)
	b.WriteString("\r\n--" + boundary + "\r\n")
	b.WriteString("Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n")
	b.WriteString("Content-Transfer-Encoding: base64\r\n")
	b.WriteString("Content-Disposition: attachment; filename=\"smime.p7s\"\r\n")
	b.WriteString("Content-Description: S/MIME Cryptographic Signature\r\n\r\n")
	b.Write(sigPart)
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes(), nil
}
