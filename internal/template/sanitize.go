package template

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
)

// emailPolicy is the allowlist for editor HTML: the elements, attributes
// and inline styles that email clients render, and nothing that runs code,
// submits data or embeds another page. Scripts, event handlers (on*),
// forms and their controls, iframes, objects, embeds, base and link
// elements are dropped, as are URLs other than http, https, mailto and tel
// (javascript:, data:, vbscript: …). A Policy is safe for concurrent use.
var emailPolicy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	// QUIRK: <style> in <head> is how email templates carry their CSS, and
	// bluemonday passes <style> only when "unsafe" elements are enabled.
	// Script stays out because the policy never allows it; the CSS itself
	// is checked by safeCSS.
	p.AllowUnsafe(true)
	p.AllowElements("html", "head", "body", "title", "style",
		"a", "abbr", "address", "article", "b", "big", "blockquote", "br", "caption", "center", "cite", "code",
		"col", "colgroup", "dd", "del", "div", "dl", "dt", "em", "font", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
		"header", "hr", "i", "img", "ins", "kbd", "li", "main", "mark", "ol", "p", "pre", "q", "s", "section",
		"small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
		"u", "ul", "meta")
	p.AllowAttrs("class", "id", "dir", "title", "role", "aria-label", "aria-hidden").Globally()
	p.AllowAttrs("lang").Matching(regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)).Globally()
	p.AllowAttrs("align").Matching(regexp.MustCompile(`(?i)^(left|right|center|justify)$`)).Globally()
	p.AllowAttrs("valign").Matching(regexp.MustCompile(`(?i)^(top|middle|bottom|baseline)$`)).Globally()
	p.AllowAttrs("width", "height").Matching(regexp.MustCompile(`^[0-9]{1,4}(%|px)?$`)).Globally()
	p.AllowAttrs("bgcolor", "color").Matching(regexp.MustCompile(`^#?[0-9A-Za-z]{1,20}$`)).Globally()
	p.AllowAttrs("border", "cellpadding", "cellspacing", "colspan", "rowspan", "size").
		Matching(regexp.MustCompile(`^[0-9]{1,3}$`)).Globally()
	p.AllowAttrs("face").Matching(regexp.MustCompile(`^[A-Za-z0-9 ,'-]{1,100}$`)).OnElements("font")
	p.AllowAttrs("href", "name").OnElements("a")
	p.AllowAttrs("target").Matching(regexp.MustCompile(`^_blank$`)).OnElements("a")
	p.AllowAttrs("src", "alt").OnElements("img")
	p.AllowAttrs("charset").Matching(regexp.MustCompile(`(?i)^utf-8$`)).OnElements("meta")
	p.AllowAttrs("name").Matching(regexp.MustCompile(`(?i)^(viewport|format-detection|x-apple-disable-message-reformatting|color-scheme|supported-color-schemes)$`)).OnElements("meta")
	// http-equiv="refresh" would redirect: only the content type is kept.
	p.AllowAttrs("http-equiv").Matching(regexp.MustCompile(`(?i)^content-type$`)).OnElements("meta")
	p.AllowAttrs("content").Matching(regexp.MustCompile(`^[A-Za-z0-9=,.;:/ -]{0,200}$`)).OnElements("meta")
	p.AllowURLSchemes("http", "https", "mailto", "tel")
	p.RequireParseableURLs(true)
	// A link whose whole URL is an action ("{{.Links.Unsubscribe}}")
	// reaches the policy as a marker word, which parses as a relative URL.
	// html/template filters the value at render time (javascript: becomes
	// "#ZgotmplZ"), so relative URLs are harmless here.
	p.AllowRelativeURLs(true)
	p.AllowStyles("color", "background", "background-color", "background-image", "background-position",
		"background-repeat", "background-size", "border", "border-top", "border-right", "border-bottom",
		"border-left", "border-color", "border-style", "border-width", "border-collapse", "border-spacing",
		"border-radius", "margin", "margin-top", "margin-right", "margin-bottom", "margin-left", "padding",
		"padding-top", "padding-right", "padding-bottom", "padding-left", "width", "min-width", "max-width",
		"height", "min-height", "max-height", "display", "vertical-align", "text-align", "text-decoration",
		"text-transform", "text-indent", "font", "font-family", "font-size", "font-style", "font-weight",
		"line-height", "letter-spacing", "white-space", "word-break", "overflow", "opacity", "table-layout",
		"list-style", "list-style-type").Globally()
	return p
})

// Sanitize returns editor HTML with everything outside the allowlist
// removed. Template actions are kept exactly: they are swapped for marker
// words before sanitizing and put back after, so the HTML parser never
// sees "{{ … }}". A value action inside something the sanitizer removes
// goes with it; a control action there ({{if}}, {{end}} …) is an error:
// silently losing an {{end}} would change what the template means.
func Sanitize(src string) (string, error) {
	hidden, m, err := hideActions(src)
	if err != nil {
		return "", err
	}
	clean := emailPolicy().Sanitize(hidden)
	clean = filterStyleElements(clean)
	if hasDoctype(src) {
		// bluemonday drops every doctype; the HTML5 one is what email
		// clients expect and carries nothing.
		clean = "<!doctype html>\n" + strings.TrimLeft(clean, " \t\r\n")
	}
	out, missing := m.restore(clean)
	if len(missing) > 0 {
		return "", &sanitizeError{action: m.actions[missing[0]], count: len(missing)}
	}
	return out, nil
}

type sanitizeError struct {
	action string
	count  int
}

func (e *sanitizeError) Error() string {
	return fmt.Sprintf("%d control action(s) sit where the HTML sanitizer removes them (inside a tag or attribute name, a style value, or a removed element such as <script>), first %q; move them into text or around whole elements", e.count, truncate(e.action, 60))
}

func hasDoctype(src string) bool {
	s := strings.TrimLeft(src, " \t\r\n\ufeff")
	return len(s) >= 9 && strings.EqualFold(s[:9], "<!doctype")
}

var styleElement = regexp.MustCompile(`(?s)<style>(.*?)</style>`)

// filterStyleElements removes each <style> element whose CSS fails
// safeCSS. Sanitized output spells the tags exactly "<style>" and
// "</style>".
func filterStyleElements(html string) string {
	return styleElement.ReplaceAllStringFunc(html, func(el string) string {
		if safeCSS(el[len("<style>") : len(el)-len("</style>")]) {
			return el
		}
		return ""
	})
}

var unsafeCSS = regexp.MustCompile(`(?i)\\|<|@import|expression|javascript:|vbscript:|behavior|-moz-binding|@charset|@namespace`)

// safeCSS refuses CSS that imports other sheets, runs script in old
// clients (expression(), behaviors, bindings, javascript: URLs) or hides
// such things behind escapes or markup.
func safeCSS(css string) bool {
	return !unsafeCSS.MatchString(css)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
