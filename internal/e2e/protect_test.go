package e2e_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/e2e"
	"github.com/carepost/carepost/internal/message"
)

const sample = "Received: from gw.riverside.example by carepost\r\n" +
	"DKIM-Signature: v=1; a=rsa-sha256; d=riverside.example; b=abc\r\n" +
	"From: Riverside Clinic <clinic@riverside.example>\r\n" +
	"To: Jane Roe <jane@patients.example>\r\n" +
	"Subject: =?utf-8?q?Biopsy_results?=\r\n" +
	"Date: Fri, 14 Mar 2025 09:26:53 -0500\r\n" +
	"Message-ID: <m1@riverside.example>\r\n" +
	"List-Unsubscribe: <https://riverside.example/u>\r\n" +
	"X-Patient-Ref: MRN 00123\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain;\r\n charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Your results are ready.\r\n"

func names(t *testing.T, header []byte) []string {
	t.Helper()
	fs, err := message.HeaderFields(header)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func TestSplit(t *testing.T) {
	t.Parallel()
	env, err := e2e.Split([]byte(sample), "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(names(t, env.Outer), " "), "Received From To Subject Date Message-ID List-Unsubscribe"; got != want {
		t.Errorf("outer fields %q, want %q", got, want)
	}
	if !bytes.Contains(env.Outer, []byte("Subject: ...\r\n")) || bytes.Contains(env.Outer, []byte("Biopsy")) {
		t.Errorf("outer header:\n%s", env.Outer)
	}
	p, err := message.Inspect(env.Inner, message.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(names(t, env.Inner), " "), "From To Subject Date Message-ID List-Unsubscribe X-Patient-Ref Content-Type Content-Transfer-Encoding"; got != want {
		t.Errorf("inner fields %q, want %q", got, want)
	}
	if p.Subject != "Biopsy results" || p.Text != "Your results are ready.\r\n" {
		t.Errorf("inner subject %q text %q", p.Subject, p.Text)
	}
	if !strings.Contains(p.Header[len(p.Header)-2].Value, `charset=utf-8; protected-headers="v1"`) {
		t.Errorf("inner Content-Type %q", p.Header[len(p.Header)-2].Value)
	}
	out := env.Wrap("Content-Type: application/octet-stream\r\n", []byte("body\r\n"))
	if !bytes.HasSuffix(out, []byte("MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n\r\nbody\r\n")) {
		t.Errorf("wrapped:\n%s", out)
	}
}

func TestSplitCanonicalizesAndDefaults(t *testing.T) {
	t.Parallel()
	raw := "From: a@b.example\nTo: c@d.example\n\nline one\nline two\n"
	env, err := e2e.Split([]byte(raw), "Secure message")
	if err != nil {
		t.Fatal(err)
	}
	if l := message.ScanLines(env.Inner); l.BareLF || l.BareCR {
		t.Errorf("inner not canonical: %q", env.Inner)
	}
	want := "From: a@b.example\r\nTo: c@d.example\r\nContent-Type: text/plain; charset=us-ascii; protected-headers=\"v1\"\r\n\r\nline one\r\nline two\r\n"
	if string(env.Inner) != want {
		t.Errorf("inner %q\nwant  %q", env.Inner, want)
	}
	if !bytes.Contains(env.Outer, []byte("Subject: Secure message\r\n")) {
		t.Errorf("outer %q", env.Outer)
	}
}

func TestSplitRefuses(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "a\r\nBcc: x@y.example", "über", strings.Repeat("x", 201)} {
		if _, err := e2e.Split([]byte(sample), bad); bad != "" && !errors.Is(err, e2e.ErrNeutralSubject) {
			t.Errorf("neutral subject %q: %v", bad, err)
		}
	}
	if _, err := e2e.Split([]byte("\r\nno header"), ""); !errors.Is(err, e2e.ErrNoHeader) {
		t.Errorf("no header: %v", err)
	}
	if _, err := e2e.Split([]byte("not a header line\r\n\r\n"), ""); err == nil {
		t.Error("malformed header accepted")
	}
}

// FuzzSplit: any input either fails or splits into an outer header and an
// inner entity that parse, with no bare line feeds and the neutral subject.
func FuzzSplit(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("From: a@b\n\nx"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		env, err := e2e.Split(raw, "")
		if err != nil {
			return
		}
		if _, err := message.HeaderFields(env.Outer); err != nil {
			t.Fatalf("outer header does not parse: %v", err)
		}
		if _, err := message.HeaderFields(env.Inner); err != nil {
			t.Fatalf("inner header does not parse: %v", err)
		}
		if l := message.ScanLines(env.Inner); l.BareLF {
			t.Fatal("bare LF in the inner entity")
		}
		if !bytes.Contains(env.Outer, []byte("Subject: ...\r\n")) {
			t.Fatal("no neutral subject")
		}
	})
}
