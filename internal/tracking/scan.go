package tracking

import (
	"strings"

	xhtml "golang.org/x/net/html"
)

// The tag walk: Rewrite's fast path.
//
// Rewrite changes nothing in a document but the start tags of its links:
// everything else is copied byte for byte. So what it needs from a
// tokenizer is only where each tag begins and ends, and which of them are
// <a> and <area>; x/net/html's tokenizer answers that by reading every byte
// of the document through its buffer, which was most of the cost of
// tracking a campaign message. walkTags finds the same boundaries with
// searches for '<' and '>' (strings.IndexByte), following the tokenizer's
// own rules step by step (golang.org/x/net/html token.go, after WHATWG
// HTML section 13.2.5): a start or end tag ends at the first '>' outside a
// quoted attribute value; "<!", "<?" and "</" followed by a non-letter end
// at the next '>'; the text of <style>, <title>, <textarea>, <xmp>,
// <iframe>, <noembed>, <noframes> and <noscript> runs to the matching end
// tag, and <plaintext> to the end. A tag cut off by the end of the document
// ends it, as the tokenizer's error does. Each link tag found is handed,
// alone, to the tokenizer (rewriteTag), so its attributes are read exactly
// as before.
//
// Comments ("<!--", whose end has several special cases) and <script>
// (whose text has the script escape states) are left to the tokenizer:
// walkTags reports false and Rewrite takes the general path. FuzzWalkTags
// holds the two paths to the same output for any input.

// walkTags calls link(start, end) for every <a> or <area> start tag of doc
// (doc[start:end] is the whole tag) and returns the length of doc the
// tokenizer would read before an error (len(doc) unless a tag is cut off).
// ok is false when doc has a comment or a script element.
func walkTags(doc string, link func(start, end int)) (limit int, ok bool) {
	n := len(doc)
	for i := 0; i < n; {
		j := strings.IndexByte(doc[i:], '<')
		if j < 0 || i+j+1 >= n {
			return n, true
		}
		p := i + j
		switch c := doc[p+1]; {
		case isLetter(c):
			end, nameEnd := tagEnd(doc, p+2)
			if end < 0 {
				return p, true
			}
			name := doc[p+1 : nameEnd]
			if asciiFold(name, "a") || asciiFold(name, "area") {
				link(p, end)
			}
			i = end
			switch raw := rawText(name); raw {
			case "":
			case "script":
				return 0, false
			case "plaintext":
				return n, true
			default:
				i = rawTextEnd(doc, end, raw)
			}
		case c == '/':
			switch {
			case p+2 >= n:
				return n, true // "</" at the end is text
			case doc[p+2] == '>':
				i = p + 3 // "</>"
			case isLetter(doc[p+2]):
				end, _ := tagEnd(doc, p+3)
				if end < 0 {
					return p, true
				}
				i = end
			default:
				i = closeAngle(doc, p+2) // a bogus comment
			}
		case c == '!':
			if strings.HasPrefix(doc[p+2:], "--") {
				return 0, false
			}
			i = closeAngle(doc, p+2) // a doctype or a bogus comment
		case c == '?':
			i = closeAngle(doc, p+2)
		default:
			i = p + 1 // a '<' in text
		}
	}
	return n, true
}

