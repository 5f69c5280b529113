package message

import (
	"sort"
	"unicode/utf8"
)

// Draft is an outbound message as the REST API's send request describes it.
// Nothing in it is trusted: Validate checks every field and Build calls
// Validate first.
type Draft struct {
	From    Address   `json:"from"`
	ReplyTo []Address `json:"reply_to,omitempty"`
	To      []Address `json:"to,omitempty"`
	Cc      []Address `json:"cc,omitempty"`
	// Bcc recipients get the message through the envelope only; Build never
	// writes them into a header (RFC 5322 section 3.6.3 allows either, and
	// writing them would show every Bcc recipient to every other).
	Bcc         []Address         `json:"bcc,omitempty"`
	Subject     string            `json:"subject"`
	Text        string            `json:"text,omitempty"`
	HTML        string            `json:"html,omitempty"`
	Attachments []Attachment      `json:"attachments,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	// Tags and Metadata travel with the message into events and webhooks;
	// they are never written into the message.
	Tags     []string          `json:"tags,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Attachment is a file carried in the message. An Inline attachment is
// referenced from the HTML by "cid:" + ContentID (RFC 2392) and goes into a
// multipart/related part with it.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Content     []byte `json:"content"`
	Inline      bool   `json:"inline,omitempty"`
	ContentID   string `json:"content_id,omitempty"`
}

// Recipients returns To, Cc and Bcc: the envelope recipients.
func (d Draft) Recipients() []Address {
	out := make([]Address, 0, len(d.To)+len(d.Cc)+len(d.Bcc))
	out = append(out, d.To...)
	out = append(out, d.Cc...)
	return append(out, d.Bcc...)
}

// NeedsSMTPUTF8 reports whether any address of the draft has a non-ASCII
// local part. The built message then carries UTF-8 in its header (RFC 6532)
// and can only be relayed to servers that announce SMTPUTF8 (RFC 6531).
func (d Draft) NeedsSMTPUTF8() bool {
	if d.From.NeedsSMTPUTF8() {
		return true
	}
	for _, a := range append(d.Recipients(), d.ReplyTo...) {
		if a.NeedsSMTPUTF8() {
			return true
		}
	}
	return false
}

// ValidateOptions are the limits Validate applies. The zero value means the
// defaults.
type ValidateOptions struct {
	// MaxSize is the most content bytes (text, HTML and attachments before
	// encoding) a message may carry, and the most bytes Build may produce.
	// Default 25 MiB.
	MaxSize int
	// MaxRecipients bounds To + Cc + Bcc. Default 1000.
	MaxRecipients int
	// MaxAttachments bounds the number of attachments. Default 100.
	MaxAttachments int
}

// Defaults for ValidateOptions, and the limits that are not configurable.
const (
	DefaultMaxSize        = 25 << 20
	DefaultMaxRecipients  = 1000
	DefaultMaxAttachments = 100

	// MaxSubject keeps the Subject field on one 998-octet line even when it
	// has no whitespace to fold at (RFC 5322 section 2.1.1).
	MaxSubject = 900
	// MaxFilename keeps an RFC 2231 percent-encoded filename parameter under
	// 998 octets on its folded line (255 octets encode to at most 765).
	MaxFilename = 255

	maxDisplayName = 256
	maxContentType = 255
	maxContentID   = 250
	maxTags        = 10
	maxTagLen      = 128
	maxMetadata    = 32
	maxMetaKey     = 64
	maxMetaValue   = 1024
)

// WithDefaults returns o with zero fields set to their defaults.
func (o ValidateOptions) WithDefaults() ValidateOptions {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxRecipients <= 0 {
		o.MaxRecipients = DefaultMaxRecipients
	}
	if o.MaxAttachments <= 0 {
		o.MaxAttachments = DefaultMaxAttachments
	}
	return o
}

// Validate checks the draft with the default limits.
func (d Draft) Validate() error {
	return d.ValidateWith(ValidateOptions{})
}

