package dkim

import (
	"testing"

	"github.com/carepost/carepost/internal/workload"
)

// benchMessage is the standard workload's campaign.html (package workload,
// about 8 KB) as the body of a
// message with the usual signed fields.
func benchMessage(b *testing.B) []byte {
	b.Helper()
	html := workload.Campaign()
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
