package keydir_test

import (
	"context"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/e2e/e2etest"
	"github.com/carepost/carepost/internal/keydir"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/pgp/pgptest"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/testpki"
)

// pgpPayload is the armored OpenPGP message of a PGP/MIME message.
func pgpPayload(t *testing.T, out []byte) []byte {
	t.Helper()
	p, err := message.Inspect(out, message.Limits{})
	if err != nil || len(p.Attachments) != 2 {
		t.Fatalf("not PGP/MIME: %v", err)
	}
	return p.Attachments[1].Content
}

func TestEncryptPicksPGPAndSignsWithTheOrganizationKey(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), nil, nil)
	ctx := context.Background()
	a := e.actor(e.orgA)
	g := pgptest.New(t)
	if _, err := e.svc.Add(ctx, a, g.GenerateKey(t, "Jane Roe <"+jane+">"), ""); err != nil {
		t.Fatal(err)
	}
	raw, d := e2etest.Sample(t, jane)

	out, method, err := e.svc.Encrypt(ctx, e.orgA, jane, raw)
	if err != nil || method != keydir.KindPGP {
		t.Fatalf("Encrypt: %q %v", method, err)
	}
	e2etest.CheckOuter(t, out)
	dec := g.Decrypt(t, pgpPayload(t, out))
	e2etest.CheckInner(t, dec.Plaintext, d)
	if strings.Contains(dec.Status, "GOODSIG") {
		t.Fatal("signed before the organization had a signing key")
	}

	keys, err := e.svc.GenerateOpenPGPSigningKey(ctx, a)
	if err != nil || keys.OpenPGP == nil || !strings.Contains(keys.OpenPGP.Armored, "PUBLIC KEY BLOCK") {
		t.Fatalf("generate: %+v, %v", keys, err)
	}
	g.Import(t, []byte(keys.OpenPGP.Armored))
	out, _, err = e.svc.Encrypt(ctx, e.orgA, jane, raw)
	if err != nil {
		t.Fatal(err)
	}
	dec = g.Decrypt(t, pgpPayload(t, out))
	if !strings.Contains(dec.Status, "VALIDSIG "+keys.OpenPGP.Fingerprint) {
		t.Fatalf("not signed with the published key; status:\n%s", dec.Status)
	}
	e2etest.CheckInner(t, dec.Plaintext, d)
	// The other organization has no signing key and cannot see A's.
	if k, err := e.svc.SigningKeys(ctx, e.actor(e.orgB)); err != nil || k.OpenPGP != nil {
		t.Fatalf("B's signing keys: %+v, %v", k, err)
	}
}

func TestEncryptPicksSMIMEAndSignsWithTheOrganizationCertificate(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), nil, nil)
	ctx := context.Background()
	a := e.actor(e.orgA)
	dir := t.TempDir()
	certPEM, keyPEM := testpki.PEM(t, e.ca.Leaf(t, nil, testpki.Options{RSA: true, Email: []string{jane}}))
	write(t, dir, "cert.pem", certPEM)
	write(t, dir, "key.pem", keyPEM)
	write(t, dir, "ca.pem", certPEM[strings.Index(string(certPEM), "-----END CERTIFICATE-----")+26:])
	if _, err := e.svc.Add(ctx, a, certPEM, ""); err != nil {
		t.Fatal(err)
	}
	raw, d := e2etest.Sample(t, jane)

	out, method, err := e.svc.Encrypt(ctx, e.orgA, jane, raw)
	if err != nil || method != keydir.KindSMIME {
		t.Fatalf("Encrypt: %q %v", method, err)
	}
	e2etest.CheckOuter(t, out)
	write(t, dir, "out.eml", out)
	e2etest.CheckInner(t, openssl(t, dir, "cms", "-decrypt", "-in", "out.eml", "-recip", "cert.pem", "-inkey", "key.pem"), d)

	orgCert, orgKey := testpki.PEM(t, e.ca.Leaf(t, nil, testpki.Options{Email: []string{"clinic@riverside.example"}}))
	if _, err := e.svc.SetSMIMESigner(ctx, a, orgCert, orgKey); err != nil {
		t.Fatal(err)
	}
	out, _, err = e.svc.Encrypt(ctx, e.orgA, jane, raw)
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "out.eml", out)
	write(t, dir, "signed.eml", openssl(t, dir, "cms", "-decrypt", "-in", "out.eml", "-recip", "cert.pem", "-inkey", "key.pem"))
	e2etest.CheckInner(t, openssl(t, dir, "cms", "-verify", "-in", "signed.eml", "-CAfile", "ca.pem"), d)

	if _, err := e.svc.SetSMIMESigner(ctx, a, orgCert, keyPEM); err == nil {
		t.Fatal("accepted a key that does not match the certificate")
	}
	if err := e.svc.DeleteSigningKey(ctx, a, keydir.KindSMIME); err != nil {
		t.Fatal(err)
	}
	if k, _ := e.svc.SigningKeys(ctx, a); k.SMIME != nil {
		t.Fatal("signing certificate still there after delete")
	}
}
