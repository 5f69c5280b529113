package connector_test

import (
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/smtpd/connector"
	"github.com/carepost/carepost/internal/testpki"
)

func caPEM(ca *testpki.CA) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}))
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "Partner CA")
	leaf := testpki.SelfSigned(t, []string{"mx.partner.example"}, testpki.Options{})
	leafPEM, keyPEM := testpki.PEM(t, leaf)
	no := false
	pin := strings.Repeat("Ab", 32)
	tests := []struct {
		name  string
		in    connector.Input
		field string // "" for valid
	}{
		{"ranges only", connector.Input{Name: "On-prem Exchange", IPRanges: []string{"192.0.2.0/24", "2001:db8::/48"}}, ""},
		{"single address", connector.Input{Name: "relay", IPRanges: []string{"192.0.2.7"}}, ""},
		{"pin only, colons and case", connector.Input{Name: "pinned", CertSHA256: []string{strings.Repeat("AB:", 31) + "AB"}}, ""},
		{"CA with names", connector.Input{Name: "partner", ClientCA: caPEM(ca), CertNames: []string{"mx.partner.example."}}, ""},
		{"tenant", connector.Input{Name: "m365", IPRanges: []string{"40.92.0.0/15"}, TenantID: "72F988BF-86F1-41AF-91AB-2D7CD011DB47"}, ""},
		{"no name", connector.Input{IPRanges: []string{"192.0.2.0/24"}}, "name"},
		{"control in name", connector.Input{Name: "a\r\nb", IPRanges: []string{"192.0.2.0/24"}}, "name"},
		{"nothing identifies the sender", connector.Input{Name: "open relay"}, "ip_ranges"},
		{"not a range", connector.Input{Name: "x", IPRanges: []string{"192.0.2.0/24", "mail.example"}}, "ip_ranges[1]"},
		{"host bits", connector.Input{Name: "x", IPRanges: []string{"192.0.2.1/24"}}, "ip_ranges[0]"},
		{"the internet", connector.Input{Name: "x", IPRanges: []string{"0.0.0.0/0"}}, "ip_ranges[0]"},
		{"too wide v6", connector.Input{Name: "x", IPRanges: []string{"2000::/3"}}, "ip_ranges[0]"},
		{"zone", connector.Input{Name: "x", IPRanges: []string{"fe80::1%eth0"}}, "ip_ranges[0]"},
		{"short pin", connector.Input{Name: "x", CertSHA256: []string{"abcd"}}, "cert_sha256[0]"},
		{"pin not hex", connector.Input{Name: "x", CertSHA256: []string{pin[:62] + "zz"}}, "cert_sha256[0]"},
		{"CA without names", connector.Input{Name: "x", ClientCA: caPEM(ca)}, "cert_names"},
		{"names without CA", connector.Input{Name: "x", IPRanges: []string{"192.0.2.0/24"}, CertNames: []string{"mx.example"}}, "cert_names"},
		{"bad name", connector.Input{Name: "x", ClientCA: caPEM(ca), CertNames: []string{"*.example"}}, "cert_names[0]"},
		{"a leaf is not a CA", connector.Input{Name: "x", ClientCA: string(leafPEM), CertNames: []string{"mx.partner.example"}}, "client_ca"},
		{"private key pasted", connector.Input{Name: "x", ClientCA: caPEM(ca) + string(keyPEM), CertNames: []string{"mx.example"}}, "client_ca"},
		{"not PEM", connector.Input{Name: "x", ClientCA: "hello", CertNames: []string{"mx.example"}}, "client_ca"},
		{"certificate without TLS", connector.Input{Name: "x", CertSHA256: []string{pin}, RequireTLS: &no}, "require_tls"},
		{"tenant not a GUID", connector.Input{Name: "x", IPRanges: []string{"40.92.0.0/15"}, TenantID: "contoso"}, "tenant_id"},
		{"too many ranges", connector.Input{Name: "x", IPRanges: manyRanges(connector.MaxRanges + 1)}, "ip_ranges"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := connector.Validate(tt.in)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if !c.RequireTLS || !c.Enabled {
					t.Errorf("defaults: require_tls %v, enabled %v; want both true", c.RequireTLS, c.Enabled)
				}
				return
			}
			var in *auth.InputError
			if !errors.As(err, &in) || in.Field != tt.field {
				t.Fatalf("Validate = %v, want an input error on %s", err, tt.field)
			}
			if strings.Contains(in.Msg, "PRIVATE") && strings.Contains(in.Msg, "BEGIN") {
				t.Errorf("the error echoes the bundle: %s", in.Msg)
			}
		})
	}
}

func TestValidateNormalizes(t *testing.T) {
	t.Parallel()
	c, err := connector.Validate(connector.Input{Name: "  Exchange  ", IPRanges: []string{"::ffff:10.1.0.0/112", "10.1.0.0/16", "192.0.2.9"},
		CertSHA256: []string{strings.Repeat("AB:", 31) + "AB"}, TenantID: "72F988BF-86F1-41AF-91AB-2D7CD011DB47"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Exchange" || fmt.Sprint(c.IPRanges) != "[10.1.0.0/16 192.0.2.9/32]" {
		t.Errorf("name %q, ranges %v", c.Name, c.IPRanges)
	}
	if c.CertSHA256[0] != strings.Repeat("ab", 32) || c.TenantID != "72f988bf-86f1-41af-91ab-2d7cd011db47" {
		t.Errorf("pin %q, tenant %q", c.CertSHA256[0], c.TenantID)
	}
}

func manyRanges(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)
	}
	return out
}
