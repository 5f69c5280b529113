package message

import "strings"

// InspectDraft returns the content Inspect reads from the message Build
// makes of d — the subject, the text and HTML bodies and the text content
// the policy engine scans — without building and re-parsing it, or
// nil when d has attachments (their transfer encoding, nested messages and
// text parts are Inspect's to read: call Inspect on the built message).
//
// It exists for speed: the outbox decides every structured message's
// policy from its content, and re-parsing the MIME it had just built cost
// about a tenth of a campaign message's preparation. The bodies are the
// draft's text with every line ending made CRLF, as quoted-printable
// encoding and decoding leave them; FuzzInspectDraft holds the result to
// Inspect's of the built message field by field, so the scan sees the same
// text either way. Header, the addresses, MessageID, Lines and Defects are
// left empty: a built message has no defects, its line structure is
// Build's to guarantee, and callers that need the header Inspect the
// message.
func InspectDraft(d Draft, lim Limits) *Parsed {
	if len(d.Attachments) > 0 {
		return nil
	}
	lim = lim.WithDefaults()
	p := &Parsed{Subject: strings.TrimSpace(d.Subject)}
	text, html := crlfLines(d.Text), crlfLines(d.HTML)
	if text == "" || html == "" {
		// A single text part ends the message, and a message ends in CRLF
		// (Build): the part's decoded text carries it.
		text, html = endLine(text), endLine(html)
	}
	// Build's order: text/plain before text/html in multipart/alternative.
	for _, b := range []struct {
		s   string
		dst *string
	}{{text, &p.Text}, {html, &p.HTML}} {
		if b.s != "" {
			*b.dst = b.s
			p.addText(b.s, lim.MaxTextBytes)
		}
	}
	return p
}

// endLine is s ending in CRLF, or "" for "".
func endLine(s string) string {
	if s == "" || strings.HasSuffix(s, "\r\n") {
		return s
	}
	return s + "\r\n"
}

// crlfLines makes every line ending (CR, LF or CRLF) CRLF, as
// quoted-printable encoding does (encodeQP).
func crlfLines(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		// LF alone (an editor's or a template's text): one vectorized
		// pass, no byte-at-a-time loop.
		return strings.ReplaceAll(s, "\n", "\r\n")
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/32)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\r':
			b.WriteString("\r\n")
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
		case '\n':
			b.WriteString("\r\n")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
