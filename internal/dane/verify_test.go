package dane_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/dane"
	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/testpki"
)

const mxHost = "mx.example.test"

// tlsa makes the record of usage u, selector s and matching type m for cert.
func tlsa(u dns.TLSAUsage, s dns.TLSASelector, m dns.TLSAMatchingType, cert *x509.Certificate) dns.TLSA {
	content := cert.Raw
	if s == dns.TLSASelectorSPKI {
		content = cert.RawSubjectPublicKeyInfo
	}
	switch m {
	case dns.TLSAMatchSHA256:
		d := sha256.Sum256(content)
		content = d[:]
	case dns.TLSAMatchSHA512:
		d := sha512.Sum512(content)
		content = d[:]
	}
	return dns.TLSA{Usage: u, Selector: s, MatchingType: m, Data: content}
}

// chainOf parses a tls.Certificate's chain the way a client receives it.
func chainOf(t *testing.T, c tls.Certificate) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for _, der := range c.Certificate {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cert)
	}
	return out
}

// intermediate issues a CA certificate under root and a leaf for names
// under it, returning the chain leaf, intermediate (what a server sends).
func intermediate(t *testing.T, root *testpki.CA, names ...string) []*x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "intermediate"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.Cert, key.Public(), root.Key)
	if err != nil {
		t.Fatal(err)
	}
	inter, _ := x509.ParseCertificate(der)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err = x509.CreateCertificate(rand.Reader, leafTmpl, inter, leafKey.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return []*x509.Certificate{leaf, inter}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "dane test CA")
	other := testpki.NewCA(t, "other CA")
	// testpki chains are leaf then CA, as a server sends them.
	good := chainOf(t, ca.Leaf(t, []string{mxHost}, testpki.Options{}))
	wrongName := chainOf(t, ca.Leaf(t, []string{"www.example.test"}, testpki.Options{}))
	expired := chainOf(t, ca.Leaf(t, []string{mxHost}, testpki.Options{
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}))
	self := chainOf(t, testpki.SelfSigned(t, []string{"anything.invalid"}, testpki.Options{RSA: true}))
	deep := intermediate(t, ca, mxHost)
	strange := chainOf(t, other.Leaf(t, []string{mxHost}, testpki.Options{}))

	const (
		ee   = dns.TLSAUsageDANEEE
		ta   = dns.TLSAUsageDANETA
		cert = dns.TLSASelectorCert
		spki = dns.TLSASelectorSPKI
		full = dns.TLSAMatchFull
		s256 = dns.TLSAMatchSHA256
		s512 = dns.TLSAMatchSHA512
	)
	tests := []struct {
		name    string
		records []dns.TLSA
		chain   []*x509.Certificate
		names   []string
		depth   int   // on success
		err     error // nil: success
		reason  string
	}{
		{name: "DANE-EE SPKI SHA-256", records: []dns.TLSA{tlsa(ee, spki, s256, good[0])}, chain: good},
		{name: "DANE-EE ignores self-signed, wrong name", records: []dns.TLSA{tlsa(ee, spki, s256, self[0])}, chain: self},
		{name: "DANE-EE ignores expiry", records: []dns.TLSA{tlsa(ee, spki, s256, expired[0])}, chain: expired},
		{name: "DANE-EE ignores the name", records: []dns.TLSA{tlsa(ee, spki, s256, wrongName[0])}, chain: wrongName},
		{name: "DANE-EE full certificate", records: []dns.TLSA{tlsa(ee, cert, full, good[0])}, chain: good},
		{name: "DANE-EE certificate SHA-512", records: []dns.TLSA{tlsa(ee, cert, s512, good[0])}, chain: good},
		{name: "DANE-EE of another key", records: []dns.TLSA{tlsa(ee, spki, s256, self[0])}, chain: good, err: dane.ErrNoMatch},
		{name: "DANE-EE does not match an issuer", records: []dns.TLSA{tlsa(ee, spki, s256, ca.Cert)}, chain: good, err: dane.ErrNoMatch},
		{name: "DANE-TA on the issuing CA", records: []dns.TLSA{tlsa(ta, spki, s256, ca.Cert)}, chain: good, depth: 1},
		{name: "DANE-TA accepts the pre-CNAME name", records: []dns.TLSA{tlsa(ta, spki, s256, ca.Cert)}, chain: good,
			names: []string{"mx.cname-target.test", mxHost}, depth: 1},
		{name: "DANE-TA root above an intermediate", records: []dns.TLSA{tlsa(ta, cert, s256, ca.Cert)}, chain: append(deep, ca.Cert), depth: 2},
		{name: "DANE-TA on the intermediate", records: []dns.TLSA{tlsa(ta, spki, s512, deep[1])}, chain: deep, depth: 1},
		{name: "DANE-TA full certificate not sent", records: []dns.TLSA{tlsa(ta, cert, full, ca.Cert)}, chain: good[:1], depth: -1},
		{name: "DANE-TA wrong name", records: []dns.TLSA{tlsa(ta, spki, s256, ca.Cert)}, chain: wrongName,
			err: dane.ErrNoMatch, reason: "not valid for mx.example.test"},
		{name: "DANE-TA expired server certificate", records: []dns.TLSA{tlsa(ta, spki, s256, ca.Cert)}, chain: expired,
			err: dane.ErrNoMatch, reason: "expired"},
		{name: "DANE-TA anchor not in the chain", records: []dns.TLSA{tlsa(ta, spki, s256, ca.Cert)}, chain: good[:1], err: dane.ErrNoMatch},
		{name: "DANE-TA chain from another CA", records: []dns.TLSA{tlsa(ta, spki, s256, ca.Cert)}, chain: []*x509.Certificate{strange[0], ca.Cert},
			err: dane.ErrNoMatch, reason: "does not verify"},
		{name: "DANE-TA without names", records: []dns.TLSA{tlsa(ta, spki, s256, ca.Cert)}, chain: good,
			names: []string{}, err: dane.ErrNoMatch, reason: "no reference identifier"},
		{name: "PKIX usages are unusable", records: []dns.TLSA{
			tlsa(dns.TLSAUsagePKIXEE, spki, s256, good[0]), tlsa(dns.TLSAUsagePKIXTA, spki, s256, ca.Cert)},
			chain: good, err: dane.ErrNoUsableRecords},
		{name: "malformed records are unusable", records: []dns.TLSA{
			{Usage: ee, Selector: spki, MatchingType: s256, Data: make([]byte, 20)},
			{Usage: ee, Selector: 2, MatchingType: s256, Data: make([]byte, 32)},
			{Usage: ee, Selector: spki, MatchingType: 3, Data: make([]byte, 32)},
			{Usage: ee, Selector: cert, MatchingType: full}},
			chain: good, err: dane.ErrNoUsableRecords},
		{name: "unusable records are skipped, usable ones decide", records: []dns.TLSA{
			tlsa(dns.TLSAUsagePKIXEE, spki, s256, good[0]), tlsa(ee, spki, s256, self[0])},
			chain: good, err: dane.ErrNoMatch},
		{name: "any usable record may match", records: []dns.TLSA{
			tlsa(ee, spki, s256, self[0]), tlsa(ta, spki, s256, ca.Cert)}, chain: good, depth: 1},
		{name: "no certificate", records: []dns.TLSA{tlsa(ee, spki, s256, good[0])}, err: dane.ErrNoCertificate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			names := tt.names
			if names == nil {
				names = []string{mxHost}
			}
			res, err := dane.Verify(tt.records, tt.chain, names, time.Now())
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if res.Depth != tt.depth || res.Record.String() == "" {
					t.Fatalf("matched %v at depth %d, want depth %d", res.Record, res.Depth, tt.depth)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("Verify = %+v, %v; want %v", res, err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("error %q does not say %q", err, tt.reason)
			}
			if tt.reason != "" {
				var ve *dane.VerifyError
				if !errors.As(err, &ve) || ve.Record.Usage != ta {
					t.Fatalf("error %v carries no VerifyError for the DANE-TA record", err)
				}
			}
		})
	}
}

func TestUsable(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "dane test CA")
	keep := tlsa(dns.TLSAUsageDANEEE, dns.TLSASelectorSPKI, dns.TLSAMatchSHA256, ca.Cert)
	recs := []dns.TLSA{
		tlsa(dns.TLSAUsagePKIXTA, dns.TLSASelectorSPKI, dns.TLSAMatchSHA256, ca.Cert),
		keep,
		{Usage: dns.TLSAUsageDANETA, Selector: dns.TLSASelectorCert, MatchingType: dns.TLSAMatchSHA512, Data: make([]byte, 32)},
	}
	got := dane.Usable(recs)
	if len(got) != 1 || got[0].String() != keep.String() {
		t.Fatalf("Usable = %v, want only %v", got, keep)
	}
}
