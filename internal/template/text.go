package template

import (
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/net/html"
)

// TextFromHTML derives the plain-text part of an email from its HTML:
// paragraphs and headings become blocks separated by a blank line, <br>
// and rows become line ends, list items get "- " or "1. ", table cells
// are separated by spaces, and a link becomes "text (url)" (just "url"
// when the text is the URL). The head, style and title are left out.
//
// It works on a template, not on a rendered message: actions are hidden
// as marker words while the HTML is read and put back after, so a text
// part is derived once per template version and then runs as a
// text/template like a hand-written one. A link whose URL carries actions
// carries the same actions in the text part.
func TextFromHTML(src string) (string, error) {
	hidden, m, err := hideActions(src)
	if err != nil {
		return "", err
	}
	text := htmlToText(hidden)
	// Text decoded from entities may spell a delimiter ("&#123;&#123;"):
	// it must stay text in the text template.
	text = strings.ReplaceAll(text, "{{", `{{"{{"}}`)
	out, missing := m.restore(text)
	if len(missing) > 0 {
		return "", &sanitizeError{action: m.actions[missing[0]], count: len(missing)}
	}
	return out, nil
}

// textWriter accumulates text with pending breaks, so that nested blocks
// produce one blank line, not several.
type textWriter struct {
	b     strings.Builder
	brk   int // pending line breaks: 1 line end, 2 blank line
	space bool
}

func (w *textWriter) breakLine(n int) {
	if w.b.Len() > 0 && n > w.brk {
		w.brk = n
	}
	w.space = false
}

func (w *textWriter) text(s string, pre bool) {
	if !pre {
		s = collapseSpace(s)
		if s == "" {
			return
		}
		if s == " " {
			w.space = w.b.Len() > 0 && w.brk == 0
			return
		}
		if s[0] == ' ' {
			w.space = w.b.Len() > 0 && w.brk == 0
			s = s[1:]
		}
	}
	w.flush()
	if strings.HasSuffix(s, " ") && !pre {
		s = strings.TrimRight(s, " ")
		w.b.WriteString(s)
		w.space = true
		return
	}
	w.b.WriteString(s)
}

func (w *textWriter) flush() {
	if w.brk > 0 {
		w.b.WriteString(strings.Repeat("\n", w.brk))
		w.brk = 0
		w.space = false
	}
	if w.space {
		w.b.WriteByte(' ')
		w.space = false
	}
}

var spaceRun = regexp.MustCompile(`[ \t\r\n\f]+`)

func collapseSpace(s string) string { return spaceRun.ReplaceAllString(s, " ") }

var blockBreaks = map[string]int{
	"p": 2, "h1": 2, "h2": 2, "h3": 2, "h4": 2, "h5": 2, "h6": 2, "ul": 2, "ol": 2, "table": 2,
	"blockquote": 2, "pre": 2, "hr": 2, "dl": 2,
	"div": 1, "tr": 1, "li": 1, "br": 1, "section": 1, "article": 1, "header": 1, "footer": 1,
	"main": 1, "center": 1, "dt": 1, "dd": 1, "caption": 1, "address": 1,
}

type link struct {
	href  string
	start int // length of the text when the link began
}

// htmlToText converts (sanitized) HTML to text.
func htmlToText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var w textWriter
	var lists []int // per open list: next number, or -1 for bullets
	var links []link
	skip, pre := 0, 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		name := tok.Data
		switch tt {
		case html.TextToken:
			if skip == 0 {
				w.text(tok.Data, pre > 0)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			switch name {
			case "head", "style", "script", "title":
				if tt == html.StartTagToken {
					skip++
				}
				continue
			case "pre":
				pre++
			case "ul":
				lists = append(lists, -1)
			case "ol":
				lists = append(lists, 1)
			case "td", "th":
				w.space = w.b.Len() > 0 && w.brk == 0
			case "a":
				links = append(links, link{href: attr(tok, "href"), start: w.b.Len()})
			}
			if n, ok := blockBreaks[name]; ok {
				w.breakLine(n)
			}
			switch name {
			case "li":
				w.flush()
				w.b.WriteString(bullet(lists))
			case "hr":
				w.flush()
				w.b.WriteString("----")
				w.breakLine(2)
			}
		case html.EndTagToken:
			switch name {
			case "head", "style", "script", "title":
				if skip > 0 {
					skip--
				}
				continue
			case "pre":
				if pre > 0 {
					pre--
				}
			case "ul", "ol":
				if len(lists) > 0 {
					lists = lists[:len(lists)-1]
				}
			case "a":
				if len(links) > 0 {
					l := links[len(links)-1]
					links = links[:len(links)-1]
					w.linkEnd(l)
				}
			}
			if n, ok := blockBreaks[name]; ok {
				w.breakLine(n)
			}
		}
	}
	return tidyText(w.b.String())
}

// linkEnd writes " (url)" after a link's text, unless the link is not to
// a web or mail address or its text already is the URL.
func (w *textWriter) linkEnd(l link) {
	href := strings.TrimSpace(l.href)
	lower := strings.ToLower(href)
	if href == "" || strings.HasPrefix(lower, "#") {
		return
	}
	text := strings.TrimSpace(w.b.String()[min(l.start, w.b.Len()):])
	shown := strings.TrimPrefix(href, "mailto:")
	if text == href || text == shown {
		return
	}
	if text == "" {
		w.text(shown, false)
		return
	}
	w.flush()
	w.b.WriteString(" (" + shown + ")")
}

func bullet(lists []int) string {
	if len(lists) == 0 || lists[len(lists)-1] < 0 {
		return strings.Repeat("  ", max(len(lists)-1, 0)) + "- "
	}
	n := lists[len(lists)-1]
	lists[len(lists)-1]++
	return strings.Repeat("  ", len(lists)-1) + strconv.Itoa(n) + ". "
}

func attr(t html.Token, key string) string {
	for _, a := range t.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

var blankLines = regexp.MustCompile(`\n{3,}`)

// tidyText trims trailing spaces from lines and leaves at most one blank
// line between blocks.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	s = strings.Join(lines, "\n")
	return strings.TrimSpace(blankLines.ReplaceAllString(s, "\n\n")) + "\n"
}
