package message

import (
	"bytes"
	"strings"
	"testing"
)

// TestBuildGolden pins the output format. Run "go test -run TestBuildGolden
// -update" to rewrite testdata/*.eml after checking a deliberate change.
func TestBuildGolden(t *testing.T) {
	t.Parallel()
	many := make([]Address, 12)
	for i := range many {
		many[i] = Address{Name: "Recipient Number " + string(rune('A'+i)), Email: "r" + string(rune('a'+i)) + "@patient.example"}
	}
	tests := []struct {
		file string
		edit func(d *Draft)
	}{
		{"text.eml", func(d *Draft) { d.HTML, d.Attachments, d.ReplyTo, d.Cc, d.Headers = "", nil, nil, nil, nil }},
		{"html.eml", func(d *Draft) { d.Text, d.Attachments, d.ReplyTo, d.Cc, d.Headers = "", nil, nil, nil, nil }},
		{"alternative.eml", func(d *Draft) { d.Attachments = nil }},
		{"full.eml", func(d *Draft) {}},
		{"mixed-no-html.eml", func(d *Draft) { d.HTML = "" }},
		{"international.eml", func(d *Draft) {
			d.From.Name = "Praxis Dr. Müller"
			d.To = []Address{{Name: "Jürgen Groß", Email: "jürgen@Bücher.example"}}
			d.Subject = "Ihre Laborergebnisse sind da – bitte melden Sie sich im Portal an, um sie sicher anzusehen"
			d.Text = "Grüße aus der Praxis.\nZeile mit Umlauten: äöü ß\n"
			d.HTML = ""
			d.Attachments = []Attachment{{Filename: "Befund für Jürgen.pdf", ContentType: "application/pdf", Content: []byte("%PDF")}}
		}},
		{"bcc-only.eml", func(d *Draft) {
			d.To, d.Cc, d.HTML, d.Attachments = nil, nil, "", nil
			d.Headers = map[string]string{"X-Note": "Ünïcödé in an X header", "In-Reply-To": "<prev@clinic.example>"}
		}},
		{"folding.eml", func(d *Draft) {
			d.To, d.HTML, d.Attachments = many, "", nil
			d.Subject = strings.Repeat("word ", 40) + strings.Repeat("x", 120)
			d.Headers = map[string]string{"References": strings.Repeat("<ref.1234567890@clinic.example> ", 8)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			d := sampleDraft()
			tt.edit(&d)
			out, err := Build(d, fixedOptions())
			if err != nil {
				t.Fatal(err)
			}
			assertLineRules(t, out)
			golden(t, tt.file, out)
		})
	}
}

func TestBuildProperties(t *testing.T) {
	t.Parallel()
	out, err := Build(sampleDraft(), fixedOptions())
	if err != nil {
		t.Fatal(err)
	}
	assertLineRules(t, out)
	again, _ := Build(sampleDraft(), fixedOptions())
	if !bytes.Equal(out, again) {
		t.Error("Build is not deterministic with fixed options")
	}
	// Bcc never appears, neither the header nor the address or name.
	for _, s := range []string{"Bcc:", "bcc-auditor", "Hidden Auditor"} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("output contains %q", s)
		}
	}
	// Header lines stay within 78 characters when they have whitespace.
	hdr, _, _ := bytes.Cut(out, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(hdr), "\r\n") {
		if len(line) > 78 && strings.Contains(strings.TrimSpace(line), " ") {
			t.Errorf("foldable header line of %d characters: %q", len(line), line)
		}
	}
	for _, want := range []string{"MIME-Version: 1.0\r\n", "Message-ID: <golden.1@clinic.example>\r\n", "Date: Fri, 14 Mar 2025 09:26:53 -0500\r\n"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestBuildMessageID(t *testing.T) {
	t.Parallel()
	d := sampleDraft()
	gen := func(opts BuildOptions) string {
		t.Helper()
		out, err := Build(d, opts)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Inspect(out, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return p.MessageID
	}
	a, b := gen(BuildOptions{}), gen(BuildOptions{})
	if a == b || !strings.HasSuffix(a, "@clinic.example") {
		t.Errorf("generated ids %q and %q: want distinct ids at the sender domain", a, b)
	}
	if id := gen(BuildOptions{Hostname: "MTA.Carepost.example"}); !strings.HasSuffix(id, "@mta.carepost.example") {
		t.Errorf("id with hostname = %q", id)
	}
	if id := gen(BuildOptions{MessageID: "<given@x.example>"}); id != "given@x.example" {
		t.Errorf("given id = %q", id)
	}
	for _, bad := range []string{"no-at", "a b@c", "a@b\r\nBcc: x", "a@@b", "<a@b>>"} {
		if _, err := Build(d, BuildOptions{MessageID: bad}); err == nil {
			t.Errorf("Build accepted message id %q", bad)
		}
	}
}

func TestBuildBoundaries(t *testing.T) {
	t.Parallel()
	d := sampleDraft()
	for _, b := range []string{"", "has\r\nCRLF", strings.Repeat("x", 71), "ends in space ", "semi;colon"} {
		opts := fixedOptions()
		opts.Boundary = func() string { return b }
		if _, err := Build(d, opts); err == nil {
			t.Errorf("Build accepted boundary %q", b)
		}
	}
	// The same boundary for nested multiparts (each prefixes the other) is
	// refused.
	opts := fixedOptions()
	opts.Boundary = func() string { return "same" }
	if _, err := Build(d, opts); err == nil {
		t.Error("Build accepted the same boundary for nested multiparts")
	}
	// So is a boundary that occurs in content as a delimiter line.
	d = sampleDraft()
	d.HTML = ""
	d.Text = "--cut\nquoted-printable leaves the line above as it is\n"
	opts = fixedOptions()
	opts.Boundary = func() string { return "cut" }
	if _, err := Build(d, opts); err == nil {
		t.Error("Build accepted a boundary that occurs in the text")
	}
}
