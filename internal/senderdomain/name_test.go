package senderdomain_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/dkim"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/senderdomain"
)

func TestNormalizeDomain(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 63)
	for _, c := range []struct{ in, want string }{
		{"example.org", "example.org"},
		{"  Mail.Example.ORG.  ", "mail.example.org"},
		{"Bücher.example", "xn--bcher-kva.example"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"ＥＸＡＭＰＬＥ.org", "example.org"}, // fullwidth letters map (UTS 46)
		{"clinic.test", "clinic.test"},
		{"a-b.c-d.example", "a-b.c-d.example"},
		{long + "." + long + "." + long + "." + strings.Repeat("b", 57) + ".org", long + "." + long + "." + long + "." + strings.Repeat("b", 57) + ".org"},
		{"", ""},
		{".", ""},
		{"org", ""},
		{"localhost", ""},
		{"printer.local", ""},
		{"clinic.localhost", ""},
		{"x.invalid", ""},
		{"1.0.168.192.in-addr.arpa", ""},
		{"hidden.onion", ""},
		{"192.0.2.1", ""},
		{"[192.0.2.1]", ""},
		{"2001:db8::1", ""},
		{"example.123", ""},
		{"a..example", ""},
		{"-a.example", ""},
		{"a-.example", ""},
		{"_dmarc.example.org", ""},
		{"*.example.org", ""},
		{"a b.example", ""},
		{"user@example.org", ""},
		{long + "a.example", ""},
		{long + "." + long + "." + long + "." + strings.Repeat("b", 58) + ".org", ""}, // 254 octets
		{"bad\xffutf8.example", ""},
		{"xn--zz.example", ""}, // not valid Punycode
	} {
		got, err := senderdomain.NormalizeDomain(c.in)
		if got != c.want || (err == nil) != (c.want != "") {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if err != nil && len(c.in) > 8 && strings.Contains(err.Error(), strings.TrimSpace(c.in)) {
			t.Errorf("error for %q echoes the input: %v", c.in, err)
		}
	}
}

// FuzzNormalizeDomain checks that an accepted name is in its final form,
// is a host name, and is accepted in the same form by package dkim (which
// signs for it) and package message (whose From domains Verified compares
// with it).
func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range []string{"example.org", "Bücher.Example.", "192.0.2.1", "a..b", "xn--bcher-kva.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := senderdomain.NormalizeDomain(in)
		if err != nil {
			if out != "" {
				t.Fatalf("%q: error %v with output %q", in, err, out)
			}
			return
		}
		again, err := senderdomain.NormalizeDomain(out)
		if err != nil || again != out {
			t.Fatalf("%q -> %q -> %q, %v: not idempotent", in, out, again, err)
		}
		labels := strings.Split(out, ".")
		if len(out) > 253 || len(labels) < 2 || strings.Trim(out, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
			t.Fatalf("%q -> %q: not a lower-case host name of two labels or more", in, out)
		}
		if _, err := netip.ParseAddr(out); err == nil {
			t.Fatalf("%q -> %q: an IP address", in, out)
		}
		if _, err := dkim.Records(out, dkim.Keys{}, dkim.RecordOptions{SPFIPs: []string{"192.0.2.1"}}); err != nil {
			t.Fatalf("%q -> %q: package dkim refuses it: %v", in, out, err)
		}
		a, err := message.ParseAddress("user@" + out)
		if err != nil || a.Domain() != out {
			t.Fatalf("%q -> %q: package message reads user@%s as %q, %v", in, out, out, a.Email, err)
		}
	})
}