// tagEnd reads a tag from just after the first letter of its name (i) as
// the tokenizer's readTag does, and returns the index after its '>' and
// the end of its name; end is -1 when the document ends first.
func tagEnd(doc string, i int) (end, nameEnd int) {
	n := len(doc)
	// readTagName: the name runs to white space (consumed), '/' or '>'.
	for ; ; i++ {
		if i >= n {
			return -1, 0
		}
		if c := doc[i]; isSpace(c) {
			nameEnd, i = i, i+1
			break
		} else if c == '/' || c == '>' {
			nameEnd = i
			break
		}
	}
	if i = skipSpace(doc, i); i >= n {
		return -1, 0
	}
	for {
		if doc[i] == '>' {
			return i + 1, nameEnd
		}
		// readTagAttrKey: an '=' that starts the key is part of it.
		for k := i; ; i++ {
			if i >= n {
				return -1, 0
			}
			c := doc[i]
			if (c == '=' && i > k) || isSpace(c) || c == '/' || c == '>' {
				break
			}
		}
		// readTagAttrVal.
		if i = skipSpace(doc, i); i >= n {
			return -1, 0
		}
		switch doc[i] {
		case '/':
			i++
		case '=':
			if i = skipSpace(doc, i+1); i >= n {
				return -1, 0
			}
			switch q := doc[i]; q {
			case '>':
			case '"', '\'':
				k := strings.IndexByte(doc[i+1:], q)
				if k < 0 {
					return -1, 0
				}
				i += k + 2
			default:
				for i++; ; i++ {
					if i >= n {
						return -1, 0
					}
					if c := doc[i]; isSpace(c) {
						i++
						break
					} else if c == '>' {
						break
					}
				}
			}
		}
		if i = skipSpace(doc, i); i >= n {
			return -1, 0
		}
	}
}

// rawText is the lower-case name of a start tag whose content the
// tokenizer reads as text, or "".
func rawText(name string) string {
	for _, t := range [...]string{"iframe", "noembed", "noframes", "noscript", "plaintext", "script", "style", "textarea",
		"title", "xmp"} {
		if asciiFold(name, t) {
			return t
		}
	}
	return ""
}

// rawTextEnd is where the text of a raw element that starts at i ends:
// at "</" and its name (letters of either case) followed by white space,
// '/' or '>', else at the end of the document (readRawOrRCDATA).
func rawTextEnd(doc string, i int, tag string) int {
	n := len(doc)
	for {
		j := strings.IndexByte(doc[i:], '<')
		if j < 0 {
			return n
		}
		p := i + j
		if p+2+len(tag) >= n {
			return n
		}
		i = p + 1
		if doc[p+1] != '/' {
			continue
		}
		k := 0
		for ; k < len(tag); k++ {
			if c := doc[p+2+k]; c != tag[k] && c != tag[k]-('a'-'A') {
				break
			}
		}
		if k < len(tag) {
			i = p + 2 + k
			continue
		}
		if c := doc[p+2+len(tag)]; isSpace(c) || c == '/' || c == '>' {
			return p
		}
		i = p + 2 + len(tag)
	}
}

// closeAngle is the index after the first '>' at or after i, or the end.
func closeAngle(doc string, i int) int {
	if k := strings.IndexByte(doc[i:], '>'); k >= 0 {
		return i + k + 1
	}
	return len(doc)
}

func skipSpace(doc string, i int) int {
	for i < len(doc) && isSpace(doc[i]) {
		i++
	}
	return i
}

// isSpace is the tokenizer's white space (it has no '\v').
func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' }

// asciiFold reports whether name is lower (ASCII lower case) in either
// case: the tokenizer folds only A-Z, so "ſtyle" is not "style" here as it
// is to strings.EqualFold.
func asciiFold(name, lower string) bool {
	if len(name) != len(lower) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// rewriteLink rewrites one link start tag (the whole tag, alone) as the
// general path does: the tokenizer reads its name and attributes, once per
// distinct tag in a link table (LinkTable.tag).
func rewriteLink(out *strings.Builder, tag string, r Recipient, links *LinkTable) {
	if t := links.tag(tag); t == nil || !t.write(out, r, links) {
		out.WriteString(tag)
	}
}

// parseLinkTag reads tag, a whole start tag, with the tokenizer; nil when
// it is not a start tag with attributes.
func parseLinkTag(tag string) *linkTag {
	z := xhtml.NewTokenizer(strings.NewReader(tag))
	tt := z.Next()
	name, hasAttr := z.TagName()
	if (tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken) || !hasAttr {
		return nil
	}
	return readLinkTag(z, name, tt)
}
