package message

import (
	"bytes"
	"errors"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
	"unicode/utf8"
)

// The seed corpora are in testdata/fuzz/<FuzzName>; run for example
// "go test -fuzz FuzzInspect ./internal/message" to search further.

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"pat@example.org", "Pat Doe <pat@Example.ORG>", `"Doe, Pat" <p@x.example>`,
		"=?utf-8?q?J=C3=BCrgen?= <j@bücher.example>", "jürgen@example.org", "a@[1.2.3.4]", "a\r\n@b.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		local, domain, _ := strings.Cut(a.Email, "@")
		switch {
		case hasControl(a.Name) || hasControl(a.Email):
			t.Fatalf("control character in %+v", a)
		case local == "" || len(local) > maxLocalPart || domain == "" || len(domain) > maxDomain:
			t.Fatalf("length rules broken: %+v", a)
		case domain != strings.ToLower(domain) || !isASCII(domain):
			t.Fatalf("domain not normalized: %q", domain)
		}
		back, err := ParseAddress(a.String())
		if err != nil || back != a {
			t.Fatalf("String() %q does not parse back to %+v: %+v, %v", a.String(), a, back, err)
		}
	})
}

func FuzzInspect(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nbody\r\n"))
	f.Add(nested(3))
	f.Add(manyParts(3))
	if raw, err := Build(sampleDraft(), fixedOptions()); err == nil {
		f.Add(raw)
	}
	lim := Limits{MaxHeaderBytes: 4096, MaxDepth: 6, MaxParts: 40, MaxContentBytes: 64 << 10, MaxTextBytes: 2048}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Inspect(raw, lim)
		if err != nil {
			return
		}
		text, _ := p.TextContent()
		if len(text) > lim.MaxTextBytes || !utf8.ValidString(text) {
			t.Fatalf("TextContent: %d bytes, valid UTF-8 %v", len(text), utf8.ValidString(text))
		}
		n := 0
		for _, a := range p.Attachments {
			n += len(a.Content)
		}
		if n > lim.MaxContentBytes || len(p.Attachments) > lim.MaxParts {
			t.Fatalf("limits exceeded: %d bytes in %d parts", n, len(p.Attachments))
		}
	})
}

func FuzzHeaderEdit(f *testing.F) {
	f.Add([]byte(relayMsg), "Subject", "Lab results")
	f.Add([]byte("A: 1\nB: 2\n\nbody"), "b", "x")
	f.Add([]byte("Subject: x"), "Subject", strings.Repeat("long ", 30))
	f.Fuzz(func(t *testing.T, raw []byte, name, value string) {
		before, err := HeaderFields(raw)
		if err != nil {
			return
		}
		body := bodyOf(t, raw)
		others := func(fs []HeaderField) [][]byte {
			var out [][]byte
			for _, f := range fs {
				if !strings.EqualFold(f.Name, name) {
					out = append(out, bytes.TrimRight(f.Raw, "\r\n"))
				}
			}
			return out
		}
		check := func(op string, out []byte, err error, wantCount int) {
			if err != nil {
				if !errors.Is(err, errHeaderName) && !errors.Is(err, errHeaderControl) && !errors.Is(err, errHeaderASCII) && !errors.Is(err, errHeaderLong) {
					t.Fatalf("%s: unexpected error %v", op, err)
				}
				return
			}
			after, err := HeaderFields(out)
			if err != nil {
				t.Fatalf("%s: result does not parse: %v", op, err)
			}
			if !bytes.Equal(bodyOf(t, out), body) {
				t.Fatalf("%s: body changed", op)
			}
			a, b := others(before), others(after)
			if len(a) != len(b) {
				t.Fatalf("%s: other fields changed: %q vs %q", op, a, b)
			}
			for i := range a {
				if !bytes.Equal(a[i], b[i]) {
					t.Fatalf("%s: field %d changed: %q vs %q", op, i, a[i], b[i])
				}
			}
			count := 0
			for _, f := range after {
				if strings.EqualFold(f.Name, name) {
					count++
					if f.Value != strings.Trim(value, " ") {
						t.Fatalf("%s: value %q, want %q", op, f.Value, value)
					}
				}
			}
			if wantCount >= 0 && count != wantCount {
				t.Fatalf("%s: %d fields named %q, want %d", op, count, name, wantCount)
			}
		}
		out, err := SetHeader(raw, name, value)
		check("set", out, err, 1)
		out, err = RemoveHeader(raw, name)
		check("remove", out, err, 0)
		out, err = PrependHeader(raw, name, value)
		if err == nil && !bytes.HasPrefix(out, []byte(name+":")) {
			t.Fatalf("prepend: not first: %q", out)
		}
	})
}

