package phi

import (
	"html"
	"strings"
)

// maxTag bounds how far HTMLText looks for the '>' that closes a tag; a '<'
// whose tag does not close within it is read as text.
const maxTag = 4096

// HTMLText returns the text of HTML for scanning: markup removed, attribute
// values and comments kept (a link's query string, an image's alt text or a
// comment can carry PHI as well as the visible text), character references
// decoded. Every tag becomes a space, so cells and paragraphs stay apart.
//
// QUIRK: it is tolerant rather than an HTML5 tokenizer. A '<' that does not
// start a tag (not followed by a letter, '/', '!' or '?'), or whose tag does
// not close within 4 KiB, is kept as text, so running it over plain text
// ("a < b") loses nothing a detector needs. Detectors need the words, not
// the document tree, and a tokenizer would cost several times as much.
func HTMLText(s string) string {
	if strings.IndexByte(s, '<') < 0 {
		return unescape(s)
	}
	return unescape(string(appendHTMLText(make([]byte, 0, len(s)), s)))
}

// appendHTMLText appends the text of HTML s, before character references
// are decoded, to dst (HTMLText, without its copies).
func appendHTMLText(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			b = append(b, s[i:]...)
			break
		}
		b = append(b, s[i:i+j]...)
		i += j
		next := i + 1
		if next >= len(s) || !(isAlpha(s[next]) || s[next] == '/' || s[next] == '!' || s[next] == '?') {
			b = append(b, '<')
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "<!--") {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				end = len(s) - i - 4
			}
			b = append(b, ' ')
			b = append(b, s[i+4:i+4+end]...)
			b = append(b, ' ')
			i = min(len(s), i+4+end+3)
			continue
		}
		end := tagEnd(s, next)
		if end < 0 {
			b = append(b, '<')
			i++
			continue
		}
		b = append(b, ' ')
		if isAlpha(s[next]) {
			var wrote bool
			if b, wrote = appendAttributes(b, strings.TrimSuffix(s[next:end], "/")); wrote {
				b = append(b, ' ')
			}
		}
		i = end + 1
	}
	return b
}

func unescape(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	return html.UnescapeString(s)
}

// tagEnd finds the '>' closing the tag whose body starts at from, outside
// quoted attribute values, within maxTag bytes; -1 when there is none.
func tagEnd(s string, from int) int {
	var quote byte
	limit := min(len(s), from+maxTag)
	for k := from; k < limit; k++ {
		c := s[k]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return k
		}
	}
	return -1
}

// appendAttributes appends a start tag's attributes (tag is everything
// between '<' and '>') with the tag name dropped and quotes and '=' turned
// into spaces, so values read as words. It reports whether it wrote any.
func appendAttributes(b []byte, tag string) ([]byte, bool) {
	k := 0
	for k < len(tag) && tag[k] != ' ' && tag[k] != '\t' && tag[k] != '\n' && tag[k] != '\r' && tag[k] != '/' {
		k++
	}
	wrote := k < len(tag)
	for ; k < len(tag); k++ {
		switch c := tag[k]; c {
		case '"', '\'', '=':
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return b, wrote
}
