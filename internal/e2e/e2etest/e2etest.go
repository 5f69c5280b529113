// Package e2etest has the message every end-to-end encryption test sends
// and the comparison of what the recipient's tool decrypted with it: text,
// HTML, every attachment byte for byte, and the protected Subject.
package e2etest

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/message"
)

// Subject is the sample's Subject: PHI that must never appear outside the
// encryption.
const Subject = "Biopsy results for Jane Roe, DOB 1961-04-12"

// Sample builds a message to rcpt with text, HTML, an inline image and two
// attachments (one of random binary bytes), and returns it with its draft.
func Sample(t testing.TB, rcpt string) ([]byte, message.Draft) {
	t.Helper()
	pdf := make([]byte, 70_000)
	if _, err := rand.Read(pdf); err != nil {
		t.Fatal(err)
	}
	d := message.Draft{
		From:    message.Address{Name: "Riverside Clinic", Email: "clinic@riverside.example"},
		To:      []message.Address{{Name: "Jane Roe", Email: rcpt}},
		Subject: Subject,
		Text:    "Dear Jane,\r\n\r\nYour results are attached. Café hours: 9–5.\r\n",
		HTML:    "<p>Dear Jane,</p><p>Your results are attached.</p><img src=\"cid:logo@riverside.example\">",
		Attachments: []message.Attachment{
			{Filename: "results.pdf", ContentType: "application/pdf", Content: pdf},
			{Filename: "notes.txt", ContentType: "text/plain; charset=utf-8", Content: []byte("line 1\r\nline 2 ünïcode\r\n")},
			{Filename: "logo.png", ContentType: "image/png", Content: []byte("\x89PNG\r\n\x1a\nnot really a png"), Inline: true, ContentID: "logo@riverside.example"},
		},
		Headers: map[string]string{"X-Patient-Ref": "MRN 00123"},
	}
	raw, err := message.Build(d, message.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return raw, d
}

// CheckInner parses the decrypted MIME entity and fails the test unless it
// carries the draft's text, HTML, attachments and, as protected headers,
// its Subject and From.
func CheckInner(t testing.TB, inner []byte, d message.Draft) {
	t.Helper()
	p, err := message.Inspect(inner, message.Limits{})
	if err != nil {
		t.Fatalf("inspect the decrypted entity: %v", err)
	}
	if p.Subject != d.Subject {
		t.Errorf("protected Subject = %q, want %q", p.Subject, d.Subject)
	}
	if len(p.From) != 1 || p.From[0].Email != d.From.Email {
		t.Errorf("protected From = %+v", p.From)
	}
	if ct := fieldValue(p.Header, "Content-Type"); !strings.Contains(ct, `protected-headers="v1"`) {
		t.Errorf("inner Content-Type %q lacks protected-headers=\"v1\"", ct)
	}
	if p.Text != strings.ReplaceAll(d.Text, "\r\n", "\n") && p.Text != d.Text {
		t.Errorf("text = %q, want %q", p.Text, d.Text)
	}
	if p.HTML != d.HTML {
		t.Errorf("html = %q, want %q", p.HTML, d.HTML)
	}
	if len(p.Attachments) != len(d.Attachments) {
		t.Fatalf("%d attachments, want %d", len(p.Attachments), len(d.Attachments))
	}
	for _, want := range d.Attachments {
		found := false
		for _, got := range p.Attachments {
			if got.Filename == want.Filename {
				found = true
				if !bytes.Equal(got.Content, want.Content) {
					t.Errorf("attachment %s: %d bytes differ from the %d sent", want.Filename, len(got.Content), len(want.Content))
				}
			}
		}
		if !found {
			t.Errorf("attachment %s missing", want.Filename)
		}
	}
}

// CheckOuter fails the test when the outer message shows the Subject or
// the custom header, or lacks the neutral subject.
func CheckOuter(t testing.TB, outer []byte) {
	t.Helper()
	fs, err := message.HeaderFields(outer)
	if err != nil {
		t.Fatal(err)
	}
	if s := fieldValue(fs, "Subject"); s != "..." {
		t.Errorf("outer Subject = %q, want \"...\"", s)
	}
	for _, leak := range []string{"Biopsy", "Jane Roe, DOB", "MRN 00123", "X-Patient-Ref"} {
		if bytes.Contains(outer, []byte(leak)) {
			t.Errorf("outer message shows %q", leak)
		}
	}
	if l := message.ScanLines(outer); l.BareCR || l.BareLF || l.Longest > 998 {
		t.Errorf("outer message breaks RFC 5322 line rules: %+v", l)
	}
}

func fieldValue(fs []message.HeaderField, name string) string {
	for _, f := range fs {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}
