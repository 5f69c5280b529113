package phi

import (
	"errors"
	"path"
	"strings"
)

// MaxAttachmentTypes bounds the organization's attachment type list.
const MaxAttachmentTypes = 100

// AttachmentPart is what the attachment detector sees of one attachment:
// its declared media type, its file name and its first bytes (DICOM files
// say "DICM" at offset 128, whatever they are called).
type AttachmentPart struct {
	ContentType string
	Filename    string
	Head        []byte
}

// attachmentType is one entry of the organization's list:
//
//	application/pdf   that media type
//	image/*           any subtype
//	.csv              a file name ending so (case-insensitive)
//	dicom             application/dicom, a .dcm file, or DICOM content
//	                  (DICOM PS3.10 section 7.1: "DICM" after a 128-byte
//	                  preamble), since medical images are PHI by nature
type attachmentType struct {
	media, prefix, ext string
	dicom              bool
}

func parseAttachmentType(s string) (attachmentType, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "dicom":
		return attachmentType{dicom: true}, nil
	case strings.HasPrefix(s, "."):
		if len(s) < 2 || len(s) > 17 || !token(s[1:], false) {
			return attachmentType{}, errors.New("a file extension is '.' and 1 to 16 letters or digits")
		}
		return attachmentType{ext: s}, nil
	}
	typ, sub, ok := strings.Cut(s, "/")
	if !ok || !token(typ, true) || (sub != "*" && !token(sub, true)) {
		return attachmentType{}, errors.New("must be a media type (application/pdf), a wildcard (image/*), an extension (.csv) or dicom")
	}
	if sub == "*" {
		return attachmentType{prefix: typ + "/"}, nil
	}
	return attachmentType{media: s}, nil
}

// token reports whether s is letters and digits (and, for media types, the
// RFC 6838 section 4.2 restricted-name punctuation "!#$&-^_.+").
func token(s string, media bool) bool {
	if s == "" || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && !(media && strings.IndexByte("!#$&-^_.+", s[i]) >= 0) {
			return false
		}
	}
	return true
}

func (a attachmentType) matches(p AttachmentPart, ext string) bool {
	ct := strings.ToLower(p.ContentType)
	switch {
	case a.dicom:
		return ct == "application/dicom" || ext == ".dcm" || ext == ".dicom" ||
			(len(p.Head) >= 132 && string(p.Head[128:132]) == "DICM")
	case a.ext != "":
		return ext == a.ext
	case a.prefix != "":
		return strings.HasPrefix(ct, a.prefix)
	}
	return ct == a.media
}

// attachmentDetector counts attachments of the listed types.
type attachmentDetector struct{ types []attachmentType }

func (d *attachmentDetector) scan(parts []AttachmentPart) Finding {
	f := Finding{Detector: Attachment, Location: InAttachment}
	for _, p := range parts {
		ext := strings.ToLower(path.Ext(p.Filename))
		for _, t := range d.types {
			if t.matches(p, ext) {
				f.Count++
				f.Confidence = High
				break
			}
		}
	}
	return f
}
