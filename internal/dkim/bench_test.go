package dkim

import (
	"os"
	"testing"
)

// benchMessage is the standard workload's campaign.html (testdata is a copy
// of /work/shared/workload/campaign.html, about 8 KB) as the body of a
// message with the usual signed fields.
func benchMessage(b *testing.B) []byte {
	b.Helper()
	html, err := os.ReadFile("testdata/campaign.html")
	if err != nil {
		b.Fatal(err)
	}
	return testMessage(string(html))
}

func benchSign(b *testing.B, algs ...Algorithm) {
	s, err := NewSigner("clinic.example", keys(b), algs...)
	if err != nil {
		b.Fatal(err)
	}
	raw := benchMessage(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignRSA(b *testing.B)     { benchSign(b, RSASHA256) }
func BenchmarkSignEd25519(b *testing.B) { benchSign(b, Ed25519SHA256) }
func BenchmarkSignBoth(b *testing.B)    { benchSign(b, RSASHA256, Ed25519SHA256) }
