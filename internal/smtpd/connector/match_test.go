package connector_test

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/smtpd/connector"
	"github.com/carepost/carepost/internal/testpki"
)

func mustValidate(t *testing.T, org, id string, in connector.Input) connector.Connector {
	t.Helper()
	c, err := connector.Validate(in)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	c.OrgID, c.ID = org, id
	return c
}

func chain(t *testing.T, c tls.Certificate) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for _, der := range c.Certificate {
		x, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, x)
	}
	return out
}

func fingerprint(c tls.Certificate) string {
	sum := sha256.Sum256(c.Certificate[0])
	return hex.EncodeToString(sum[:])
}

func TestMatches(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca, other := testpki.NewCA(t, "Partner CA"), testpki.NewCA(t, "Someone else's CA")
	good := testpki.SelfSigned(t, []string{"relay.partner.example"}, testpki.Options{})
	fromCA := ca.Leaf(t, []string{"mx.partner.example"}, testpki.Options{})
	wrongName := ca.Leaf(t, []string{"mx.attacker.example"}, testpki.Options{})
	otherCA := other.Leaf(t, []string{"mx.partner.example"}, testpki.Options{})
	expired := testpki.SelfSigned(t, []string{"relay.partner.example"}, testpki.Options{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)})

	byIP := mustValidate(t, "org_a", "ip", connector.Input{Name: "ip", IPRanges: []string{"192.0.2.0/24"}})
	pinned := mustValidate(t, "org_a", "pin", connector.Input{Name: "pin", CertSHA256: []string{fingerprint(good), fingerprint(expired)}})
	byCA := mustValidate(t, "org_a", "ca", connector.Input{Name: "ca", ClientCA: caPEM(ca), CertNames: []string{"mx.partner.example"}})
	both := mustValidate(t, "org_a", "both", connector.Input{Name: "both", IPRanges: []string{"198.51.100.0/24"}, CertSHA256: []string{fingerprint(good)}})
	off := byIP
	off.Enabled = false

	in, out := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("203.0.113.5")
	tests := []struct {
		name string
		c    connector.Connector
		p    connector.Peer
		want bool
	}{
		{"address in range", byIP, connector.Peer{IP: in}, true},
		{"IPv4-mapped address in range", byIP, connector.Peer{IP: netip.AddrFrom16(in.As16())}, true},
		{"address outside", byIP, connector.Peer{IP: out}, false},
		{"disabled", off, connector.Peer{IP: in}, false},
		{"pinned certificate", pinned, connector.Peer{IP: out, TLS: true, Certs: chain(t, good)}, true},
		{"pinned but expired", pinned, connector.Peer{IP: out, TLS: true, Certs: chain(t, expired)}, false},
		{"another certificate", pinned, connector.Peer{IP: out, TLS: true, Certs: chain(t, fromCA)}, false},
		{"no certificate", pinned, connector.Peer{IP: out, TLS: true}, false},
		{"CA and name", byCA, connector.Peer{IP: out, TLS: true, Certs: chain(t, fromCA)}, true},
		{"CA, wrong name", byCA, connector.Peer{IP: out, TLS: true, Certs: chain(t, wrongName)}, false},
		{"other CA, right name", byCA, connector.Peer{IP: out, TLS: true, Certs: chain(t, otherCA)}, false},
		{"both: right certificate, wrong address", both, connector.Peer{IP: in, TLS: true, Certs: chain(t, good)}, false},
		{"both: right address, no certificate", both, connector.Peer{IP: netip.MustParseAddr("198.51.100.1")}, false},
		{"both", both, connector.Peer{IP: netip.MustParseAddr("198.51.100.1"), TLS: true, Certs: chain(t, good)}, true},
	}
	for _, tt := range tests {
		if got := tt.c.Matches(tt.p, now); got != tt.want {
			t.Errorf("%s: Matches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestChoose(t *testing.T) {
	t.Parallel()
	const tenantA, tenantB = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
	m365 := []string{"40.92.0.0/15"}
	aTenant := mustValidate(t, "org_a", "a_m365", connector.Input{Name: "m365", IPRanges: m365, TenantID: tenantA})
	bTenant := mustValidate(t, "org_b", "b_m365", connector.Input{Name: "m365", IPRanges: m365, TenantID: tenantB})
	bLoose := mustValidate(t, "org_b", "b_loose", connector.Input{Name: "all of m365", IPRanges: m365})
	aWide := mustValidate(t, "org_a", "a_wide", connector.Input{Name: "wide", IPRanges: []string{"40.0.0.0/8"}})
	aNarrow := mustValidate(t, "org_a", "a_narrow", connector.Input{Name: "narrow", IPRanges: []string{"40.92.1.0/24"}})
	aCert := mustValidate(t, "org_a", "a_cert", connector.Input{Name: "cert", IPRanges: m365, CertSHA256: []string{"00" + fingerprintZero[2:]}})
	p := connector.Peer{IP: netip.MustParseAddr("40.92.1.9")}

	tests := []struct {
		name          string
		matched       []connector.Connector
		tenant, owner string
		want          string
		err           error
	}{
		{"tenant picks its own organization", []connector.Connector{aTenant, bTenant, bLoose}, tenantA, "", "a_m365", nil},
		{"another tenant's connector never matches", []connector.Connector{aTenant}, tenantB, "", "", connector.ErrNoConnector},
		{"a looser claim does not block a tenant match", []connector.Connector{bLoose, aTenant}, tenantA, "", "a_m365", nil},
		{"unknown tenant falls to the loose connector", []connector.Connector{aTenant, bTenant, bLoose}, "33333333-3333-3333-3333-333333333333", "", "b_loose", nil},
		{"two organizations by address alone", []connector.Connector{aWide, bLoose}, "", "", "", connector.ErrAmbiguous},
		{"the From domain's owner settles it", []connector.Connector{aWide, bLoose}, "", "org_b", "b_loose", nil},
		{"an owner outside the matches does not", []connector.Connector{aWide, bLoose}, "", "org_c", "", connector.ErrAmbiguous},
		{"longest range within one organization", []connector.Connector{aWide, aNarrow}, "", "", "a_narrow", nil},
		{"a certificate outranks an address", []connector.Connector{bLoose, aCert}, "", "", "a_cert", nil},
		{"nothing matched", nil, "", "", "", connector.ErrNoConnector},
	}
	for _, tt := range tests {
		got, err := connector.Choose(tt.matched, p, tt.tenant, tt.owner)
		if !errors.Is(err, tt.err) || got.ID != tt.want {
			t.Errorf("%s: Choose = %q, %v; want %q, %v", tt.name, got.ID, err, tt.want, tt.err)
		}
	}
}

var fingerprintZero = hex.EncodeToString(make([]byte, 32))
