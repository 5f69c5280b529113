package smtpclient

import (
	"bufio"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		code     int
		enhanced string
		lines    []string
		err      bool
	}{
		{"single", "250 OK\r\n", 250, "", []string{"OK"}, false},
		{"code only", "250\r\n", 250, "", []string{""}, false},
		{"enhanced", "550 5.1.1 no such user\r\n", 550, "5.1.1", []string{"no such user"}, false},
		{"enhanced on every line", "451-4.3.0 first\r\n451 4.3.0 second\r\n", 451, "4.3.0", []string{"first", "second"}, false},
		{"enhanced class must match", "550 4.1.1 odd\r\n", 550, "", []string{"4.1.1 odd"}, false},
		{"enhanced three-digit parts", "554 5.123.456 x\r\n", 554, "5.123.456", []string{"x"}, false},
		{"not enhanced: four digits", "554 5.1234.1 x\r\n", 554, "", []string{"5.1234.1 x"}, false},
		{"multiline EHLO", "250-mx.test hi\r\n250-PIPELINING\r\n250 SIZE 100\r\n", 250, "", []string{"mx.test hi", "PIPELINING", "SIZE 100"}, false},
		{"bare LF accepted", "220 ready\n", 220, "", []string{"ready"}, false},
		{"code changes mid-reply", "250-a\r\n251 b\r\n", 0, "", nil, true},
		{"bad first digit", "650 x\r\n", 0, "", nil, true},
		{"bad second digit", "260 x\r\n", 0, "", nil, true},
		{"bad separator", "250_x\r\n", 0, "", nil, true},
		{"short", "25\r\n", 0, "", nil, true},
		{"truncated multiline", "250-a\r\n", 0, "", nil, true},
		{"no terminator", "250 ok", 0, "", nil, true},
		{"too long", "250 " + strings.Repeat("x", maxReplyLine+1) + "\r\n", 0, "", nil, true},
		{"too many lines", strings.Repeat("250-x\r\n", maxReplyLines+1) + "250 x\r\n", 0, "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, err := readReply(bufio.NewReader(strings.NewReader(tt.in)))
			if tt.err {
				if err == nil {
					t.Fatalf("parsed %+v, want an error", rep)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Code != tt.code || rep.Enhanced != tt.enhanced || !slices.Equal(rep.Lines, tt.lines) {
				t.Fatalf("got %+v, want %d %q %q", rep, tt.code, tt.enhanced, tt.lines)
			}
		})
	}
}

func TestReadReplyMalformedIsErrBadReply(t *testing.T) {
	t.Parallel()
	_, err := readReply(bufio.NewReader(strings.NewReader("hello\r\n")))
	if !errors.Is(err, ErrBadReply) {
		t.Fatalf("got %v, want ErrBadReply", err)
	}
}

func TestParseEHLO(t *testing.T) {
	t.Parallel()
	rep := reply{Code: 250, Lines: []string{"mx.test greets you", "pipelining", "SIZE 35882577", "AUTH PLAIN LOGIN", "STARTTLS", ""}}
	ext := parseEHLO(rep)
	want := map[string]string{"PIPELINING": "", "SIZE": "35882577", "AUTH": "PLAIN LOGIN", "STARTTLS": ""}
	if len(ext) != len(want) {
		t.Fatalf("got %v, want %v", ext, want)
	}
	for k, v := range want {
		if got, ok := ext[k]; !ok || got != v {
			t.Errorf("%s = %q (%v), want %q", k, got, ok, v)
		}
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"<jane@example.org>: Recipient address rejected", "[redacted] Recipient address rejected"},
		{"mailbox\x00full\x1b[31m", "mailbox?full?[31m"},
		{"caf\u00e9 closed", "caf? closed"},
		{strings.Repeat("word ", 200), strings.Repeat("word ", 52)[:maxMsg]},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestXtext(t *testing.T) {
	t.Parallel()
	if got := xtext("id+1=2 é"); got != "id+2B1+3D2+20+C3+A9" {
		t.Fatalf("xtext = %q", got)
	}
}
