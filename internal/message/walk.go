package message

import (
	"bytes"
	"mime"
	"strconv"
	"strings"
)

// Defect descriptions. They are fixed strings plus a part number so that
// nothing from the message (which may be PHI) reaches a log through them.
const (
	defectContentType = "unparseable Content-Type, read as text/plain (RFC 2045 section 5.2)"
	defectNoBoundary  = "multipart without boundary, read as a single part"
	defectMultipart   = "multipart body without delimiter lines, skipped"
	defectUnclosed    = "multipart without close delimiter, read to the end"
	defectPartHeader  = "part header is malformed, part read as text/plain"
	defectEncoding    = "unknown Content-Transfer-Encoding, body kept undecoded"
	defectDecode      = "body does not decode cleanly, kept what decoded"
	defectCharset     = "unknown or invalid charset, text kept as is"
	defectNested      = "attached message has a malformed header, read as text"
)

// headerGetter is what the walk needs from a header: the first value of a
// field.
type headerGetter interface{ Get(key string) string }

// walker walks a MIME tree depth first over slices of the raw message,
// charging every entity to MaxParts, every nesting level to MaxDepth and
// every decoded byte to MaxContentBytes.
//
// QUIRK: it splits multiparts itself rather than with go-message's (or the
// standard library's) streaming multipart reader: those read a part's
// header without a size bound, and a 4 MB part header of short fields cost
// about 320 MB there. Here the message is already in memory, so a part is a
// slice of it and its header is cut off at MaxHeaderBytes.
type walker struct {
	lim     Limits
	p       *Parsed
	parts   int
	content int
}

func (w *walker) defect(msg string) {
	w.p.Defects = append(w.p.Defects, "part "+strconv.Itoa(w.parts)+": "+msg)
}

// entity walks one entity. nested is true inside an attached message, whose
// text counts for TextContent but whose parts are not the outer message's
// bodies or attachments.
func (w *walker) entity(h headerGetter, body []byte, depth int, nested bool) error {
	w.parts++
	if w.parts > w.lim.MaxParts {
		return ErrTooManyParts
	}
	if depth > w.lim.MaxDepth {
		return ErrTooDeep
	}
	mt, params := w.contentType(h.Get("Content-Type"))
	if strings.HasPrefix(mt, "multipart/") {
		if b := params["boundary"]; b != "" {
			return w.multipart(body, b, depth, nested)
		}
		w.defect(defectNoBoundary)
		mt = "application/octet-stream"
	}
	data, err := w.read(h.Get("Content-Transfer-Encoding"), body)
	if err != nil {
		return err
	}
	if mt == "message/rfc822" || mt == "message/global" {
		if !nested {
			w.p.Attachments = append(w.p.Attachments, describe(h, mt, params, data))
		}
		return w.part(data, depth+1, true, defectNested)
	}
	var text string
	if strings.HasPrefix(mt, "text/") {
		if text, err = w.decodeText(data, params["charset"]); err != nil {
			return err
		}
		w.p.addText(text, w.lim.MaxTextBytes)
	}
	if nested {
		return nil
	}
	part := describe(h, mt, params, data)
	isBody := part.Filename == "" && !strings.EqualFold(dispositionType(h), "attachment")
	switch {
	case isBody && mt == "text/plain" && w.p.Text == "":
		w.p.Text = text
	case isBody && mt == "text/html" && w.p.HTML == "":
		w.p.HTML = text
	default:
		w.p.Attachments = append(w.p.Attachments, part)
	}
	return nil
}

// multipart walks the parts of a multipart body (RFC 2046 section 5.1).
func (w *walker) multipart(body []byte, boundary string, depth int, nested bool) error {
	parts, closed, err := splitMultipart(body, boundary, w.lim.MaxParts-w.parts)
	if err != nil {
		return err
	}
	switch {
	case parts == nil:
		w.defect(defectMultipart)
		w.p.incomplete = true
	case !closed:
		w.defect(defectUnclosed)
	}
	for _, p := range parts {
		if err := w.part(p, depth+1, nested, defectPartHeader); err != nil {
			return err
		}
	}
	return nil
}

