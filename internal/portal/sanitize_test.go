package portal

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestSanitizerRemovesActiveAndRemoteContent(t *testing.T) {
	t.Parallel()
	const pixel = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
	tests := []struct {
		name, in string
		want     []string // substrings that must remain
		gone     []string // substrings that must not
	}{
		{"script", `<p>hi</p><script>alert(1)</script>`, []string{"<p>hi</p>"}, []string{"script", "alert"}},
		{"on* handlers", `<p onclick="x()" onmouseover="y()">a</p><b onload=z()>b</b>`, []string{"<p>a</p>", "<b>b</b>"}, []string{"onclick", "onmouseover", "onload", "x()"}},
		{"javascript URL", `<a href="javascript:alert(1)">x</a>`, []string{"x"}, []string{"javascript", "href"}},
		{"external image", `<img src="https://tracker.example/p.gif?u=1" alt="logo">`, []string{"[logo — blocked]"}, []string{"tracker.example", "<img"}},
		{"protocol-relative image", `<img src="//tracker.example/p.gif">`, nil, []string{"tracker", "<img"}},
		{"cid image", `<img src="cid:logo@x" alt="Logo">`, []string{"[Logo — blocked]"}, []string{"cid:"}},
		{"srcset", `<img src="` + pixel + `" srcset="https://tracker.example/a.png 2x">`, []string{`<img src="data:image/png;base64,`}, []string{"srcset", "tracker"}},
		{"svg data image", `<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=" alt="chart">`, []string{"[chart — blocked]"}, []string{"svg", "<img"}},
		{"inline data image kept", `<img src="` + pixel + `" alt="dot">`, []string{pixel, `alt="dot"`}, nil},
		{"style and class", `<p style="background:url(https://tracker.example/x)" class="notice" id="x">t</p>`, []string{"<p>t</p>"}, []string{"style", "class", "tracker", "id="}},
		{"style element", `<style>@import url(https://tracker.example/c.css);</style><p>t</p>`, []string{"<p>t</p>"}, []string{"import", "tracker"}},
		{"iframe object embed", `<iframe src="https://x.example"></iframe><object data="x"></object><embed src="y">`, nil, []string{"iframe", "object", "embed", "x.example"}},
		{"forms", `<form action="https://evil.example"><input name="pw"><button>Go</button></form>`, nil, []string{"form", "input", "evil.example"}},
		{"meta refresh and base", `<meta http-equiv="refresh" content="0;url=https://evil.example"><base href="https://evil.example/">`, nil, []string{"meta", "base", "evil"}},
		{"link gets no referrer and a new window", `<a href="https://example.org/info">info</a>`, []string{`href="https://example.org/info"`, "noreferrer", "nofollow", `target="_blank"`}, nil},
		{"mailto kept", `<a href="mailto:desk@clinic.example">write</a>`, []string{`href="mailto:desk@clinic.example"`}, nil},
		{"tables and lists kept", `<table><tr><td colspan="2">a</td></tr></table><ul><li>x</li></ul>`, []string{"<table>", `colspan="2"`, "<li>x</li>"}, nil},
		{"comments", `<!-- <img src="https://tracker.example/x"> --><p>t</p>`, []string{"<p>t</p>"}, []string{"tracker", "<!--"}},
		{"entities stay escaped", `<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>`, []string{"&lt;script&gt;"}, []string{"<script"}},
	}
	s := NewSanitizer()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := s.Sanitize(tt.in)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Sanitize(%q) = %q, lacks %q", tt.in, got, w)
				}
			}
			for _, g := range tt.gone {
				if strings.Contains(got, g) {
					t.Errorf("Sanitize(%q) = %q, keeps %q", tt.in, got, g)
				}
			}
		})
	}
}

// FuzzSanitize: whatever the input, the output parsed as HTML has no
// element outside the allowlist, no event handler or style attribute, no
// link but http, https and mailto, and no image but a data: URI.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{`<img src="https://x/y">`, `<a href="javascript:x">`, `<p onclick=x>`, `<svg><script>x</script></svg>`,
		`<a href=" jAvAsCript:0">`, `<img src=data:image/png;base64,AA== onerror=x>`} {
		f.Add(s)
	}
	s := NewSanitizer()
	allowed := map[string]bool{"html": true, "head": true, "body": true, "a": true, "img": true, "table": true, "thead": true, "tbody": true,
		"tfoot": true, "tr": true, "td": true, "th": true, "caption": true, "col": true, "colgroup": true, "ul": true, "ol": true, "li": true,
		"dl": true, "dt": true, "dd": true}
	for _, e := range []string{"p", "br", "div", "span", "b", "i", "u", "s", "strong", "em", "small", "sub", "sup", "mark", "blockquote",
		"pre", "code", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "abbr", "address", "cite", "q", "del", "ins"} {
		allowed[e] = true
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := s.Sanitize(in)
		doc, err := html.Parse(strings.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		var walk func(n *html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode {
				if !allowed[n.Data] {
					t.Fatalf("Sanitize(%q) = %q keeps <%s>", in, out, n.Data)
				}
				for _, a := range n.Attr {
					v := strings.ToLower(strings.TrimSpace(a.Val))
					switch {
					case strings.HasPrefix(a.Key, "on"), a.Key == "style", a.Key == "srcset", a.Key == "class":
						t.Fatalf("Sanitize(%q) = %q keeps attribute %s", in, out, a.Key)
					case a.Key == "href" && !(strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "mailto:")):
						t.Fatalf("Sanitize(%q) = %q keeps link %q", in, out, a.Val)
					case a.Key == "src" && !strings.HasPrefix(v, "data:image/"):
						t.Fatalf("Sanitize(%q) = %q keeps remote source %q", in, out, a.Val)
					}
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(doc)
	})
}
