package smime_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/smime"
	"github.com/carepost/carepost/internal/testpki"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "S/MIME test CA")
	other := testpki.NewCA(t, "Someone else's CA")
	now := time.Now()
	addr := "jane@patients.example"
	tests := []struct {
		name string
		ca   *testpki.CA
		opts testpki.Options
		addr string
		at   time.Time
		want error
	}{
		{"valid", ca, testpki.Options{RSA: true, Email: []string{addr}}, addr, now, nil},
		{"address case", ca, testpki.Options{RSA: true, Email: []string{"Jane@Patients.Example"}}, addr, now, nil},
		{"email mismatch", ca, testpki.Options{RSA: true, Email: []string{"john@patients.example"}}, addr, now, smime.ErrEmailMismatch},
		{"untrusted chain", other, testpki.Options{RSA: true, Email: []string{addr}}, addr, now, smime.ErrUntrusted},
		{"expired", ca, testpki.Options{RSA: true, Email: []string{addr}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)}, addr, now, smime.ErrExpired},
		{"expires while in the directory", ca, testpki.Options{RSA: true, Email: []string{addr}, NotAfter: now.Add(time.Hour)}, addr, now.Add(2 * time.Hour), smime.ErrExpired},
		{"not yet valid", ca, testpki.Options{RSA: true, Email: []string{addr}, NotBefore: now.Add(time.Hour)}, addr, now, smime.ErrNotYetValid},
		{"EC key", ca, testpki.Options{Email: []string{addr}}, addr, now, smime.ErrECKey},
		{"server certificate, no e-mail protection", ca, testpki.Options{RSA: true}, addr, now, smime.ErrUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			certPEM, _ := testpki.PEM(t, tt.ca.Leaf(t, nil, tt.opts))
			chain, err := smime.ParseChain(certPEM)
			if err != nil {
				t.Fatal(err)
			}
			if err := smime.Verify(chain, ca.Pool, tt.addr, tt.at); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseChainRefuses(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "S/MIME test CA")
	certPEM, keyPEM := testpki.PEM(t, ca.Leaf(t, nil, testpki.Options{RSA: true, Email: []string{"a@b.example"}}))
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"private key included", append(append([]byte{}, certPEM...), keyPEM...), smime.ErrPrivateKey},
		{"garbage", []byte("not a certificate"), smime.ErrChainFormat},
		{"trailing garbage", append(append([]byte{}, certPEM...), "junk"...), smime.ErrChainFormat},
		{"broken DER", []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), smime.ErrChainFormat},
		{"too many", bytes.Repeat(certPEM[:bytes.Index(certPEM, []byte("-----END CERTIFICATE-----\n"))+26], 11), smime.ErrChainTooLarge},
	}
	for _, tt := range tests {
		if _, err := smime.ParseChain(tt.data); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	chain, err := smime.ParseChain(certPEM)
	if err != nil || len(chain) != 2 {
		t.Fatalf("leaf and CA: %d, %v", len(chain), err)
	}
	if got := smime.Emails(chain[0]); len(got) != 1 || got[0] != "a@b.example" {
		t.Errorf("emails %v", got)
	}
}
