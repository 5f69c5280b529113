package tracking_test

import (
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"

	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/template"
	"github.com/carepost/carepost/internal/tracking"
)

// linkTemplate has a literal link, a link built per contact, the
// unsubscribe link, a mailto, an image map area, a link only a condition
// writes, one inside a range (where . is not the data) and a string
// constant that looks like a link but prints as text.
const linkTemplate = `<html><body>
<p>Hello {{.Contact.FirstName}}</p>
<a class="cta" href="https://clinic.example/book?ref=a&amp;b=1" title='Book'>Book</a>
<a href="https://clinic.example/resources/{{.Contact.Fields.plan}}">Plan</a>
<a href="{{.Links.Unsubscribe}}">Unsubscribe</a>
<a href="mailto:front@clinic.example">Mail us</a>
<map name="m"><area shape="rect" coords="0,0,1,1" href="https://clinic.example/map"/></map>
{{if .Contact.Fields.vip}}<a href="https://clinic.example/vip">VIP</a>{{end}}
{{range .Contact.Fields.topics}}<a href="https://clinic.example/topics">{{.}}</a>{{end}}
{{"<a href=\"https://clinic.example/not-a-link\">"}}
</body></html>`

// hrefs lists the href of every link tag of doc, in order.
func hrefs(t *testing.T, doc string) []string {
	t.Helper()
	var out []string
	z := xhtml.NewTokenizer(strings.NewReader(doc))
	for tt := z.Next(); tt != xhtml.ErrorToken; tt = z.Next() {
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			continue
		}
		if tok := z.Token(); tok.Data == "a" || tok.Data == "area" {
			for _, a := range tok.Attr {
				if a.Key == "href" {
					out = append(out, a.Val)
				}
				if strings.HasPrefix(a.Key, "xcptrack") {
					t.Errorf("the marker %s is left in the message", a.Key)
				}
			}
		}
	}
	return out
}

// TestLinksTrackedAtTheSourceMatchRewrite: a template whose links are
// tracked at the source (template.WithTrackedLinks, then RewriteMarked on
// each rendered message) sends every contact exactly the links — click
// addresses, link indexes, untracked ones — that tracking the whole
// rendered message (Rewrite) gives, for contacts that take each branch;
// and with tracking not enabled (the portal) RewriteMarked changes nothing.
func TestLinksTrackedAtTheSourceMatchRewrite(t *testing.T) {
	e := setup(t, store.SQLite)
	compiled, err := template.Compile(template.Source{Subject: "Hi", HTML: linkTemplate})
	if err != nil {
		t.Fatal(err)
	}
	r := e.recipient(t, e.orgA)
	perMessage, atSource := tracking.NewLinkTable(r.CampaignID), tracking.NewLinkTable(r.CampaignID)
	tracked, marker, err := compiled.WithTrackedLinks(func(href string) (int, bool) {
		if !r.Issuer.Trackable(href) {
			return 0, false
		}
		return atSource.Add(strings.TrimSpace(href)), true
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []template.Contact{
		{ID: "con_1", FirstName: "Ada", Fields: map[string]any{"plan": "gold", "vip": true, "topics": []string{"diet", "sleep"}}},
		{ID: "con_2", FirstName: "Ben", Fields: map[string]any{"plan": "silver plan"}},
	} {
		r.ContactID = c.ID
		data := template.NewData(c, e.now, template.Links{Unsubscribe: r.UnsubscribeURL(), Click: r.ClickURL})
		plain, err := compiled.Render(&data)
		if err != nil {
			t.Fatal(err)
		}
		want, err := tracking.Rewrite(plain.HTML, r, perMessage)
		if err != nil {
			t.Fatal(err)
		}
		out, err := tracked.Render(&data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tracking.RewriteMarked(out.HTML, marker, r, atSource)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := strings.Join(resolve(r, atSource, hrefs(t, got)), "\n"), strings.Join(resolve(r, perMessage, hrefs(t, want)), "\n"); g != w {
			t.Fatalf("%s: links tracked at the source:\n%s\nwant, as Rewrite tracks them:\n%s", c.ID, g, w)
		}
		if !strings.Contains(got, "/t/o/") || !strings.Contains(got, `&lt;a href=&#34;https://clinic.example/not-a-link&#34;&gt;`) {
			t.Fatalf("%s: no pixel, or the constant was not printed as text:\n%s", c.ID, got)
		}
		for _, gone := range []string{"https://clinic.example/book", "https://clinic.example/resources", "https://clinic.example/map"} {
			if strings.Contains(got, `"`+gone) {
				t.Fatalf("%s: %s left untracked", c.ID, gone)
			}
		}
		if !strings.Contains(got, "mailto:front@clinic.example") || !strings.Contains(got, r.UnsubscribeURL()) {
			t.Fatalf("%s: an untracked link changed", c.ID)
		}
		portal := r
		portal.Method = policy.Portal
		if same, err := tracking.RewriteMarked(out.HTML, marker, portal, atSource); err != nil || same != out.HTML {
			t.Fatalf("%s: RewriteMarked changed a portal message (%v)", c.ID, err)
		}
	}
	if perMessage.Len() != atSource.Len() || atSource.Len() != 6 {
		t.Fatalf("%d links at the source, %d per message; want the 6 tracked URLs", atSource.Len(), perMessage.Len())
	}
}

// resolve replaces each click address in links by "click → " and the URL
// it redirects to in table (the indexes differ: at the source the
// literal links are numbered first). Tokens are deterministic here: the
// test's clock stands still.
func resolve(r tracking.Recipient, table *tracking.LinkTable, links []string) []string {
	to := map[string]string{}
	for i := range table.Len() {
		u, _ := table.URL(i)
		to[r.ClickURL(i)] = "click → " + u
	}
	out := make([]string, len(links))
	for i, l := range links {
		if u, ok := to[l]; ok {
			l = u
		}
		out[i] = l
	}
	return out
}
