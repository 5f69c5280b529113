package smtpclient

import (
	"bufio"
	"bytes"
	"io"
)

// dataWriter encodes a message for the DATA command (RFC 5321 section
// 4.5.2): it dot-stuffs lines that start with ".", writes every line ending
// as CRLF, and on close terminates the data with "CRLF.CRLF".
//
// Line endings: CRLF is kept; a bare LF becomes CRLF; a bare CR becomes
// CRLF. Converting rather than refusing keeps messages built on systems with
// LF line endings deliverable, and emitting CRLF for every lone CR or LF means
// the output never contains one: "\n.\n" in the input cannot end the data at
// a lenient receiver (SMTP smuggling), because it leaves as "\r\n..\r\n".
type dataWriter struct {
	w         *bufio.Writer
	lineStart bool // the next byte starts a line
	cr        bool // the last byte seen was a CR not yet written
	n         int64
}

func newDataWriter(w *bufio.Writer) *dataWriter {
	return &dataWriter{w: w, lineStart: true}
}

// Write encodes p. It returns len(p) on success, as io.Writer requires, while
// more bytes may go to the wire. It works a line at a time: the next LF and
// any CR before it are found by bytes.IndexByte, and the text between is
// written as one span, so a message with CRLF line endings costs two
// searches and one copy per line rather than a test per byte.
func (d *dataWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if d.cr {
			// The last byte was a CR: it ends a line whatever follows,
			// and an LF right after it is part of the same line ending.
			d.cr = false
			d.newline()
			if p[0] == '\n' {
				p = p[1:]
				continue
			}
		}
		if d.lineStart {
			d.lineStart = false
			if p[0] == '.' {
				// RFC 5321 section 4.5.2: a leading period is doubled.
				d.w.WriteByte('.')
				d.n++
			}
		}
		end := bytes.IndexByte(p, '\n')
		line := p
		if end >= 0 {
			line = p[:end]
		}
		if cr := bytes.IndexByte(line, '\r'); cr >= 0 {
			d.text(p[:cr])
			d.cr, p = true, p[cr+1:]
			continue
		}
		if end < 0 {
			d.text(p)
			break
		}
		d.text(line)
		d.newline()
		p = p[end+1:]
	}
	// bufio.Writer keeps its first error and returns it from every call.
	if _, err := d.w.Write(nil); err != nil {
		return 0, err
	}
	return n, nil
}

// text writes bytes that hold no line ending.
func (d *dataWriter) text(b []byte) {
	if len(b) > 0 {
		d.w.Write(b)
		d.n += int64(len(b))
	}
}

func (d *dataWriter) newline() {
	d.w.WriteString("\r\n")
	d.n += 2
	d.lineStart = true
}

// Close ends the last line if it is open and writes the terminating ".".
// It does not flush.
func (d *dataWriter) Close() error {
	if d.cr {
		d.cr = false
		d.newline()
	}
	if !d.lineStart {
		d.newline()
	}
	_, err := d.w.WriteString(".\r\n")
	return err
}

// copyData encodes r onto w. It returns the number of message octets
// written (after encoding, before the terminator).
func copyData(w *bufio.Writer, r io.Reader) (int64, error) {
	d := newDataWriter(w)
	if _, err := io.Copy(d, r); err != nil {
		return d.n, err
	}
	return d.n, d.Close()
}
