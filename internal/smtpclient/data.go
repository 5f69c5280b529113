package smtpclient

import (
	"bufio"
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
// more bytes may go to the wire.
func (d *dataWriter) Write(p []byte) (int, error) {
	start := 0 // p[start:i] is plain text still to be written
	flushSpan := func(i int) {
		if i > start {
			d.w.Write(p[start:i])
			d.n += int64(i - start)
		}
		start = i + 1
	}
	for i := 0; i < len(p); i++ {
		b := p[i]
		if d.cr {
			d.cr = false
			d.newline()
			if b == '\n' {
				start = i + 1
				continue
			}
		}
		switch {
		case b == '\r':
			flushSpan(i)
			d.cr = true
		case b == '\n':
			flushSpan(i)
			d.newline()
		case d.lineStart:
			d.lineStart = false
			if b == '.' {
				// RFC 5321 section 4.5.2: a leading period is doubled.
				d.w.WriteByte('.')
				d.n++
			}
		}
	}
	if start < len(p) {
		d.w.Write(p[start:])
		d.n += int64(len(p) - start)
	}
	// bufio.Writer keeps its first error and returns it from every call.
	if _, err := d.w.Write(nil); err != nil {
		return 0, err
	}
	return len(p), nil
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
