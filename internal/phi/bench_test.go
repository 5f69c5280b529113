package phi

import (
	"testing"

	"github.com/carepost/carepost/internal/workload"
)

// Benchmarks over the standard workload's campaign (8 KB of HTML, about
// 5 KB once through HTMLText). Each text detector is measured alone on the
// prepared text; Prepare and HTMLText are the shared costs; Scan is the
// whole default scanner.
//
//	go test -run '^$' -bench . ./internal/phi

func benchDetector(b *testing.B, d detector) {
	t := NewText(campaign(b))
	b.SetBytes(int64(t.Len()))
	b.ReportAllocs()
	for b.Loop() {
		d.scan(t)
	}
}

func BenchmarkSSN(b *testing.B)   { benchDetector(b, newSSN()) }
func BenchmarkNPI(b *testing.B)   { benchDetector(b, newNPI()) }
func BenchmarkDOB(b *testing.B)   { benchDetector(b, newDOB()) }
func BenchmarkICD10(b *testing.B) { benchDetector(b, newICD10()) }

func BenchmarkMRN(b *testing.B) {
	d, err := newMRN(DefaultMRNPattern, DefaultMRNKeywords())
	if err != nil {
		b.Fatal(err)
	}
	benchDetector(b, d)
}

func BenchmarkKeywords(b *testing.B) {
	benchDetector(b, &keywordDetector{words: newKeywords([]string{"oncology", "tumor board", "hiv", "chemotherapy", "dialysis",
		"pregnancy", "psychiatric", "substance use", "hepatitis", "insulin"})})
}

func BenchmarkRegex(b *testing.B) {
	re, err := compileRegex(`\bMBR[0-9]{8}\b`)
	if err != nil {
		b.Fatal(err)
	}
	benchDetector(b, &regexDetector{label: "regex:member-id", re: re})
}

func BenchmarkAttachments(b *testing.B) {
	s, err := New(Config{AttachmentTypes: []string{"application/pdf", "image/*", ".csv", "dicom"}})
	if err != nil {
		b.Fatal(err)
	}
	parts := []AttachmentPart{{ContentType: "application/octet-stream", Filename: "results.txt", Head: make([]byte, 256)}, {ContentType: "text/calendar", Filename: "visit.ics"}}
	b.ReportAllocs()
	for b.Loop() {
		s.ScanAttachments(parts)
	}
}

func BenchmarkHTMLText(b *testing.B) {
	raw := workload.Campaign()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		HTMLText(string(raw))
	}
}

func BenchmarkPrepare(b *testing.B) {
	text := campaign(b)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		NewText(text)
	}
}

// BenchmarkScan is what one message costs the policy engine's text scan:
// HTMLText, NewText and every default detector.
func BenchmarkScan(b *testing.B) {
	raw := workload.Campaign()
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		s.Scan(InBody, HTMLText(string(raw)))
	}
}