// bodyOf returns what follows the header section.
func bodyOf(t *testing.T, raw []byte) []byte {
	h, err := parseRawHeader(raw, 0)
	if err != nil {
		t.Fatal(err)
	}
	return raw[h.bodyStart:]
}

// FuzzBuild checks the line rules on Build output for random drafts, and
// that Inspect gives the content back.
func FuzzBuild(f *testing.F) {
	f.Add("Subject", "Pat Doe", "text\n", "<p>html</p>", "a.pdf", []byte("%PDF"), false)
	f.Add("Résultats =?x?=", "Zoë", "\r\r\n\n"+strings.Repeat("x", 2000), "", "Résumé.txt", []byte{0, 1, 2}, true)
	f.Fuzz(func(t *testing.T, subject, name, text, html, filename string, content []byte, inline bool) {
		d := Draft{
			From:    Address{Name: name, Email: "sender@clinic.example"},
			To:      []Address{{Name: name, Email: "pat@patient.example"}},
			Subject: subject, Text: text, HTML: html,
		}
		if filename != "" {
			d.Attachments = []Attachment{{Filename: filename, ContentType: "application/octet-stream", Content: content, Inline: inline, ContentID: "c@x"}}
		}
		raw, err := Build(d, BuildOptions{})
		if err != nil {
			var fe FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("Build failed without FieldErrors: %v", err)
			}
			return
		}
		assertLineRules(t, raw)
		p, err := Inspect(raw, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		wantText, wantHTML := crlf(text), crlf(html)
		if filename == "" && (text == "" || html == "") {
			// A single text part ends the message, which ends in CRLF.
			if text != "" && !strings.HasSuffix(wantText, "\r\n") {
				wantText += "\r\n"
			}
			if html != "" && !strings.HasSuffix(wantHTML, "\r\n") {
				wantHTML += "\r\n"
			}
		}
		if p.Subject != strings.TrimSpace(subject) || p.Text != wantText || p.HTML != wantHTML {
			t.Fatalf("round trip: subject %q text %q html %q", p.Subject, p.Text, p.HTML)
		}
		if len(p.From) != 1 || p.From[0].Name != name {
			t.Fatalf("round trip: from %+v, defects %v", p.From, p.Defects)
		}
		if filename != "" && (len(p.Attachments) != 1 || !bytes.Equal(p.Attachments[0].Content, content) || p.Attachments[0].Filename != filename) {
			t.Fatalf("round trip: attachments %+v", p.Attachments)
		}
	})
}

// FuzzDecodeQP holds decodeQP to mime/quotedprintable.Reader: the same
// bytes, and an error exactly when the reader fails.
func FuzzDecodeQP(f *testing.F) {
	for _, s := range []string{
		"", "plain\r\n", "soft=\r\nbreak", "a=3Db=3d\n", "=\r\n", "=", "a=", "a= \r\n", "=A\r\n", "=4", "=zz\r\n",
		"tab\there  \r\nx", "bad\x01byte", "high\xe9\r\n", "lone\rcr\n", "end=  ", "=\n=\n", "x=\ry\n",
		strings.Repeat("long", 1100) + "\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		want, wantErr := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(src)))
		got, err := decodeQP(src)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("decodeQP(%q): error %v, the reader's %v", src, err, wantErr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("decodeQP(%q) = %q, the reader gives %q", src, got, want)
		}
	})
}

// FuzzEncodeQP holds encodeQP to mime/quotedprintable.Writer, byte for
// byte.
func FuzzEncodeQP(f *testing.F) {
	for _, s := range []string{
		"", "plain", "a=b", "line\r\nnext", "lf\nonly", "cr\ronly", "cr\r\xe9\nafter", "trailing space \r\n", "tab\t",
		"\x00\x01\x7f\xff", "é", strings.Repeat("x", 75), strings.Repeat("x", 76), strings.Repeat("x", 74) + "=",
		strings.Repeat("x", 73) + "é", strings.Repeat("y ", 60), strings.Repeat("x", 75) + " ", "\r\r\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		var want bytes.Buffer
		w := quotedprintable.NewWriter(&want)
		_, _ = w.Write(src)
		_ = w.Close()
		if got := encodeQP([]byte("prefix"), src); !bytes.Equal(got[len("prefix"):], want.Bytes()) {
			t.Fatalf("encodeQP(%q) = %q, the writer gives %q", src, got[len("prefix"):], want.Bytes())
		}
		if got := encodeQP(nil, string(src)); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("encodeQP(%q) from a string = %q, the writer gives %q", src, got, want.Bytes())
		}
	})
}

