package message

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// msg joins lines with CRLF.
func msg(lines ...string) []byte {
	return []byte(strings.Join(lines, "\r\n"))
}

func TestInspectFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		raw   []byte
		check func(t *testing.T, p *Parsed)
	}{
		{"bare LF message", []byte("From: a@example.org\nTo: b@example.org\nSubject: hi\n\nline one\nline two\n"), func(t *testing.T, p *Parsed) {
			if !p.Lines.BareLF || p.Lines.BareCR {
				t.Errorf("lines = %+v", p.Lines)
			}
			if p.Text != "line one\nline two\n" || p.Subject != "hi" || len(p.To) != 1 {
				t.Errorf("parsed %+v", p)
			}
		}},
		{"bare CR and long line", msg("Subject: x", "", "a\rb", strings.Repeat("y", 1200), ""), func(t *testing.T, p *Parsed) {
			if !p.Lines.BareCR || p.Lines.BareLF || p.Lines.Longest != 1200 {
				t.Errorf("lines = %+v", p.Lines)
			}
		}},
		{"8bit and NUL", msg("Subject: x", "", "caf\xc3\xa9 \x00", ""), func(t *testing.T, p *Parsed) {
			if !p.Lines.EightBit || !p.Lines.NUL {
				t.Errorf("lines = %+v", p.Lines)
			}
		}},
		{"no content type is text/plain", msg("Subject: x", "", "plain body"), func(t *testing.T, p *Parsed) {
			if p.Text != "plain body" {
				t.Errorf("text = %q", p.Text)
			}
		}},
		{"unparseable content type is scanned as text", msg("Content-Type: text/html; ;;charset=\"", "", "CANARY body"), func(t *testing.T, p *Parsed) {
			if text, _ := p.TextContent(); !strings.Contains(text, "CANARY") || len(p.Defects) != 1 {
				t.Errorf("text %q, defects %v", text, p.Defects)
			}
		}},
		{"latin-1 quoted-printable and encoded subject", msg(
			"Subject: =?iso-8859-1?q?R=E9sultats?= =?windows-1252?q?_=80?=",
			"Content-Type: text/plain; charset=ISO-8859-1",
			"Content-Transfer-Encoding: quoted-printable",
			"", "caf=E9 cr=E8me=", "s"), func(t *testing.T, p *Parsed) {
			if p.Subject != "Résultats €" || p.Text != "café crèmes" {
				t.Errorf("subject %q text %q", p.Subject, p.Text)
			}
		}},
		{"unknown charset is incomplete", msg("Content-Type: text/plain; charset=x-klingon", "", "tlhIngan"), func(t *testing.T, p *Parsed) {
			if _, complete := p.TextContent(); complete || len(p.Defects) != 1 {
				t.Errorf("complete %v, defects %v", complete, p.Defects)
			}
		}},
		{"attached message text is scanned", msg(
			"Content-Type: multipart/mixed; boundary=b",
			"", "--b", "Content-Type: text/plain", "", "see attached", "--b",
			"Content-Type: message/rfc822", "",
			"Subject: forwarded", "Content-Type: text/plain", "", "NESTEDCANARY",
			"--b--", ""), func(t *testing.T, p *Parsed) {
			text, complete := p.TextContent()
			if !complete || !strings.Contains(text, "NESTEDCANARY") || p.Text != "see attached" {
				t.Errorf("text %q complete %v body %q", text, complete, p.Text)
			}
			if len(p.Attachments) != 1 || p.Attachments[0].ContentType != "message/rfc822" {
				t.Errorf("attachments %+v", p.Attachments)
			}
		}},
		{"missing final boundary", msg("Content-Type: multipart/mixed; boundary=b", "", "--b", "", "part one", "--b", "", "part two"), func(t *testing.T, p *Parsed) {
			if len(p.Defects) == 0 {
				t.Error("no defect reported")
			}
		}},
		{"multipart without boundary", msg("Content-Type: multipart/mixed", "", "body"), func(t *testing.T, p *Parsed) {
			if len(p.Defects) != 1 || len(p.Attachments) != 1 {
				t.Errorf("defects %v attachments %d", p.Defects, len(p.Attachments))
			}
		}},
		{"RFC 2047 filename and bad base64", msg(
			"Content-Type: multipart/mixed; boundary=b", "", "--b",
			"Content-Type: application/pdf; name=\"=?utf-8?q?Befund_M=C3=BCller.pdf?=\"",
			"Content-Transfer-Encoding: base64", "", "JVBE Rg==", "!!*", "--b--"), func(t *testing.T, p *Parsed) {
			if len(p.Attachments) != 1 || p.Attachments[0].Filename != "Befund Müller.pdf" || string(p.Attachments[0].Content) != "%PDF" {
				t.Errorf("attachments %+v", p.Attachments)
			}
		}},
		{"bad From is a defect without the value", msg("From: SECRETNAME <secret@localhost>", "To: ok@example.org", "", "x"), func(t *testing.T, p *Parsed) {
			if len(p.From) != 0 || len(p.To) != 1 || len(p.Defects) != 1 || strings.Contains(p.Defects[0], "secret") {
				t.Errorf("from %v defects %v", p.From, p.Defects)
			}
		}},
		{"folded To with TAB", msg("To: a@example.org,\r\n\tb@example.org", "", "x"), func(t *testing.T, p *Parsed) {
			if len(p.To) != 2 {
				t.Errorf("to = %v, defects %v", p.To, p.Defects)
			}
		}},
		{"header only", []byte("Subject: no body"), func(t *testing.T, p *Parsed) {
			if p.Subject != "no body" || p.Text != "" {
				t.Errorf("parsed %+v", p)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Inspect(tt.raw, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

// nested returns a message with depth nested multiparts around a text part.
func nested(depth int) []byte {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b0\r\n\r\n")
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i, i+1)
	}
	fmt.Fprintf(&b, "--b%d\r\n\r\ndeep text\r\n--b%d--\r\n", depth, depth)
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return []byte(b.String())
}

// manyParts returns a multipart with n small parts.
func manyParts(n int) []byte {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for i := 0; i < n; i++ {
		b.WriteString("--b\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n")
	}
	b.WriteString("--b--\r\n")
	return []byte(b.String())
}

func TestInspectLimits(t *testing.T) {
	t.Parallel()
	big := sampleDraft()
	big.Attachments[1].Content = make([]byte, 100000)
	bigRaw, err := Build(big, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		raw  []byte
		lim  Limits
		err  error
	}{
		{"deep nesting within limit", nested(10), Limits{}, nil},
		{"MIME bomb depth", nested(200), Limits{}, ErrTooDeep},
		{"too many parts", manyParts(600), Limits{}, ErrTooManyParts},
		{"parts within a custom limit", manyParts(20), Limits{MaxParts: 21}, nil},
		{"decoded content limit", bigRaw, Limits{MaxContentBytes: 50000}, ErrContentTooLarge},
		{"header limit", msg("Subject: "+strings.Repeat("x", 3000), "", "x"), Limits{MaxHeaderBytes: 1024}, ErrHeaderTooLarge},
		{"malformed header", msg("Subject: x", "not a header line", "", "x"), Limits{}, ErrMalformedHeader},
		{"leading continuation", msg(" folded: x", "", "x"), Limits{}, ErrMalformedHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Inspect(tt.raw, tt.lim)
			if !errors.Is(err, tt.err) {
				t.Errorf("err = %v, want %v", err, tt.err)
			}
		})
	}
}

func TestTextContentBounded(t *testing.T) {
	t.Parallel()
	d := sampleDraft()
	d.Text = strings.Repeat("é", 1000)
	raw, err := Build(d, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Inspect(raw, Limits{MaxTextBytes: 501})
	if err != nil {
		t.Fatal(err)
	}
	text, complete := p.TextContent()
	if complete || len(text) > 501 || !strings.HasPrefix(text, "éé") || strings.ContainsRune(text, '\uFFFD') {
		t.Errorf("complete %v, %d bytes", complete, len(text))
	}
}