// ValidateWith checks every field of the draft and returns FieldErrors
// naming each invalid one, or nil.
func (d Draft) ValidateWith(opts ValidateOptions) error {
	opts = opts.WithDefaults()
	var fe fieldErrors
	checkAddress(&fe, "from", d.From)
	checkAddresses(&fe, "reply_to", d.ReplyTo)
	checkAddresses(&fe, "to", d.To)
	checkAddresses(&fe, "cc", d.Cc)
	checkAddresses(&fe, "bcc", d.Bcc)
	switch n := len(d.To) + len(d.Cc) + len(d.Bcc); {
	case n == 0:
		fe.add("to", "at least one recipient (to, cc or bcc) is required")
	case n > opts.MaxRecipients:
		fe.add("to", "too many recipients (to, cc and bcc together)")
	}
	checkText(&fe, "subject", d.Subject, MaxSubject)
	if d.Text == "" && d.HTML == "" {
		fe.add("text", "text or html is required")
	}
	checkBody(&fe, "text", d.Text)
	checkBody(&fe, "html", d.HTML)
	size := len(d.Text) + len(d.HTML)
	if len(d.Attachments) > opts.MaxAttachments {
		fe.add("attachments", "too many attachments")
	}
	for i, a := range d.Attachments {
		checkAttachment(&fe, indexed("attachments", i), a)
		size += len(a.Content)
	}
	if size > opts.MaxSize {
		fe.add("size", "message content exceeds the size limit")
	}
	for _, name := range sortedKeys(d.Headers) {
		if _, _, err := checkCustomHeader(name, d.Headers[name]); err != nil {
			fe.addErr(keyPath("headers", name), err)
		}
	}
	checkTagsMetadata(&fe, d.Tags, d.Metadata)
	return fe.err()
}

func checkAddresses(fe *fieldErrors, name string, l []Address) {
	for i, a := range l {
		checkAddress(fe, indexed(name, i), a)
	}
}

func checkAddress(fe *fieldErrors, field string, a Address) {
	if hasControl(a.Name) {
		fe.add(field+".name", "display name contains a control character or invalid UTF-8 (header injection)")
	} else if len(a.Name) > maxDisplayName {
		fe.add(field+".name", "display name is longer than 256 octets")
	}
	if a.Email == "" {
		fe.add(field+".email", "is required")
	} else if _, err := NormalizeAddress(Address{Email: a.Email}); err != nil {
		fe.addErr(field+".email", err)
	}
}

// checkText checks a single-line header text such as the subject.
func checkText(fe *fieldErrors, field, s string, max int) {
	switch {
	case hasControl(s):
		fe.add(field, "contains CR, LF or another control character (header injection)")
	case len(s) > max:
		fe.add(field, "is too long")
	}
}

// checkBody checks a text body: valid UTF-8, and no NUL or other control
// characters except TAB, CR, LF and FF (RFC 2045 section 2.8 and RFC 5322
// section 2.3 forbid NUL; the others are never meant in mail text).
func checkBody(fe *fieldErrors, field, s string) {
	if !utf8.ValidString(s) {
		fe.add(field, "is not valid UTF-8")
		return
	}
	if bodyControl(s) {
		fe.add(field, "contains a control character")
	}
}

// bodyControl reports whether s holds a control character a text body may
// not: below 0x20 except TAB, CR, LF and FF, or DEL. Eight bytes at a time
// (a word with no byte below 0x20 and none equal to 0x7f is skipped whole),
// since it reads every byte of every structured message; FuzzBodyControl
// holds it to the byte-by-byte rule.
func bodyControl(s string) bool {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
		dels = 0x7f7f7f7f7f7f7f7f
	)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// (w - 0x20 per byte) &^ w & high is non-zero exactly when some
		// byte is below 0x20; the same with w^dels finds a 0x7f.
		if (w-0x20*ones)&^w&high == 0 && ((w^dels)-ones)&^(w^dels)&high == 0 {
			continue
		}
		if bodyControlBytes(s[i : i+8]) {
			return true
		}
	}
	return bodyControlBytes(s[i:])
}

func bodyControlBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != '\f') || c == 0x7f {
			return true
		}
	}
	return false
}

func checkTagsMetadata(fe *fieldErrors, tags []string, meta map[string]string) {
	if len(tags) > maxTags {
		fe.add("tags", "too many tags")
	}
	for i, t := range tags {
		if t == "" || len(t) > maxTagLen || hasControl(t) {
			fe.add(indexed("tags", i), "tag must be 1..128 octets without control characters")
		}
	}
	if len(meta) > maxMetadata {
		fe.add("metadata", "too many metadata keys")
	}
	for _, k := range sortedKeys(meta) {
		if k == "" || len(k) > maxMetaKey || hasControl(k) {
			fe.add(keyPath("metadata", k), "key must be 1..64 octets without control characters")
		}
		if v := meta[k]; len(v) > maxMetaValue || hasControl(v) {
			fe.add(keyPath("metadata", k), "value must be at most 1024 octets without control characters")
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
