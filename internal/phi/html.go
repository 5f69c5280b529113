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
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j])
		i += j
		next := i + 1
		if next >= len(s) || !(isAlpha(s[next]) || s[next] == '/' || s[next] == '!' || s[next] == '?') {
			b.WriteByte('<')
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "<!--") {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				end = len(s) - i - 4
			}
			b.WriteByte(' ')
			b.WriteString(s[i+4 : i+4+end])
			b.WriteByte(' ')
			i = min(len(s), i+4+end+3)
			continue
		}
		end := tagEnd(s, next)
		if end < 0 {
			b.WriteByte('<')
			i++
			continue
		}
		b.WriteByte(' ')
		if isAlpha(s[next]) && writeAttributes(&b, strings.TrimSuffix(s[next:end], "/")) {
			b.WriteByte(' ')
		}
		i = end + 1
	}
	return unescape(b.String())
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

// writeAttributes writes a start tag's attributes (tag is everything
// between '<' and '>') with the tag name dropped and quotes and '=' turned
// into spaces, so values read as words. It reports whether it wrote any.
func writeAttributes(b *strings.Builder, tag string) bool {
	k := 0
	for k < len(tag) && tag[k] != ' ' && tag[k] != '\t' && tag[k] != '\n' && tag[k] != '\r' && tag[k] != '/' {
		k++
	}
	wrote := k < len(tag)
	for ; k < len(tag); k++ {
		switch c := tag[k]; c {
		case '"', '\'', '=':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return wrote
}
