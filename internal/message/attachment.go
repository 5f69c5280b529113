package message

import (
	"encoding/base64"
	"mime"
	"strings"
	"unicode/utf8"
)

// checkAttachment validates one attachment; field is "attachments[i]".
func checkAttachment(fe *fieldErrors, field string, a Attachment) {
	if msg := checkFilename(a.Filename); msg != "" {
		fe.add(field+".filename", msg)
	}
	if _, err := attachmentContentType(a.ContentType, "x"); err != "" {
		fe.add(field+".content_type", err)
	}
	if a.Inline && a.ContentID == "" {
		fe.add(field+".content_id", "is required for inline attachments (RFC 2392 cid: reference)")
	} else if a.ContentID != "" && !validContentID(a.ContentID) {
		fe.add(field+".content_id", "must be 1..250 characters of dot-atom text and \"@\", without angle brackets (RFC 2392)")
	}
}

// checkFilename returns why name is not an acceptable attachment filename,
// or "". A filename is shown to the recipient and often saved as is, so path
// separators (a "../" walk on a naive client) and control characters (a CR
// LF in a header parameter) are refused rather than silently rewritten.
func checkFilename(name string) string {
	switch {
	case name == "":
		return "is required"
	case len(name) > MaxFilename:
		return "is longer than 255 octets"
	case !utf8.ValidString(name), hasControl(name):
		return "contains a control character or invalid UTF-8"
	case strings.ContainsAny(name, `/\`):
		return "must not contain a path separator"
	case name == "." || name == "..":
		return "must not be a relative path"
	case strings.TrimSpace(name) != name:
		return "must not start or end with whitespace"
	}
	return ""
}

// attachmentContentType parses ct (default application/octet-stream), adds
// the RFC 2045 "name" parameter and formats it again, so a parameter value
// cannot smuggle header syntax. The second result is the reason it is
// refused, or "".
func attachmentContentType(ct, filename string) (string, string) {
	if ct == "" {
		ct = "application/octet-stream"
	}
	if len(ct) > maxContentType {
		return "", "is longer than 255 octets"
	}
	if hasControl(ct) {
		return "", "contains CR, LF or another control character (header injection)"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", "is not a valid media type (RFC 2045 section 5.1)"
	}
	if strings.HasPrefix(mt, "multipart/") || strings.HasPrefix(mt, "message/") {
		// RFC 2046 sections 5.1 and 5.2.1: these may not be base64 encoded,
		// and their structure would have to be trusted.
		return "", "multipart and message types cannot be attached"
	}
	delete(params, "name")
	params["name"] = filename
	out := mime.FormatMediaType(mt, params)
	if out == "" {
		return "", "has parameters that cannot be encoded"
	}
	return out, ""
}

// validContentID checks an RFC 2392 content-id without its angle brackets.
func validContentID(id string) bool {
	if id == "" || len(id) > maxContentID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !isAtext(c) && c != '.' && c != '@' {
			return false
		}
	}
	return true
}

// attachmentPart builds the MIME part for a. disposition is "attachment" or
// "inline" (RFC 2183 section 2).
func attachmentPart(a Attachment, disposition string) *part {
	ct, _ := attachmentContentType(a.ContentType, a.Filename) // validated
	p := &part{
		header: []field{
			{name: "Content-Type", value: ct},
			// RFC 2183 section 2.3 and RFC 2231 section 4: FormatMediaType
			// writes filename*=utf-8''… for non-ASCII names.
			{name: "Content-Disposition", value: mime.FormatMediaType(disposition, map[string]string{"filename": a.Filename})},
			{name: "Content-Transfer-Encoding", value: "base64"},
		},
		body: encodeBase64(a.Content),
	}
	if a.ContentID != "" {
		p.header = append(p.header, field{name: "Content-ID", value: "<" + a.ContentID + ">"})
	}
	return p
}

// encodeBase64 encodes b in RFC 2045 section 6.8 base64 with 76-character
// lines separated by CRLF, without a final CRLF.
func encodeBase64(b []byte) []byte {
	const line = 76
	enc := base64.StdEncoding.EncodedLen(len(b))
	tmp := make([]byte, enc)
	base64.StdEncoding.Encode(tmp, b)
	out := make([]byte, 0, enc+2*(enc/line+1))
	for len(tmp) > line {
		out = append(out, tmp[:line]...)
		out = append(out, '\r', '\n')
		tmp = tmp[line:]
	}
	return append(out, tmp...)
}