// part walks an entity given as header and body bytes: a body part, or an
// attached message. One whose header does not parse is walked as a header-
// less text/plain entity so its text is still scanned.
func (w *walker) part(b []byte, depth int, nested bool, malformed string) error {
	bodyStart, err := scanHeader(b, w.lim.MaxHeaderBytes, nil)
	switch {
	case err == ErrHeaderTooLarge:
		return err
	case err != nil:
		w.defect(malformed)
		return w.entity(partHeader(nil), b, depth, nested)
	}
	return w.entity(readPartHeader(b[:bodyStart]), b[bodyStart:], depth, nested)
}

// partHeader is what the walk keeps of a part's header: the first value of
// each field it reads, by lower-case name. One scan fills it and nothing
// else is kept, so a part header costs the same whatever its field count.
type partHeader map[string]string

var partFields = []string{"content-type", "content-transfer-encoding", "content-disposition", "content-id"}

func readPartHeader(h []byte) partHeader {
	p := partHeader{}
	_, _ = scanHeader(h, 0, func(start, end, colon int) bool {
		name := bytes.TrimRight(h[start:colon], " \t")
		if len(name) < len("content-id") || name[0]|0x20 != 'c' {
			return true // the common case: not a Content-* field
		}
		for _, f := range partFields {
			if _, seen := p[f]; !seen && bytes.EqualFold(name, []byte(f)) {
				p[f] = unfold(h[colon+1 : end])
			}
		}
		return true
	})
	return p
}

func (p partHeader) Get(name string) string { return p[strings.ToLower(name)] }

// read transfer-decodes a body within the content budget.
func (w *walker) read(cte string, body []byte) ([]byte, error) {
	room := w.lim.MaxContentBytes - w.content
	data, known, err := transferDecode(cte, body, room)
	if !known {
		w.defect(defectEncoding)
	}
	if len(data) > room {
		return nil, ErrContentTooLarge
	}
	w.content += len(data)
	if err != nil {
		w.defect(defectDecode)
		w.p.incomplete = true
	}
	return data, nil
}

// decodeText converts a text body to UTF-8, charging growth to the budget.
func (w *walker) decodeText(data []byte, charset string) (string, error) {
	s, ok := decodeCharset(data, charset)
	if !ok {
		w.defect(defectCharset)
		w.p.incomplete = true
	}
	if grown := len(s) - len(data); grown > 0 {
		w.content += grown
		if w.content > w.lim.MaxContentBytes {
			return "", ErrContentTooLarge
		}
	}
	return s, nil
}

// contentType parses a Content-Type value. RFC 2045 section 5.2: no
// Content-Type means text/plain; an unparseable one is read the same way,
// so that its text is still scanned.
func (w *walker) contentType(v string) (string, map[string]string) {
	if v == "" {
		return "text/plain", map[string]string{}
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		w.defect(defectContentType)
		return "text/plain", map[string]string{}
	}
	return mt, params
}

// describe makes the Part for a leaf.
func describe(h headerGetter, mt string, params map[string]string, data []byte) Part {
	p := Part{ContentType: mt, Content: data}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	p.Inline = disp == "inline"
	p.Filename = dparams["filename"]
	if p.Filename == "" {
		p.Filename = params["name"]
	}
	if strings.Contains(p.Filename, "=?") {
		// Not allowed in a quoted parameter (RFC 2047 section 5), but
		// widely written; RFC 2231 is decoded by ParseMediaType.
		if d, err := DecodeHeaderText(p.Filename); err == nil {
			p.Filename = d
		}
	}
	p.ContentID = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(h.Get("Content-ID")), "<"), ">")
	return p
}

// dispositionType returns the Content-Disposition type, even when its
// parameters do not parse.
func dispositionType(h headerGetter) string {
	t, _, _ := strings.Cut(h.Get("Content-Disposition"), ";")
	return strings.TrimSpace(t)
}
