package message

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const relayMsg = "Received: from mx.example by gw.example; Fri, 14 Mar 2025 09:26:53 -0500\r\n" +
	"From: Clinician <dr@clinic.example>\r\n" +
	"Subject: [secure] Lab results\r\n" +
	"X-Folded: one\r\n\ttwo\r\n" +
	"subject: a second one\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Body =C3=A9 stays encoded\r\n" +
	"Subject: not a header, body line\r\n"

func TestHeaderEdits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func([]byte) ([]byte, error)
		want string
	}{
		{"set replaces first, removes rest", func(b []byte) ([]byte, error) { return SetHeader(b, "Subject", "Lab results") },
			strings.Replace(strings.Replace(relayMsg, "Subject: [secure] Lab results", "Subject: Lab results", 1), "subject: a second one\r\n", "", 1)},
		{"set adds when absent", func(b []byte) ([]byte, error) { return SetHeader(b, "X-Carepost-Policy", "tls") },
			"X-Carepost-Policy: tls\r\n" + relayMsg},
		{"set a folded field", func(b []byte) ([]byte, error) { return SetHeader(b, "x-folded", "three") },
			strings.Replace(relayMsg, "X-Folded: one\r\n\ttwo\r\n", "x-folded: three\r\n", 1)},
		{"prepend", func(b []byte) ([]byte, error) { return PrependHeader(b, "Subject", "top") },
			"Subject: top\r\n" + relayMsg},
		{"remove all, case-insensitive", func(b []byte) ([]byte, error) { return RemoveHeader(b, "SUBJECT") },
			strings.Replace(strings.Replace(relayMsg, "Subject: [secure] Lab results\r\n", "", 1), "subject: a second one\r\n", "", 1)},
		{"remove absent is a copy", func(b []byte) ([]byte, error) { return RemoveHeader(b, "X-None") }, relayMsg},
		{"long value folds", func(b []byte) ([]byte, error) {
			return PrependHeader(b, "X-Long", strings.Repeat("abcdefghij ", 10))
		}, "X-Long: abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij\r\n abcdefghij abcdefghij abcdefghij abcdefghij \r\n" + relayMsg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := []byte(relayMsg)
			got, err := tt.edit(in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			if string(in) != relayMsg {
				t.Error("input was modified")
			}
		})
	}
}

// TestStripSubjectTag is the gateway's use: remove "[secure]" from an
// encoded subject and set it back, body untouched.
func TestStripSubjectTag(t *testing.T) {
	t.Parallel()
	raw := []byte("From: dr@clinic.example\r\nSubject: =?utf-8?q?[secure]_R=C3=A9sultats?=\r\n\r\nbody\r\n")
	fields, err := HeaderFields(raw)
	if err != nil {
		t.Fatal(err)
	}
	subj, err := DecodeHeaderText(fields[1].Value)
	if err != nil {
		t.Fatal(err)
	}
	stripped := strings.TrimSpace(strings.TrimPrefix(subj, "[secure]"))
	out, err := SetHeader(raw, "Subject", EncodeHeaderText(stripped))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Inspect(out, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "Résultats" || !bytes.HasSuffix(out, []byte("\r\n\r\nbody\r\n")) {
		t.Errorf("subject %q, message %q", p.Subject, out)
	}
}

func TestHeaderEditLineEndings(t *testing.T) {
	t.Parallel()
	lf := []byte("From: a@example.org\nSubject: x\n\nbody\n")
	out, err := SetHeader(lf, "Subject", "y")
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "From: a@example.org\nSubject: y\n\nbody\n" {
		t.Errorf("LF message: %q", out)
	}
	// A header-only message without a final line break.
	out, err = SetHeader([]byte("Subject: x"), "Subject", "y")
	if err != nil || string(out) != "Subject: y\r\n" {
		t.Errorf("header-only: %q, %v", out, err)
	}
	out, err = RemoveHeader([]byte("A: 1\r\nB: 2"), "B")
	if err != nil || string(out) != "A: 1\r\n" {
		t.Errorf("remove last: %q, %v", out, err)
	}
}

func TestHeaderEditRefusals(t *testing.T) {
	t.Parallel()
	raw := []byte(relayMsg)
	tests := []struct {
		name, field, value string
		err                error
	}{
		{"CR LF in value", "Subject", "x\r\nBcc: evil@example.org", errHeaderControl},
		{"LF in value", "Subject", "x\nBcc: evil@example.org", errHeaderControl},
		{"NUL in value", "Subject", "x\x00", errHeaderControl},
		{"non-ASCII value", "Subject", "Résultats", errHeaderASCII},
		{"colon in name", "Sub:ject", "x", errHeaderName},
		{"CR LF in name", "X\r\nBcc", "x", errHeaderName},
		{"empty name", "", "x", errHeaderName},
	}
	for _, tt := range tests {
		if _, err := SetHeader(raw, tt.field, tt.value); !errors.Is(err, tt.err) {
			t.Errorf("%s: SetHeader err = %v, want %v", tt.name, err, tt.err)
		}
		if _, err := PrependHeader(raw, tt.field, tt.value); !errors.Is(err, tt.err) {
			t.Errorf("%s: PrependHeader err = %v, want %v", tt.name, err, tt.err)
		}
	}
	if _, err := SetHeader([]byte("no colon line\r\n\r\nbody"), "Subject", "x"); !errors.Is(err, ErrMalformedHeader) {
		t.Errorf("malformed header: %v", err)
	}
}
