package smtpclient

import (
	"bufio"
	"bytes"
	"io"
	"net/textproto"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/workload"
)

// encode runs input through the data writer in writes split at the given
// offsets.
func encode(t testing.TB, input []byte, splits ...int) []byte {
	t.Helper()
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	d := newDataWriter(w)
	prev := 0
	for _, s := range append(splits, len(input)) {
		s = min(max(s, prev), len(input))
		if _, err := d.Write(input[prev:s]); err != nil {
			t.Fatal(err)
		}
		prev = s
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestDataWriter(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"empty", "", ".\r\n"},
		{"crlf kept", "a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
		{"final line ended", "a\r\nb", "a\r\nb\r\n.\r\n"},
		{"bare LF", "a\nb\n", "a\r\nb\r\n.\r\n"},
		{"bare CR", "a\rb\r", "a\r\nb\r\n.\r\n"},
		{"CR CR LF", "a\r\r\nb", "a\r\n\r\nb\r\n.\r\n"},
		{"LF CR", "a\n\rb", "a\r\n\r\nb\r\n.\r\n"},
		{"leading dot", ".a\r\n..b\r\nc.d\r\n", "..a\r\n...b\r\nc.d\r\n.\r\n"},
		{"lone dot line", "a\r\n.\r\nb", "a\r\n..\r\nb\r\n.\r\n"},
		{"smuggling: LF dot LF", "a\n.\nMAIL FROM:<x@y>\n", "a\r\n..\r\nMAIL FROM:<x@y>\r\n.\r\n"},
		{"smuggling: CR dot CR", "a\r.\rb", "a\r\n..\r\nb\r\n.\r\n"},
		{"dot after bare CR", "a\r.b", "a\r\n..b\r\n.\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(encode(t, []byte(tt.in))); got != tt.want {
				t.Fatalf("encode(%q) = %q, want %q", tt.in, got, tt.want)
			}
			// Every split gives the same bytes.
			for i := range len(tt.in) + 1 {
				for j := i; j <= len(tt.in); j++ {
					if got := string(encode(t, []byte(tt.in), i, j)); got != tt.want {
						t.Fatalf("split at %d,%d: %q, want %q", i, j, got, tt.want)
					}
				}
			}
		})
	}
}

// normalize is what the receiver should get back: every CRLF, lone CR or
// lone LF as CRLF, and a final line ending.
func normalize(in []byte) []byte {
	s := strings.ReplaceAll(string(in), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	if s != "" && !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return []byte(s)
}

func FuzzDataWriter(f *testing.F) {
	for _, s := range []string{"", "a\r\nb", ".\n.\r.\r\n", "\r\r\n\n.", "x\n.\nMAIL FROM:<a@b>\n", "..\r\n..."} {
		f.Add([]byte(s), uint16(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		out := encode(t, in, int(split)%(len(in)+1))
		if !bytes.Equal(out, encode(t, in)) {
			t.Fatal("output depends on how the input was split")
		}
		if !bytes.HasSuffix(out, []byte(".\r\n")) || (len(out) > 3 && !bytes.HasSuffix(out, []byte("\r\n.\r\n"))) {
			t.Fatalf("output %q is not terminated", out)
		}
		for i, b := range out {
			if b == '\r' && (i+1 >= len(out) || out[i+1] != '\n') {
				t.Fatalf("bare CR at %d in %q", i, out)
			}
			if b == '\n' && (i == 0 || out[i-1] != '\r') {
				t.Fatalf("bare LF at %d in %q", i, out)
			}
		}
		// The receiver's view: the first lone "." ends the data, and
		// un-stuffing gives back the normalized input.
		got, err := io.ReadAll(textproto.NewReader(bufio.NewReader(bytes.NewReader(out))).DotReader())
		if err != nil {
			t.Fatal(err)
		}
		if want := bytes.ReplaceAll(normalize(in), []byte("\r\n"), []byte("\n")); !bytes.Equal(got, want) {
			t.Fatalf("receiver got %q, want %q", got, want)
		}
	})
}

// BenchmarkDataWriter encodes the standard 8 KB campaign (CRLF lines).
func BenchmarkDataWriter(b *testing.B) {
	in := []byte(strings.ReplaceAll(strings.ReplaceAll(string(workload.Campaign()), "\r\n", "\n"), "\n", "\r\n"))
	w := bufio.NewWriterSize(io.Discard, 32<<10)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		d := newDataWriter(w)
		if _, err := d.Write(in); err != nil {
			b.Fatal(err)
		}
		_ = d.Close()
	}
}
