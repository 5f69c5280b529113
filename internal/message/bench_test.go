package message

import (
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/workload"
)

func BenchmarkBuild(b *testing.B) {
	d := sampleDraft()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(d, BuildOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInspect(b *testing.B) {
	raw, err := Build(sampleDraft(), BuildOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Inspect(raw, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInspectHeaderBomb is 20 parts with 200 KiB headers of tiny
// fields: B/op shows that part headers cost no memory per field.
func BenchmarkInspectHeaderBomb(b *testing.B) {
	part := "--b\r\n" + strings.Repeat("X: y\r\n", 200<<10/6) + "\r\nx\r\n"
	raw := []byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat(part, 20) + "--b--\r\n")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Inspect(raw, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildCampaign builds a message of the standard campaign's size:
// its HTML and a text part, no attachments.
func BenchmarkBuildCampaign(b *testing.B) {
	html := string(workload.Campaign())
	d := Draft{From: Address{Email: "news@clinic.example", Name: "Clinic"}, To: []Address{{Email: "pat@patients.example", Name: "Pat Doe"}},
		Subject: "Your check-up is due", HTML: html, Text: strings.Repeat("Your care team would like to see you soon.\n", 100)}
	b.SetBytes(int64(len(d.HTML) + len(d.Text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(d, BuildOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
