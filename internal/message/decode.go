package message

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// transferDecode undoes a body's Content-Transfer-Encoding (RFC 2045
// section 6), reading at most room+1 decoded bytes where decoding can grow
// (a caller refuses more than room). 7bit, 8bit and binary bodies come back
// as they are; an unknown encoding is passed through undecoded and
// reported with known false. A decoding error comes with what was decoded
// before it.
func transferDecode(cte string, body []byte, room int) (_ []byte, known bool, err error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary":
		return body, true, nil
	case "quoted-printable":
		data, err := decodeQP(body) // never longer than body
		return data, true, err
	case "base64":
		// RFC 2045 section 6.8: characters outside the alphabet are ignored.
		r := base64.NewDecoder(base64.StdEncoding, &base64Filter{r: bytes.NewReader(body)})
		data, err := io.ReadAll(io.LimitReader(r, int64(room)+1))
		return data, true, err
	}
	return body, false, nil
}

// base64Filter drops every byte that is not in the base64 alphabet or "=",
// as RFC 2045 section 6.8 tells decoders to.
type base64Filter struct{ r io.Reader }

func (f *base64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// decodeCharset converts text in the named charset to UTF-8 using the
// WHATWG encoding names and labels, which cover what mail clients send.
// ok is false when the charset is unknown or the conversion failed; the
// bytes are then returned as they are.
func decodeCharset(data []byte, charset string) (string, bool) {
	switch cs := strings.ToLower(strings.TrimSpace(charset)); cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return string(data), true
	default:
		enc, err := htmlindex.Get(cs)
		if err != nil {
			return string(data), false
		}
		out, err := enc.NewDecoder().Bytes(data)
		if err != nil {
			return string(data), false
		}
		return string(out), true
	}
}

// DecodeHeaderText decodes the RFC 2047 encoded words in an unstructured
// field body (a Subject) to UTF-8. Text that is not an encoded word is kept
// as is. The error never includes the text.
func DecodeHeaderText(s string) (string, error) {
	d := mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
		enc, err := htmlindex.Get(strings.ToLower(charset))
		if err != nil {
			return nil, fmt.Errorf("unknown charset")
		}
		return enc.NewDecoder().Reader(r), nil
	}}
	out, err := d.DecodeHeader(s)
	if err != nil {
		return "", fmt.Errorf("decode header text: undecodable encoded word")
	}
	return out, nil
}
