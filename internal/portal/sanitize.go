package portal

import (
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
)

// Sanitizer makes a message's HTML safe to show inside a portal page: an
// allowlist of structural and text elements (stricter than bluemonday's
// UGCPolicy: no class, id or style attributes, no forms, media or
// embedded content, no script in any form), links only to http, https
// and mailto without a referrer and in a new window, and no remote
// content: an image stays only as a data: URI of a raster type; any other
// image becomes its alt text. The page's CSP (img-src 'self' data:)
// blocks what might slip through anyway.
type Sanitizer struct{ p *bluemonday.Policy }

// dataImage is what an image source may be: inline raster data. SVG is
// refused (it can carry script and remote references).
var dataImage = regexp.MustCompile(`^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$`)

// NewSanitizer builds the policy.
func NewSanitizer() *Sanitizer {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "div", "span", "b", "i", "u", "s", "strong", "em", "small", "sub", "sup", "mark",
		"blockquote", "pre", "code", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "abbr", "address", "cite", "q", "del", "ins")
	p.AllowLists()
	p.AllowTables()
	p.AllowAttrs("colspan", "rowspan").Matching(bluemonday.Integer).OnElements("td", "th")
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowAttrs("alt", "title").OnElements("img", "abbr")
	p.AllowAttrs("width", "height").Matching(bluemonday.NumberOrPercent).OnElements("img")
	p.AllowAttrs("src").Matching(dataImage).OnElements("img")
	p.AllowDataURIImages()
	return &Sanitizer{p: p}
}

// Sanitize returns the safe HTML of a message body.
func (s *Sanitizer) Sanitize(body string) string {
	return blockImages(s.p.Sanitize(body))
}

// blockImages replaces each img that kept no (data:) source by its alt
// text, so a blocked remote image leaves a visible trace and no request.
func blockImages(in string) string {
	if !strings.Contains(in, "<img") {
		return in
	}
	z := html.NewTokenizer(strings.NewReader(in))
	var b strings.Builder
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return b.String()
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			if t.Data == "img" && !hasAttr(t, "src") {
				alt := attr(t, "alt")
				if alt == "" {
					alt = "image"
				}
				b.WriteString("[" + html.EscapeString(alt) + " — blocked]")
				continue
			}
			b.WriteString(t.String())
		default:
			b.Write(z.Raw())
		}
	}
}

func hasAttr(t html.Token, name string) bool {
	for _, a := range t.Attr {
		if a.Key == name {
			return true
		}
	}
	return false
}

func attr(t html.Token, name string) string {
	for _, a := range t.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}
