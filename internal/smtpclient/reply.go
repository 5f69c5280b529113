package smtpclient

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits on what a server may send in one reply. RFC 5321 section
// 4.5.3.1.5 allows 512 octets per reply line; real servers exceed it, so we
// accept more, but not without bound.
const (
	maxReplyLine  = 4096
	maxReplyLines = 256
)

// reply is one server reply, possibly multiline (RFC 5321 section 4.2.1).
type reply struct {
	Code int
	// Enhanced is the RFC 3463 status code of the first line ("2.1.5"), or
	// "" when the server sent none.
	Enhanced string
	// Lines are the texts after the code and separator, with the enhanced
	// code removed where it led the line.
	Lines []string
}

func (r reply) text() string { return strings.Join(r.Lines, " ") }

// errBadReply wraps ErrBadReply with a detail.
func errBadReply(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadReply, fmt.Sprintf(format, args...))
}

// readReply reads one complete reply. Lines end in CRLF; a bare LF is
// accepted too.
// QUIRK: RFC 5321 requires CRLF; some servers send LF, and being lenient on
// input costs nothing here.
func readReply(r *bufio.Reader) (reply, error) {
	var rep reply
	for {
		line, err := readLine(r)
		if err != nil {
			return reply{}, err
		}
		code, sep, text, err := parseReplyLine(line)
		if err != nil {
			return reply{}, err
		}
		if len(rep.Lines) == 0 {
			rep.Code = code
			rep.Enhanced, text = splitEnhanced(code, text)
		} else {
			if code != rep.Code {
				return reply{}, errBadReply("code %d in a reply with code %d", code, rep.Code)
			}
			if rep.Enhanced != "" {
				// RFC 2034 section 3: every line repeats the enhanced code.
				if enh, rest := splitEnhanced(code, text); enh == rep.Enhanced {
					text = rest
				}
			}
		}
		rep.Lines = append(rep.Lines, text)
		if sep != '-' {
			return rep, nil
		}
		if len(rep.Lines) >= maxReplyLines {
			return reply{}, errBadReply("more than %d lines", maxReplyLines)
		}
	}
}

// readLine reads one line without its terminator, refusing lines longer
// than maxReplyLine.
func readLine(r *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > maxReplyLine+2 {
			return "", errBadReply("line longer than %d octets", maxReplyLine)
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			buf = bytes.TrimSuffix(buf[:len(buf)-1], []byte("\r"))
			return string(buf), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) > 0:
			return "", io.ErrUnexpectedEOF
		default:
			return "", err
		}
	}
}

// parseReplyLine splits "250-text", "250 text" or "250".
// RFC 5321 section 4.2: the first digit is 2 to 5, the second 0 to 5.
func parseReplyLine(line string) (code int, sep byte, text string, err error) {
	if len(line) < 3 {
		return 0, 0, "", errBadReply("short line")
	}
	d := line[:3]
	if d[0] < '2' || d[0] > '5' || d[1] < '0' || d[1] > '5' || d[2] < '0' || d[2] > '9' {
		return 0, 0, "", errBadReply("bad code")
	}
	code = int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0')
	if len(line) == 3 {
		return code, ' ', "", nil
	}
	sep = line[3]
	if sep != ' ' && sep != '-' {
		return 0, 0, "", errBadReply("bad separator")
	}
	return code, sep, line[4:], nil
}

// splitEnhanced takes a leading RFC 3463 status code ("class.subject.detail",
// class matching the reply's first digit, subject and detail of 1 to 3
// digits) off text.
func splitEnhanced(code int, text string) (enhanced, rest string) {
	word, rest, _ := strings.Cut(text, " ")
	parts := strings.Split(word, ".")
	if len(parts) != 3 || parts[0] != strconv.Itoa(code/100) {
		return "", text
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return "", text
		}
	}
	return word, rest
}

// parseEHLO turns an EHLO reply into its extensions: upper-case keyword to
// parameters (RFC 5321 section 4.1.1.1). The first line is the greeting.
func parseEHLO(r reply) map[string]string {
	ext := make(map[string]string, len(r.Lines))
	for _, line := range r.Lines[1:] {
		kw, params, _ := strings.Cut(strings.TrimSpace(line), " ")
		if kw == "" {
			continue
		}
		ext[strings.ToUpper(kw)] = strings.TrimSpace(params)
	}
	return ext
}
