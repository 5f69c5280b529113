package template

import (
	"errors"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"

	xhtml "golang.org/x/net/html"
)

// WithTrackedLinks returns the template with its HTML links tracked at the
// source, and the name of the attribute that marks the links left to
// track in each rendered message. A link (<a> or <area>) whose tag the
// source shows whole — no template action in it — and whose href track
// accepts gets, in place of the href, an action that calls .Links.Click
// with the index track returns: rendering writes each contact's tracked
// address. A link tag that holds an action (an href built per contact, an
// attribute a condition writes) is the same for no two contacts; it gets
// the marker attribute, empty, after its name, for the caller to find in
// the rendered HTML and track there (package tracking's RewriteMarked)
// without tokenizing the rest. Tracking every rendered message whole
// instead (tracking.Rewrite) was about 30 µs of a campaign message's
// 530 µs of CPU. Links in the text part are not changed.
func (c *Compiled) WithTrackedLinks(track func(href string) (int, bool)) (*Compiled, string, error) {
	// A name that starts with a rare byte: the caller looks for it in
	// every rendered message.
	marker := "xcptrack"
	for strings.Contains(c.src.HTML, marker) {
		marker += "q"
	}
	if c.src.HTML == "" {
		return c, marker, nil
	}
	src := c.src
	var err error
	if src.HTML, err = trackLinks(src.HTML, marker, track); err != nil {
		return nil, "", err
	}
	tracked, err := Compile(src)
	if err != nil {
		return nil, "", fmt.Errorf("tracked links: %w", err)
	}
	return tracked, marker, nil
}

// clickAction is the href trackLinks writes: $ is the render's Data in
// every block of a template (define and block are refused at save).
func clickAction(link int) string {
	return "{{call $.Links.Click " + strconv.Itoa(link) + "}}"
}

// trackLinks rewrites src's link tags as WithTrackedLinks describes. The
// actions are hidden behind markers first (as the sanitizer does), so an
// action's text is never read as HTML and a link tag that holds one is
// recognized by the marker in it.
func trackLinks(src, marker string, track func(href string) (int, bool)) (string, error) {
	hidden, m, err := hideActions(src)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	out.Grow(len(hidden) + 256)
	z := xhtml.NewTokenizer(strings.NewReader(hidden))
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			if err := z.Err(); !errors.Is(err, io.EOF) {
				return "", fmt.Errorf("read html: %w", err)
			}
			break
		}
		raw := string(z.Raw())
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			out.WriteString(raw)
			continue
		}
		name, hasAttr := z.TagName()
		switch {
		case string(name) != "a" && string(name) != "area":
			out.WriteString(raw)
		case strings.Contains(raw, m.prefix):
			n := 1 + len(name) // "<a", "<area"
			out.WriteString(raw[:n] + " " + marker + `=""` + raw[n:])
		case !hasAttr || !writeTracked(&out, string(name), z, tt, track):
			out.WriteString(raw)
		}
	}
	restored, lost := m.restore(out.String())
	if len(lost) > 0 {
		return "", errors.New("tracked links: a template action was lost")
	}
	return restored, nil
}

// writeTracked writes a link tag with its href as the click action, or
// returns false (writing nothing) when track does not take the href.
func writeTracked(out *strings.Builder, name string, z *xhtml.Tokenizer, tt xhtml.TokenType, track func(string) (int, bool)) bool {
	type attr struct{ key, val string }
	var attrs []attr
	href := -1
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		attrs = append(attrs, attr{string(k), string(v)})
		if string(k) == "href" && href < 0 {
			href = len(attrs) - 1
		}
	}
	if href < 0 {
		return false
	}
	link, ok := track(attrs[href].val)
	if !ok {
		return false
	}
	out.WriteString("<" + name)
	for i, a := range attrs {
		val := html.EscapeString(a.val)
		if i == href {
			val = clickAction(link)
		}
		out.WriteString(" " + a.key + `="` + val + `"`)
	}
	if tt == xhtml.SelfClosingTagToken {
		out.WriteString("/>")
	} else {
		out.WriteByte('>')
	}
	return true
}
