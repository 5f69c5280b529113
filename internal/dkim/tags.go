package dkim

import (
	"errors"
	"strings"
)

// ParseTags parses an RFC 6376 section 3.2 tag-value list ("v=DKIM1; k=rsa;
// p=…") as used by DKIM key records and DMARC records. Tag names are
// case-sensitive; whitespace around names and values is ignored; a trailing
// ";" is allowed; a duplicate tag is an error (section 3.2: "Tags with
// duplicate names MUST NOT occur"). Errors never quote the input.
func ParseTags(s string) (map[string]string, error) {
	tags := make(map[string]string)
	for _, spec := range strings.Split(s, ";") {
		if strings.TrimSpace(spec) == "" {
			continue
		}
		name, value, ok := strings.Cut(spec, "=")
		name = strings.Trim(name, " \t\r\n")
		if !ok || !validTagName(name) {
			return nil, errors.New("malformed tag")
		}
		if _, dup := tags[name]; dup {
			return nil, errors.New("duplicate tag")
		}
		value = strings.Trim(value, " \t\r\n")
		for i := 0; i < len(value); i++ {
			// tval: VCHAR except ";", with FWS inside.
			if c := value[i]; (c < '!' || c > '~') && c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				return nil, errors.New("tag value has a character outside VCHAR")
			}
		}
		tags[name] = value
	}
	return tags, nil
}

// validTagName checks tag-name = ALPHA *ALNUMPUNC (ALNUMPUNC is ALPHA,
// DIGIT or "_").
func validTagName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !('0' <= c && c <= '9') && c != '_' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// stripFWS removes the whitespace base64 values may be folded with.
func stripFWS(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}
