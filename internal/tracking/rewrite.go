package tracking

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"strings"
	"time"

	xhtml "golang.org/x/net/html"

	"github.com/carepost/carepost/internal/policy"
)

// Enabled reports whether a message delivered by method may carry tracking:
// only mail that travels as ordinary (TLS-protected) email. A message held
// in the portal is read inside carepost, and an end-to-end encrypted one
// must not call home from the recipient's client: neither gets a pixel or
// rewritten links.
func Enabled(method policy.Level) bool {
	return method == policy.VerifiedTLS || method == policy.Opportunistic
}

// Issuer mints one organization's tokens; Service.Issuer returns one with
// the organization's key loaded.
type Issuer struct {
	orgID string
	key   *tokenKey
	base  string
	clock func() time.Time
}

// Recipient names one message's recipient for tracking: the campaign (or
// message) and the contact, the list an unsubscribe leaves, and the
// delivery method the policy chose (tracking only when Enabled).
type Recipient struct {
	Issuer     *Issuer
	CampaignID string
	ContactID  string
	ListID     string
	Method     policy.Level
}

func (r Recipient) check() error {
	if r.Issuer == nil {
		return errors.New("tracking: recipient without an issuer")
	}
	if r.CampaignID == "" || r.ContactID == "" || !validID(r.CampaignID) || !validID(r.ContactID) || !validID(r.ListID) {
		return errors.New("tracking: campaign, contact and list ids must be 1 to 127 of [A-Za-z0-9._:-]")
	}
	return nil
}

func (r Recipient) token(kind Kind, link int) string {
	t := Token{Kind: kind, OrgID: r.Issuer.orgID, CampaignID: r.CampaignID, ContactID: r.ContactID, IssuedAt: r.Issuer.clock()}
	switch kind {
	case KindClick:
		t.Link = link
	case KindUnsubscribe:
		t.ListID = r.ListID
	}
	return sign(r.Issuer.key, t)
}

// OpenURL is the open pixel's address.
func (r Recipient) OpenURL() string { return r.Issuer.base + "/t/o/" + r.token(KindOpen, 0) + ".gif" }

// ClickURL is the tracked address of link index i.
func (r Recipient) ClickURL(i int) string { return r.Issuer.base + "/t/c/" + r.token(KindClick, i) }

// UnsubscribeURL is the one-click unsubscribe address (RFC 8058): POST
// unsubscribes, GET shows a page with a button.
func (r Recipient) UnsubscribeURL() string {
	return r.Issuer.base + "/u/" + r.token(KindUnsubscribe, 0)
}

// PreferencesURL is the preference page.
func (r Recipient) PreferencesURL() string { return r.UnsubscribeURL() + "/preferences" }

// Headers are the list headers for a campaign message: List-Unsubscribe
// with the HTTPS URL (RFC 2369 section 3.2) and List-Unsubscribe-Post
// (RFC 8058 section 3.1), which makes a POST to it a one-click
// unsubscribe. DKIM signs (and oversigns) both (package dkim), as RFC
// 8058 section 4 requires. They go on every campaign message, tracked or
// not: unsubscribing is not tracking. There is no mailto: address,
// because carepost receives no unsubscribe mail.
func (r Recipient) Headers() (map[string]string, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	return map[string]string{
		"List-Unsubscribe":      "<" + r.UnsubscribeURL() + ">",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}, nil
}

// Rewrite sends every http(s) link of a rendered HTML part through the
// click redirect (adding it to links) and appends the open pixel before
// </body>. Links to carepost itself (unsubscribe, preferences) are left
// alone. When tracking is not Enabled for r.Method it returns html
// unchanged.
func Rewrite(doc string, r Recipient, links *LinkTable) (string, error) {
	if !Enabled(r.Method) {
		return doc, nil
	}
	if err := r.check(); err != nil {
		return "", err
	}
	var out strings.Builder
	out.Grow(len(doc) + 512)
	type span struct{ start, end int }
	var tags []span
	limit, ok := walkTags(doc, func(start, end int) { tags = append(tags, span{start, end}) })
	if !ok {
		if err := rewriteTokens(&out, doc, r, links); err != nil {
			return "", err
		}
		return withPixel(out.String(), r.OpenURL()), nil
	}
	// The pixel goes before the last "</body>", which is where withPixel
	// would find it in the output: a rewritten tag neither holds one (its
	// values are escaped) nor makes one with its neighbours. Only when the
	// last one is inside a link's own tag is the output searched instead.
	at := strings.LastIndex(doc[:limit], "</body>")
	inLink := false
	for _, t := range tags {
		inLink = inLink || (t.start <= at && at < t.end)
	}
	if inLink {
		at = -1 // emit places nothing; withPixel does, below
	}
	img := pixelTag(r.OpenURL())
	emit := func(from, to int) {
		if from <= at && at < to {
			out.WriteString(doc[from:at])
			out.WriteString(img)
			from = at
		}
		out.WriteString(doc[from:to])
	}
	last := 0
	for _, t := range tags {
		emit(last, t.start)
		rewriteLink(&out, doc[t.start:t.end], r, links)
		last = t.end
	}
	emit(last, limit)
	switch {
	case inLink:
		return withPixel(out.String(), r.OpenURL()), nil
	case at < 0:
		out.WriteString(img) // no </body>: the pixel ends the document
	}
	return out.String(), nil
}

