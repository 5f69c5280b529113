package message

import (
	"bytes"
	"strings"
	"testing"
)

// crlf is what Build makes of text line breaks (RFC 2045 section 6.7: text
// line breaks are CRLF), and so what Inspect gives back.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// TestRoundTrip builds drafts and inspects the result: text, html,
// attachments (bytes equal), subject and names come back.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	binary := make([]byte, 5000)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	tests := []struct {
		name string
		edit func(d *Draft)
	}{
		{"sample", func(d *Draft) {}},
		{"text only", func(d *Draft) { d.HTML, d.Attachments = "", nil }},
		{"html only", func(d *Draft) { d.Text = "" }},
		{"non-ASCII", func(d *Draft) {
			d.Subject = "Résultats d'analyse — 検査結果 — نتائج"
			d.From.Name = "Clinique Sainte-Élisabeth"
			d.To[0].Name = "Zoë Ñúñez"
			d.Text = "Bonjour Zoë,\r\nvos résultats sont prêts.\n\tindentation\rCR\n"
			d.HTML = "<p>Bonjour Zoë — 検査結果</p>"
			d.Attachments = append(d.Attachments, Attachment{Filename: "Résultats Zoë (2025).pdf", ContentType: "application/pdf", Content: binary})
		}},
		{"long lines and trailing space", func(d *Draft) {
			d.Text = strings.Repeat("a", 3000) + " \n" + strings.Repeat("word ", 500) + "\n=3D literal\n.\nFrom the start\n"
			d.HTML = "<div>" + strings.Repeat("<span>x</span>", 400) + "</div>"
		}},
		{"text attachment in latin-1 name", func(d *Draft) {
			d.Attachments = []Attachment{{Filename: "notes.txt", ContentType: "text/plain; charset=iso-8859-1", Content: []byte("caf\xe9\r\n")}}
		}},
		{"inline without html", func(d *Draft) {
			d.HTML = ""
		}},
		{"empty attachment", func(d *Draft) {
			d.Attachments = []Attachment{{Filename: "empty.bin", ContentType: "application/octet-stream"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := sampleDraft()
			tt.edit(&d)
			raw, err := Build(d, BuildOptions{})
			if err != nil {
				t.Fatal(err)
			}
			assertLineRules(t, raw)
			p, err := Inspect(raw, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Defects) > 0 {
				t.Errorf("defects: %v", p.Defects)
			}
			if p.Subject != d.Subject {
				t.Errorf("subject = %q, want %q", p.Subject, d.Subject)
			}
			if p.Text != crlf(d.Text) {
				t.Errorf("text = %q, want %q", p.Text, crlf(d.Text))
			}
			if p.HTML != crlf(d.HTML) {
				t.Errorf("html = %q, want %q", p.HTML, crlf(d.HTML))
			}
			if len(p.From) != 1 || p.From[0].Name != d.From.Name || p.From[0].Email != d.From.Email {
				t.Errorf("from = %+v, want %+v", p.From, d.From)
			}
			if len(p.To) != len(d.To) || p.To[0] != d.To[0] {
				t.Errorf("to = %+v, want %+v", p.To, d.To)
			}
			if len(p.Attachments) != len(d.Attachments) {
				t.Fatalf("%d attachments, want %d", len(p.Attachments), len(d.Attachments))
			}
			for i, a := range d.Attachments {
				got := p.Attachments[i]
				mt, _, _ := strings.Cut(a.ContentType, ";")
				if got.Filename != a.Filename || got.ContentType != mt || got.Inline != a.Inline || got.ContentID != a.ContentID {
					t.Errorf("attachment %d = %+v, want %+v", i, got, a)
				}
				if !bytes.Equal(got.Content, a.Content) {
					t.Errorf("attachment %d content differs", i)
				}
			}
			text, complete := p.TextContent()
			if !complete || !strings.Contains(text, crlf(d.Text)) || !strings.Contains(text, crlf(d.HTML)) {
				t.Errorf("TextContent misses the bodies (complete %v)", complete)
			}
		})
	}
}