// scanLinesByByte is ScanLines as it was, one byte at a time: the
// reference FuzzScanLines holds the word-at-a-time scan to.
func scanLinesByByte(raw []byte) LineReport {
	var r LineReport
	lineStart := 0
	for i, c := range raw {
		switch {
		case c == '\n':
			end := i
			if i > 0 && raw[i-1] == '\r' {
				end--
			} else {
				r.BareLF = true
			}
			if n := end - lineStart; n > r.Longest {
				r.Longest = n
			}
			lineStart = i + 1
		case c == '\r':
			if i+1 >= len(raw) || raw[i+1] != '\n' {
				r.BareCR = true
			}
		case c == 0:
			r.NUL = true
		case c >= 0x80:
			r.EightBit = true
		}
	}
	if n := len(raw) - lineStart; n > r.Longest {
		r.Longest = n
	}
	return r
}

// FuzzScanLines holds ScanLines to the byte-by-byte scan.
func FuzzScanLines(f *testing.F) {
	for _, s := range []string{"", "a\r\nb\r\n", "12345678\r\n12345678", "1234567\r\n", "bare\nlf", "bare\rcr", "nul\x00byte",
		"high\xe9", strings.Repeat("x", 1200) + "\r\n" + strings.Repeat("y", 7), "\r", "\n", "abcdefg\r", "abcdefgh\n\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if got, want := ScanLines(raw), scanLinesByByte(raw); got != want {
			t.Fatalf("ScanLines(%q) = %+v, byte by byte %+v", raw, got, want)
		}
		if got, want := EightBit(raw), scanLinesByByte(raw).EightBit; got != want {
			t.Fatalf("EightBit(%q) = %v, byte by byte %v", raw, got, want)
		}
		l := scanLinesByByte(raw)
		want := bytes.HasSuffix(raw, []byte("\r\n")) && !l.BareCR && !l.BareLF && !l.NUL && l.Longest <= maxLineLen
		if got := Canonical(raw); got != want {
			t.Fatalf("Canonical(%q) = %v, by ScanLines %v", raw, got, want)
		}
	})
}

// FuzzInspectDraft holds InspectDraft to Inspect of the built message: the
// same subject, bodies and text content for every draft Build accepts, and
// no shortcut for a draft with attachments.
func FuzzInspectDraft(f *testing.F) {
	f.Add("Subject", "text\n", "<p>html</p>", false)
	f.Add("  Résultats =?x?=  ", "\r\r\n\n"+strings.Repeat("x", 2000)+"\r", "", false)
	f.Add("A1c 9.1", "", "<b>MRN 1234567</b>\n\n", false)
	f.Add("with a file", "text", "", true)
	f.Add("", "x\r\n", "y\r\n", false)
	f.Fuzz(func(t *testing.T, subject, text, html string, attach bool) {
		d := Draft{From: Address{Email: "sender@clinic.example"}, To: []Address{{Email: "pat@patient.example"}},
			Subject: subject, Text: text, HTML: html}
		if attach {
			d.Attachments = []Attachment{{Filename: "a.txt", ContentType: "text/plain", Content: []byte("notes")}}
		}
		raw, err := Build(d, BuildOptions{})
		if err != nil {
			return
		}
		want, err := Inspect(raw, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		got := InspectDraft(d, Limits{})
		if attach {
			if got != nil {
				t.Fatal("a draft with attachments was inspected without its built message")
			}
			return
		}
		wantText, wantComplete := want.TextContent()
		gotText, gotComplete := got.TextContent()
		if got.Subject != want.Subject || got.Text != want.Text || got.HTML != want.HTML ||
			gotText != wantText || gotComplete != wantComplete {
			t.Fatalf("InspectDraft: subject %q text %q html %q content %q (%v)\nInspect:      subject %q text %q html %q content %q (%v)",
				got.Subject, got.Text, got.HTML, gotText, gotComplete, want.Subject, want.Text, want.HTML, wantText, wantComplete)
		}
	})
}

// FuzzBodyControl holds bodyControl's word-at-a-time scan to the rule it
// implements, byte by byte.
func FuzzBodyControl(f *testing.F) {
	for _, s := range []string{"", "plain text\r\n", "tab\tff\f", "nul\x00", "del\x7f", "0123456\x01", "ünïcödé \x1b[0m", strings.Repeat("x", 17) + "\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := bodyControl(s), bodyControlBytes(s); got != want {
			t.Fatalf("bodyControl(%q) = %v, want %v", s, got, want)
		}
	})
}
