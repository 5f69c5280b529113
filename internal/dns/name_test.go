package dns_test

import (
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/dns"
)

func TestToASCII(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Example.COM.", "example.com", true},
		{"Bücher.example", "xn--bcher-kva.example", true},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", true},
		{"_25._tcp.mx.example.com", "_25._tcp.mx.example.com", true},
		{"_mta-sts.bücher.example", "_mta-sts.xn--bcher-kva.example", true},
		{"", "", false},
		{".", "", false},
		{"a..b", "", false},
		{"exa mple.com", "", false},
		{"-lead.example", "", false},
		{strings.Repeat("a", 64) + ".example", "", false},
		{strings.Repeat("abcdefghi.", 26) + "com", "", false},
		{"bad/label.example", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := dns.ToASCII(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ToASCII(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

// FuzzToASCII: no input panics, and an accepted name is lower-case LDH
// A-labels that convert to themselves.
func FuzzToASCII(f *testing.F) {
	for _, s := range []string{"example.com", "Bücher.example.", "_25._tcp.mx.example", "xn--bcher-kva.example", "a..b", "ß.de", "xn--zca.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		a, err := dns.ToASCII(name)
		if err != nil {
			if a != "" {
				t.Fatalf("error with a result %q", a)
			}
			return
		}
		for _, c := range []byte(a) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				t.Fatalf("ToASCII(%q) = %q has %q", name, a, c)
			}
		}
		again, err := dns.ToASCII(a)
		if err != nil || again != a {
			t.Fatalf("ToASCII(%q) = %q, but ToASCII(%q) = %q, %v", name, a, a, again, err)
		}
	})
}
