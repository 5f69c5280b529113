package dkim

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
)

func TestRecords(t *testing.T) {
	t.Parallel()
	k := keys(t)
	recs, err := Records("Clinic.Example", k, testRecordOptions)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Record{}
	for _, r := range recs {
		if r.Type != "TXT" {
			t.Errorf("%s: type %q", r.Name, r.Type)
		}
		byName[r.Name] = r
	}
	check := func(name, value string) {
		t.Helper()
		if got := byName[name].Value; got != value {
			t.Errorf("%s = %q, want %q", name, got, value)
		}
	}
	check("clinic.example", "v=spf1 ip4:192.0.2.10 ip6:2001:db8::/48 include:_spf.carepost.example -all")
	check("_dmarc.clinic.example", "v=DMARC1; p=quarantine; adkim=s; aspf=s; rua=mailto:dmarc-reports@clinic.example")
	check("_smtp._tls.clinic.example", "v=TLSRPTv1; rua=mailto:tls-reports@clinic.example")
	check(k.Selectors.Ed25519+"._domainkey.clinic.example", "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString([]byte(k.Ed25519.Public().(ed25519.PublicKey))))

	rsaRec := byName[k.Selectors.RSA+"._domainkey.clinic.example"]
	p, ok := strings.CutPrefix(rsaRec.Value, "v=DKIM1; k=rsa; p=")
	if !ok {
		t.Fatalf("RSA record %q", rsaRec.Value)
	}
	der, err := base64.StdEncoding.DecodeString(p)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil || !k.RSA.PublicKey.Equal(pub) {
		t.Errorf("RSA p= is not our public key: %v", err)
	}

	// The RSA record is longer than one character-string.
	parts := rsaRec.TXTStrings()
	if len(parts) < 2 || strings.Join(parts, "") != rsaRec.Value {
		t.Errorf("split into %d strings", len(parts))
	}
	for _, s := range parts {
		if len(s) > 255 {
			t.Errorf("character-string of %d octets", len(s))
		}
	}
	line := rsaRec.String()
	if !strings.HasPrefix(line, rsaRec.Name+". IN TXT \"v=DKIM1; k=rsa; p=") || strings.Count(line, `"`) != 2*len(parts) {
		t.Errorf("zone line %q", line)
	}
}

func TestRecordOptions(t *testing.T) {
	t.Parallel()
	k := keys(t)
	tests := []struct {
		name   string
		opts   RecordOptions
		record string // name whose value is checked, when ok
		want   string
		ok     bool
	}{
		{"reject policy, no rua, no TLS-RPT", RecordOptions{SPFInclude: []string{"_spf.carepost.example"}, DMARCPolicy: "reject"},
			"_dmarc.clinic.example", "v=DMARC1; p=reject; adkim=s; aspf=s", true},
		{"IPv4 prefix and mapped address", RecordOptions{SPFIPs: []string{"198.51.100.7/24", "::ffff:192.0.2.1"}},
			"clinic.example", "v=spf1 ip4:198.51.100.0/24 ip4:192.0.2.1 -all", true},
		{"TLS-RPT https", RecordOptions{SPFIPs: []string{"192.0.2.1"}, TLSRPTRUA: "https://reports.clinic.example/tlsrpt"},
			"_smtp._tls.clinic.example", "v=TLSRPTv1; rua=https://reports.clinic.example/tlsrpt", true},
		{"no SPF mechanism", RecordOptions{}, "", "", false},
		{"bad IP", RecordOptions{SPFIPs: []string{"192.0.2.300"}}, "", "", false},
		{"bad include", RecordOptions{SPFInclude: []string{"bad domain"}}, "", "", false},
		{"too many includes", RecordOptions{SPFInclude: strings.Split("a.example b.example c.example d.example e.example f.example g.example h.example i.example j.example k.example", " ")}, "", "", false},
		{"bad policy", RecordOptions{SPFIPs: []string{"192.0.2.1"}, DMARCPolicy: "monitor"}, "", "", false},
		{"rua injection", RecordOptions{SPFIPs: []string{"192.0.2.1"}, DMARCRUA: "a@clinic.example; p=none"}, "", "", false},
		{"rua https refused for DMARC", RecordOptions{SPFIPs: []string{"192.0.2.1"}, DMARCRUA: "https://x.example/"}, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			recs, err := Records("clinic.example", k, tt.opts)
			if !tt.ok {
				if err == nil {
					t.Fatal("Records accepted the options")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				if r.Name == tt.record {
					if r.Value != tt.want {
						t.Errorf("%s = %q, want %q", r.Name, r.Value, tt.want)
					}
					return
				}
			}
			t.Errorf("no record %s", tt.record)
		})
	}
}
