package message

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Inspect errors: the message is beyond a limit and was not (fully) walked.
// A caller that must scan content (the policy engine) should refuse such a
// message rather than deliver what it could not see.
var (
	ErrHeaderTooLarge  = errors.New("message header exceeds the size limit")
	ErrTooDeep         = errors.New("message MIME structure is nested too deeply")
	ErrTooManyParts    = errors.New("message has too many MIME parts")
	ErrContentTooLarge = errors.New("message decoded content exceeds the size limit")
)

// Limits bound the work and memory of Inspect. The zero value means the
// defaults. Memory use is O(len(raw)) whatever the input: parts are slices
// of raw, not copies; every decoded byte is charged to MaxContentBytes
// (base64 and quoted-printable only shrink, charset conversion at most
// triples); and header sections, top-level and per part, are cut off at
// MaxHeaderBytes before their fields are collected.
type Limits struct {
	// MaxHeaderBytes bounds each header section (the message's and each
	// part's). Default 256 KiB.
	MaxHeaderBytes int
	// MaxDepth bounds multipart and message/rfc822 nesting. Default 16.
	MaxDepth int
	// MaxParts bounds the number of MIME entities. Default 500.
	MaxParts int
	// MaxContentBytes bounds all decoded bodies kept together. Default 64 MiB.
	MaxContentBytes int
	// MaxTextBytes bounds TextContent. Default 4 MiB.
	MaxTextBytes int
}

// WithDefaults returns l with zero fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 256 << 10
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 16
	}
	if l.MaxParts <= 0 {
		l.MaxParts = 500
	}
	if l.MaxContentBytes <= 0 {
		l.MaxContentBytes = 64 << 20
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = 4 << 20
	}
	return l
}

// Parsed is what Inspect learned about a raw message.
type Parsed struct {
	// Header is every top-level field in order.
	Header []HeaderField
	// From, To, Cc and ReplyTo are parsed with ParseAddressList's strict
	// rules; a field that fails them is left empty and noted in Defects.
	From, To, Cc, ReplyTo []Address
	// Subject is decoded from RFC 2047 encoded words.
	Subject   string
	MessageID string
	// Lines reports bare CR, bare LF, long lines, NUL and 8-bit octets.
	Lines LineReport
	// Text and HTML are the first text/plain and text/html bodies that are
	// not attachments, transfer-decoded and converted to UTF-8.
	Text, HTML string
	// Attachments are all other leaf parts, transfer-decoded.
	Attachments []Part
	// Defects are deviations Inspect tolerated, as fixed descriptions
	// without content ("part 3: unknown charset").
	Defects []string

	texts      []string // every text/* leaf as UTF-8, within MaxTextBytes
	textBytes  int
	incomplete bool // some text was cut off or could not be decoded
}

// Part is one attachment (or extra body part) of a parsed message.
type Part struct {
	// ContentType is the lower-case media type without parameters.
	ContentType string
	// Filename from Content-Disposition or the Content-Type name parameter,
	// RFC 2231 and RFC 2047 decoded; as the sender wrote it, not sanitized.
	Filename string
	// ContentID without angle brackets.
	ContentID string
	// Inline: Content-Disposition inline (RFC 2183).
	Inline bool
	// Content is the transfer-decoded body, byte for byte. For 7bit, 8bit
	// and binary parts it shares memory with the raw message.
	Content []byte
}

// TextContent returns the decoded text of every text/* part (bodies,
// text attachments and text inside attached messages), joined by newlines
// and bounded by Limits.MaxTextBytes. complete is false when some text was
// cut off at the limit or could not be decoded: a PHI scan of an incomplete
// text has not seen the whole message.
func (p *Parsed) TextContent() (text string, complete bool) {
	return strings.Join(p.texts, "\n"), !p.incomplete
}

// TextParts returns the texts TextContent joins, one a part, without
// joining them; the caller does not change them.
func (p *Parsed) TextParts() (texts []string, complete bool) {
	return p.texts, !p.incomplete
}

// addText charges s to the text budget and keeps what fits.
func (p *Parsed) addText(s string, limit int) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	room := limit - p.textBytes
	if len(s) > room {
		p.incomplete = true
		for room > 0 && !utf8.RuneStart(s[room]) {
			room--
		}
		s = s[:max(room, 0)]
	}
	if s == "" {
		return
	}
	p.texts = append(p.texts, s)
	p.textBytes += len(s) + 1
}

// Inspect parses a raw message for policy decisions: header fields,
// addresses, subject, line structure, the text and HTML bodies, attachments
// and the text of every text part. It tolerates defects real mail has
// (reported in Defects) and returns an error only for an unparseable header
// or a message beyond lim. It never panics and never holds more than about
// three times len(raw) in decoded content.
func Inspect(raw []byte, lim Limits) (*Parsed, error) {
	lim = lim.WithDefaults()
	h, err := parseRawHeader(raw, lim.MaxHeaderBytes)
	if err != nil {
		return nil, err
	}
	p := &Parsed{Header: h.finish(raw), Lines: ScanLines(raw)}
	p.readEnvelopeFields()
	w := &walker{lim: lim, p: p}
	if err := w.entity(fieldsGetter(p.Header), raw[h.bodyStart:], 0, false); err != nil {
		return nil, err
	}
	return p, nil
}

// readEnvelopeFields fills From, To, Cc, ReplyTo, Subject and MessageID.
func (p *Parsed) readEnvelopeFields() {
	addrs := []struct {
		name string
		dst  *[]Address
	}{{"From", &p.From}, {"To", &p.To}, {"Cc", &p.Cc}, {"Reply-To", &p.ReplyTo}}
	for _, a := range addrs {
		for _, f := range p.Header {
			if !strings.EqualFold(f.Name, a.name) {
				continue
			}
			// Unfolding leaves the folding whitespace, which may be a TAB.
			l, err := ParseAddressList(strings.ReplaceAll(f.Value, "\t", " "))
			if err != nil {
				p.Defects = append(p.Defects, strings.ToLower(a.name)+": "+err.Error())
				continue
			}
			*a.dst = append(*a.dst, l...)
		}
	}
	g := fieldsGetter(p.Header)
	if s := g.Get("Subject"); s != "" {
		d, err := DecodeHeaderText(s)
		if err != nil {
			p.Defects = append(p.Defects, "subject: undecodable encoded word")
			d = s
		}
		p.Subject = d
	}
	p.MessageID = strings.TrimSuffix(strings.TrimPrefix(g.Get("Message-ID"), "<"), ">")
}

// fieldsGetter looks up the first field of a name, like textproto.Header.
type fieldsGetter []HeaderField

func (fs fieldsGetter) Get(name string) string {
	for _, f := range fs {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}
