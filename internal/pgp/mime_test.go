package pgp_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/e2e/e2etest"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/pgp"
	"github.com/carepost/carepost/internal/pgp/pgptest"
)

// armoredPart returns the OpenPGP message of a PGP/MIME message after
// checking the RFC 3156 section 4 structure around it.
func armoredPart(t *testing.T, out []byte) []byte {
	t.Helper()
	p, err := message.Inspect(out, message.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ct := ""
	for _, f := range p.Header {
		if strings.EqualFold(f.Name, "Content-Type") {
			ct = f.Value
		}
	}
	if !strings.HasPrefix(ct, "multipart/encrypted;") || !strings.Contains(ct, `protocol="application/pgp-encrypted"`) {
		t.Fatalf("outer Content-Type %q", ct)
	}
	if len(p.Attachments) != 2 || p.Attachments[0].ContentType != "application/pgp-encrypted" ||
		!bytes.Contains(p.Attachments[0].Content, []byte("Version: 1")) || p.Attachments[1].ContentType != "application/octet-stream" {
		t.Fatalf("parts %+v", p.Attachments)
	}
	return p.Attachments[1].Content
}

func TestEncryptDecryptsWithGnuPG(t *testing.T) {
	t.Parallel()
	g := pgptest.New(t)
	pub := g.GenerateKey(t, "Jane Roe <jane@patients.example>")
	keys, err := pgp.ParseKeys(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := pgp.Check(keys[0], "Jane@Patients.example", time.Now()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	raw, d := e2etest.Sample(t, "jane@patients.example")

	out, err := pgp.Encrypt(raw, keys, pgp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e2etest.CheckOuter(t, out)
	dec := g.Decrypt(t, armoredPart(t, out))
	if !strings.Contains(dec.Status, "DECRYPTION_OKAY") {
		t.Fatalf("gpg status:\n%s", dec.Status)
	}
	if strings.Contains(dec.Status, "GOODSIG") {
		t.Errorf("unsigned message verified as signed:\n%s", dec.Status)
	}
	e2etest.CheckInner(t, dec.Plaintext, d)
}

func TestSignedEncryptionVerifiesWithGnuPG(t *testing.T) {
	t.Parallel()
	g := pgptest.New(t)
	pub := g.GenerateKey(t, "Jane Roe <jane@patients.example>")
	keys, err := pgp.ParseKeys(pub)
	if err != nil {
		t.Fatal(err)
	}
	_, private, err := pgp.GenerateSigningKey("Riverside Clinic <evil>", time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// What is sealed and read back is what signs.
	signer, err := pgp.ReadSigningKey(private)
	if err != nil {
		t.Fatal(err)
	}
	signerPub, err := pgp.ArmorPublic(signer)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(signerPub, []byte("PRIVATE")) {
		t.Fatal("the published key is a private key")
	}
	g.Import(t, signerPub)
	raw, d := e2etest.Sample(t, "jane@patients.example")

	out, err := pgp.Encrypt(raw, keys, pgp.Options{Signer: signer, NeutralSubject: "..."})
	if err != nil {
		t.Fatal(err)
	}
	dec := g.Decrypt(t, armoredPart(t, out))
	fpr := pgp.Describe(signer, time.Now()).Fingerprint
	if !strings.Contains(dec.Status, "[GNUPG:] GOODSIG") || !strings.Contains(dec.Status, "VALIDSIG "+fpr) {
		t.Fatalf("signature not verified by gpg; status:\n%s", dec.Status)
	}
	if !strings.Contains(dec.Status, "Riverside Clinic evil (carepost signing key)") {
		t.Errorf("signer's user ID not as expected:\n%s", dec.Status)
	}
	e2etest.CheckInner(t, dec.Plaintext, d)
}

func TestEncryptRefusesUnusableInput(t *testing.T) {
	t.Parallel()
	raw, _ := e2etest.Sample(t, "jane@patients.example")
	if _, err := pgp.Encrypt(raw, nil, pgp.Options{}); err != pgp.ErrNoRecipients {
		t.Fatalf("no recipients: %v", err)
	}
	k := newKey(t, keyOpts{email: "jane@patients.example", lifetime: time.Hour, created: time.Now().Add(-2 * time.Hour)})
	if _, err := pgp.Encrypt(raw, []*openpgpEntity{k}, pgp.Options{}); err == nil {
		t.Fatal("encrypted to an expired key")
	}
	if _, err := pgp.Encrypt(raw, []*openpgpEntity{newKey(t, keyOpts{email: "jane@patients.example"})}, pgp.Options{NeutralSubject: "bad\r\nBcc: x@y"}); err == nil {
		t.Fatal("accepted a neutral subject with CRLF")
	}
}
