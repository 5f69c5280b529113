package smtpclient

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// format writes a reply back in wire form.
func format(r reply) string {
	var b strings.Builder
	for i, l := range r.Lines {
		sep := "-"
		if i == len(r.Lines)-1 {
			sep = " "
		}
		text := l
		if r.Enhanced != "" {
			text = r.Enhanced + " " + l
		}
		fmt.Fprintf(&b, "%d%s%s\r\n", r.Code, sep, text)
	}
	return b.String()
}

// FuzzReadReply feeds arbitrary server output to the reply parser: it must
// never panic, only return replies within RFC 5321's code range and limits,
// with enhanced codes of RFC 3463's shape, and re-read what it formats.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"220 mx.test ESMTP\r\n",
		"250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n",
		"550 5.1.1 <jane@example.org>: Recipient address rejected\r\n",
		"451-4.3.0 temporary\r\n451 4.3.0 try later\r\n",
		"421 4.4.2 idle\n",
		"250 2.0.0\r\n354 go\r\n",
		"250-a\r\n251 b\r\n",
		"250",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(data), 64)
		for range 64 {
			rep, err := readReply(r)
			if err != nil {
				return
			}
			if rep.Code < 200 || rep.Code > 559 || len(rep.Lines) == 0 || len(rep.Lines) > maxReplyLines {
				t.Fatalf("reply out of range: %+v", rep)
			}
			if rep.Enhanced != "" {
				if enh, _ := splitEnhanced(rep.Code, rep.Enhanced); enh != rep.Enhanced {
					t.Fatalf("enhanced code %q does not parse as one", rep.Enhanced)
				}
			}
			_ = parseEHLO(rep)
			_ = sanitize(rep.text())
			// Round trip, for replies whose lines are plain text.
			if strings.ContainsAny(strings.Join(rep.Lines, ""), "\r\n") {
				continue
			}
			again, err := readReply(bufio.NewReader(strings.NewReader(format(rep))))
			if err != nil {
				t.Fatalf("re-reading %q: %v", format(rep), err)
			}
			if again.Code != rep.Code || again.Enhanced != rep.Enhanced || strings.Join(again.Lines, "\n") != strings.Join(rep.Lines, "\n") {
				t.Fatalf("round trip: %+v became %+v", rep, again)
			}
		}
	})
}
