package smime_test

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/e2e/e2etest"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/smime"
	"github.com/carepost/carepost/internal/testpki"
)

// openssl runs the real OpenSSL in dir and returns standard output.
func openssl(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed (.ci/run installs it)")
	}
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.Bytes()
}

func write(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// recipient issues an RSA S/MIME certificate for addr and writes its PEM
// chain and key into dir as cert.pem and key.pem.
func recipient(t *testing.T, ca *testpki.CA, dir, addr string) []*x509.Certificate {
	t.Helper()
	c := ca.Leaf(t, nil, testpki.Options{RSA: true, Email: []string{addr}})
	certPEM, keyPEM := testpki.PEM(t, c)
	write(t, dir, "cert.pem", certPEM)
	write(t, dir, "key.pem", keyPEM)
	chain, err := smime.ParseChain(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return chain
}

func TestEncryptDecryptsWithOpenSSL(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "S/MIME test CA")
	for _, tt := range []struct {
		name     string
		opts     smime.Options
		smimeTyp string
	}{
		{"aes256-cbc pkcs1v15", smime.Options{}, "enveloped-data"},
		{"aes256-cbc oaep", smime.Options{OAEP: true}, "enveloped-data"},
		{"aes256-gcm authEnvelopedData", smime.Options{Cipher: smime.AES256GCM}, "authEnveloped-data"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			chain := recipient(t, ca, dir, "jane@patients.example")
			if err := smime.Verify(chain, ca.Pool, "Jane@patients.example", time.Now()); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			raw, d := e2etest.Sample(t, "jane@patients.example")
			out, err := smime.Encrypt(raw, chain[:1], tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			e2etest.CheckOuter(t, out)
			if !bytes.Contains(out, []byte("application/pkcs7-mime; smime-type="+tt.smimeTyp)) {
				t.Fatalf("outer Content-Type is not %s:\n%.600s", tt.smimeTyp, out)
			}
			write(t, dir, "out.eml", out)
			dec := openssl(t, dir, "cms", "-decrypt", "-in", "out.eml", "-recip", "cert.pem", "-inkey", "key.pem")
			e2etest.CheckInner(t, dec, d)
		})
	}
}

func TestSignedThenEnvelopedVerifiesWithOpenSSL(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "S/MIME test CA")
	dir := t.TempDir()
	chain := recipient(t, ca, dir, "jane@patients.example")
	write(t, dir, "ca.pem", testpkiPEM(ca.Cert))
	for _, rsa := range []bool{false, true} {
		org := ca.Leaf(t, nil, testpki.Options{RSA: rsa, Email: []string{"clinic@riverside.example"}})
		signer := signerOf(t, org)
		raw, d := e2etest.Sample(t, "jane@patients.example")
		out, err := smime.Encrypt(raw, chain[:1], smime.Options{Signer: signer})
		if err != nil {
			t.Fatal(err)
		}
		write(t, dir, "out.eml", out)
		dec := openssl(t, dir, "cms", "-decrypt", "-in", "out.eml", "-recip", "cert.pem", "-inkey", "key.pem")
		p, err := message.Inspect(dec, message.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if ct := p.Header[0].Value; !strings.HasPrefix(ct, "multipart/signed;") {
			t.Fatalf("decrypted entity is %q, want multipart/signed", ct)
		}
		write(t, dir, "signed.eml", dec)
		content := openssl(t, dir, "cms", "-verify", "-in", "signed.eml", "-CAfile", "ca.pem")
		e2etest.CheckInner(t, content, d)
	}
}

func signerOf(t *testing.T, c tls.Certificate) *smime.Signer {
	t.Helper()
	var chain []*x509.Certificate
	for _, der := range c.Certificate {
		x, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, x)
	}
	s := &smime.Signer{Chain: chain, Key: c.PrivateKey.(crypto.Signer)}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	return s
}

func testpkiPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
