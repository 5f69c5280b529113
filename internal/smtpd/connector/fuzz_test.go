package connector

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzValidate feeds administrator input (the lists comma-separated) to
// Validate. Whatever it accepts must identify its sender, survive the trip
// through the database unchanged, and never match more than it did before
// the trip; what it refuses must be refused without echoing the input.
// The seed corpus is in testdata/fuzz/FuzzValidate.
func FuzzValidate(f *testing.F) {
	f.Add("On-prem", "192.0.2.0/24,2001:db8::/48", "", "", "", "")
	f.Add("m365", "40.92.0.0/15", "", "", "", "72f988bf-86f1-41af-91ab-2d7cd011db47")
	f.Add("pin", "", strings.Repeat("ab", 32), "", "", "")
	f.Add("ca", "", "", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "mx.example", "")
	f.Add("x", "::ffff:10.0.0.0/104,10.0.0.1", "", "", "", "")
	f.Fuzz(func(t *testing.T, name, ranges, pins, ca, names, tenant string) {
		in := Input{Name: name, IPRanges: split(ranges), CertSHA256: split(pins), ClientCA: ca, CertNames: split(names), TenantID: tenant}
		c, err := Validate(in)
		if err != nil {
			if len(ca) > 20 && strings.Contains(err.Error(), ca) {
				t.Fatalf("the error echoes the CA bundle: %v", err)
			}
			return
		}
		if len(c.IPRanges) == 0 && len(c.CertSHA256) == 0 && c.ClientCA == "" {
			t.Fatalf("accepted a connector that trusts every sender: %+v", c)
		}
		for _, p := range c.IPRanges {
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() {
				t.Fatalf("accepted range %v", p)
			}
		}
		back := fromRow(c.row())
		back.roots, c.roots = nil, nil
		if !reflect.DeepEqual(normalize(back), normalize(c)) {
			t.Fatalf("database round trip changed the connector:\n got %+v\nwant %+v", back, c)
		}
		if c.usesCert() && !back.RequireTLS {
			t.Fatal("a certificate connector lost require_tls")
		}
		// Without a certificate nothing certificate-based matches.
		if c.usesCert() && fromRow(c.row()).Matches(Peer{IP: netip.MustParseAddr("192.0.2.1")}, time.Now()) {
			t.Fatal("a certificate connector matched a plaintext peer")
		}
	})
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// normalize makes empty and nil lists compare equal.
func normalize(c Connector) Connector {
	if len(c.IPRanges) == 0 {
		c.IPRanges = nil
	}
	if len(c.CertSHA256) == 0 {
		c.CertSHA256 = nil
	}
	if len(c.CertNames) == 0 {
		c.CertNames = nil
	}
	return c
}
