package message

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// counterBoundaries returns a BoundaryFunc giving "=_b1", "=_b2", … so that
// golden files are stable.
func counterBoundaries() BoundaryFunc {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("=_b%d", n)
	}
}

// fixedOptions are BuildOptions that make Build deterministic.
func fixedOptions() BuildOptions {
	return BuildOptions{
		MessageID: "golden.1@clinic.example",
		Date:      time.Date(2025, 3, 14, 9, 26, 53, 0, time.FixedZone("", -5*3600)),
		Boundary:  counterBoundaries(),
	}
}

// assertLineRules fails the test when raw breaks RFC 5322 sections 2.1.1 and
// 2.3: a bare CR, a bare LF or a line over 998 octets.
func assertLineRules(t testing.TB, raw []byte) {
	t.Helper()
	l := ScanLines(raw)
	if l.BareCR || l.BareLF || l.Longest > 998 || l.NUL {
		t.Fatalf("line rules broken: %+v", l)
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// sampleDraft is a valid draft with every feature.
func sampleDraft() Draft {
	return Draft{
		From:    Address{Name: "Riverside Clinic", Email: "appointments@clinic.example"},
		ReplyTo: []Address{{Email: "front-desk@clinic.example"}},
		To:      []Address{{Name: "Pat Doe", Email: "pat@patient.example"}},
		Cc:      []Address{{Email: "care-team@clinic.example"}},
		Bcc:     []Address{{Name: "Hidden Auditor", Email: "bcc-auditor@audit.example"}},
		Subject: "Your appointment on Monday",
		Text:    "Hello Pat,\n\nyour appointment is on Monday at 9:00.\n",
		HTML:    "<p>Hello Pat,</p><p>your appointment is on <b>Monday</b> at 9:00.</p><img src=\"cid:logo@clinic.example\">\n",
		Attachments: []Attachment{
			{Filename: "logo.png", ContentType: "image/png", Content: []byte("\x89PNG\r\n\x1a\nfake"), Inline: true, ContentID: "logo@clinic.example"},
			{Filename: "directions.pdf", ContentType: "application/pdf", Content: []byte("%PDF-1.7\n%fake pdf\n")},
		},
		Headers: map[string]string{
			"List-Unsubscribe":      "<https://clinic.example/u/abc>, <mailto:unsubscribe@clinic.example>",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"X-Campaign-Id":         "spring-reminders",
		},
		Tags:     []string{"reminder"},
		Metadata: map[string]string{"appointment": "apt_123"},
	}
}