// rewriteTokens is Rewrite's general path: the whole document through
// x/net/html's tokenizer, every token's bytes copied but those of the
// link start tags rewriteTag rewrites.
func rewriteTokens(out *strings.Builder, doc string, r Recipient, links *LinkTable) error {
	z := xhtml.NewTokenizer(strings.NewReader(doc))
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			if err := z.Err(); !errors.Is(err, io.EOF) {
				return fmt.Errorf("tracking: read html: %w", err)
			}
			return nil
		}
		raw := z.Raw()
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			out.Write(raw)
			continue
		}
		name, hasAttr := z.TagName()
		if !hasAttr || !(bytes.Equal(name, []byte("a")) || bytes.Equal(name, []byte("area"))) {
			out.Write(raw)
			continue
		}
		raw = bytes.Clone(raw) // TagAttr reuses the tokenizer's buffer
		if !rewriteTag(out, z, name, tt, r, links) {
			out.Write(raw)
		}
	}
}

// linkTag is a link's start tag as the tokenizer reads it: its name, its
// attributes in order, which one is the (first) href. It is read-only once
// made: a LinkTable keeps the tags it has read for the messages after.
type linkTag struct {
	name        string
	attrs       []tagAttr
	href        int // index of the href in attrs, -1 for none
	selfClosing bool
}

type tagAttr struct{ key, val string }

// readLinkTag reads the attributes of the start tag z has just read.
func readLinkTag(z *xhtml.Tokenizer, name []byte, tt xhtml.TokenType) *linkTag {
	t := &linkTag{name: string(name), href: -1, selfClosing: tt == xhtml.SelfClosingTagToken}
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		t.attrs = append(t.attrs, tagAttr{string(k), string(v)})
		if string(k) == "href" && t.href < 0 {
			t.href = len(t.attrs) - 1
		}
	}
	return t
}

// write writes the tag with its href tracked, or returns false (writing
// nothing) when the link is not to be tracked.
func (t *linkTag) write(out *strings.Builder, r Recipient, links *LinkTable) bool {
	if t.href < 0 || !trackable(t.attrs[t.href].val, r.Issuer.base) {
		return false
	}
	out.WriteByte('<')
	out.WriteString(t.name)
	for i, a := range t.attrs {
		val := a.val
		if i == t.href {
			val = r.ClickURL(links.Add(strings.TrimSpace(a.val)))
		}
		out.WriteByte(' ')
		out.WriteString(a.key)
		out.WriteString(`="`)
		out.WriteString(html.EscapeString(val))
		out.WriteByte('"')
	}
	if t.selfClosing {
		out.WriteString("/>")
	} else {
		out.WriteByte('>')
	}
	return true
}

// rewriteTag writes a link's start tag with its href tracked, or returns
// false (writing nothing) when the link is not to be tracked.
func rewriteTag(out *strings.Builder, z *xhtml.Tokenizer, name []byte, tt xhtml.TokenType, r Recipient, links *LinkTable) bool {
	return readLinkTag(z, name, tt).write(out, r, links)
}

// trackable: web links, not ours, not absurdly long.
func trackable(u, base string) bool {
	u = strings.TrimSpace(u)
	l := strings.ToLower(u)
	return (strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")) && len(u) <= MaxURL &&
		!strings.HasPrefix(u, base+"/")
}

// pixelTag is the open pixel's img tag for src.
func pixelTag(src string) string {
	return `<img src="` + html.EscapeString(src) + `" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px">`
}

// withPixel inserts the open pixel before doc's last "</body>", or at the
// end when it has none.
func withPixel(doc, src string) string {
	img := pixelTag(src)
	if i := strings.LastIndex(doc, "</body>"); i >= 0 {
		return doc[:i] + img + doc[i:]
	}
	return doc + img
}

// RewriteText sends the web links of a text part through the click
// redirect too (same table, so the HTML and text parts of a link share an
// index and its counts). Trailing punctuation stays outside the link.
func RewriteText(text string, r Recipient, links *LinkTable) (string, error) {
	if !Enabled(r.Method) {
		return text, nil
	}
	if err := r.check(); err != nil {
		return "", err
	}
	var out strings.Builder
	last := 0
	eachTextURL(text, func(start, end int) {
		u, trail := text[start:end], ""
		for len(u) > 0 && strings.IndexByte(".,;:!?'", u[len(u)-1]) >= 0 {
			trail = u[len(u)-1:] + trail
			u = u[:len(u)-1]
		}
		if !trackable(u, r.Issuer.base) {
			return
		}
		if last == 0 {
			out.Grow(len(text) + 512)
		}
		out.WriteString(text[last:start])
		out.WriteString(r.ClickURL(links.Add(u)))
		out.WriteString(trail)
		last = end
	})
	if last == 0 {
		return text, nil
	}
	out.WriteString(text[last:])
	return out.String(), nil
}

// eachTextURL calls fn for every match of `https?://[^\s<>"()]+` in text,
// leftmost first, as regexp's ReplaceAllStringFunc would find them (held
// to the expression by FuzzTextURLs), with searches for "http" instead of
// the expression engine: a text part is mostly not links.
func eachTextURL(text string, fn func(start, end int)) {
	for i := 0; i < len(text); {
		k := strings.Index(text[i:], "http")
		if k < 0 {
			return
		}
		p := i + k
		rest := text[p+4:]
		scheme := 0
		switch {
		case strings.HasPrefix(rest, "s://"):
			scheme = 8
		case strings.HasPrefix(rest, "://"):
			scheme = 7
		}
		end := p + scheme
		for scheme > 0 && end < len(text) && !urlStop[text[end]] {
			end++
		}
		if scheme == 0 || end == p+scheme {
			i = p + 1
			continue
		}
		fn(p, end)
		i = end
	}
}

// urlStop is the bytes that end a link in text: RE2's \s and <>"().
var urlStop = func() (t [256]bool) {
	for _, c := range "\t\n\f\r <>\"()" {
		t[c] = true
	}
	return t
}()
