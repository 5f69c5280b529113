package tracking

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/workload"
)

// fuzzRecipient is a recipient whose tokens depend only on the link index.
var fuzzRecipient = Recipient{
	Issuer:     &Issuer{orgID: "org_1", key: testKey, base: "https://carepost.test", clock: func() time.Time { return epoch }},
	CampaignID: "cmp_1", ContactID: "con_1", Method: policy.VerifiedTLS,
}

// FuzzWalkTags holds Rewrite's tag walk to the tokenizer: for any
// document the walk accepts, the same output and the same links in the
// same order as rewriteTokens.
func FuzzWalkTags(f *testing.F) {
	for _, s := range []string{
		string(workload.Campaign()),
		`<p>Hi <A HREF="https://clinic.example/a?x=1&amp;y=2">book</A> <area href=https://clinic.example/b></p>`,
		`<a href='https://x.example/' title="a>b">x</a><a/href="https://y.example/">`,
		`<title><a href="https://no.example/"></title><a href="https://yes.example/">`,
		`<style>a{}</STYLE ><textarea></textareax><a href="https://in.example/"></textarea>`,
		`<!doctype html><!x><? pi ><a href="https://z.example/"`, `</><//x></a b=">"><a =href="https://q.example/">`,
		`<a href=https://u.example/ x=>t</a><a href = "https://s.example/" href="https://t.example/">`,
		`<plaintext><a href="https://p.example/">`, `<!-- c --><a href="https://c.example/">`,
		`<script>"<a href=https://s.example/>"</script>`, "<a\fhref\t=\n'https://ws.example/'\r>", "<", "</", "<!", "<a",
		`<ſtyle><a href="https://long-s.example/">`, `<body><a href="https://b.example/" title="</body>">x</a></body>`,
		`<a title="</body>" href="https://b.example/">`, `</body><p></body>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var spans [][2]int
		limit, ok := walkTags(doc, func(start, end int) { spans = append(spans, [2]int{start, end}) })
		if !ok {
			return
		}
		if limit < 0 || limit > len(doc) {
			t.Fatalf("limit %d of %d", limit, len(doc))
		}
		fastLinks, slowLinks := NewLinkTable("cmp_1"), NewLinkTable("cmp_1")
		var fast, slow strings.Builder
		last := 0
		for _, s := range spans {
			if s[0] < last || s[1] > limit || s[0] >= s[1] {
				t.Fatalf("span %v after %d, limit %d", s, last, limit)
			}
			fast.WriteString(doc[last:s[0]])
			rewriteLink(&fast, doc[s[0]:s[1]], fuzzRecipient, fastLinks)
			last = s[1]
		}
		fast.WriteString(doc[last:limit])
		// The same tags again, read from the table's kept tags this time:
		// the same output.
		var again strings.Builder
		last = 0
		for _, s := range spans {
			again.WriteString(doc[last:s[0]])
			rewriteLink(&again, doc[s[0]:s[1]], fuzzRecipient, fastLinks)
			last = s[1]
		}
		again.WriteString(doc[last:limit])
		if again.String() != fast.String() {
			t.Fatalf("with the tags kept: %q\nread afresh:        %q", again.String(), fast.String())
		}
		if err := rewriteTokens(&slow, doc, fuzzRecipient, slowLinks); err != nil {
			t.Fatal(err)
		}
		if fast.String() != slow.String() {
			t.Fatalf("walk:      %q\ntokenizer: %q", fast.String(), slow.String())
		}
		// Rewrite itself: the walk's output with the pixel placed as
		// withPixel places it in the tokenizer's.
		got, err := Rewrite(doc, fuzzRecipient, NewLinkTable("cmp_1"))
		if want := withPixel(slow.String(), fuzzRecipient.OpenURL()); err != nil || got != want {
			t.Fatalf("Rewrite: %q, %v\nwant:    %q", got, err, want)
		}
		if a, b := fastLinks.Unsaved(), slowLinks.Unsaved(); len(a) != len(b) {
			t.Fatalf("links %v, tokenizer %v", a, b)
		} else {
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("links %v, tokenizer %v", a, b)
				}
			}
		}
	})
}

// TestWalkTagsDeclinesCommentsAndScripts: the two constructs the walk
// leaves to the tokenizer send Rewrite down its general path, which still
// tracks the links around them.
func TestWalkTagsDeclinesCommentsAndScripts(t *testing.T) {
	for _, doc := range []string{`<!-- <a href="https://no.example/"> --><a href="https://yes.example/">x</a>`,
		`<script>var s = "<a href='https://no.example/'>";</script><a href="https://yes.example/">x</a>`} {
		if _, ok := walkTags(doc, func(int, int) {}); ok {
			t.Errorf("walkTags took %q", doc)
		}
		links := NewLinkTable("cmp_1")
		out, err := Rewrite(doc, fuzzRecipient, links)
		if err != nil || links.Len() != 1 || !strings.Contains(out, "no.example") || strings.Contains(out, "yes.example") {
			t.Errorf("Rewrite(%q) = %q, %v, %d links", doc, out, err, links.Len())
		}
	}
}

// BenchmarkRewrite tracks the standard campaign's HTML (two links and the
// pixel) by the tag walk; BenchmarkRewriteTokens by the tokenizer.
func BenchmarkRewrite(b *testing.B) {
	doc := string(workload.Campaign())
	if _, ok := walkTags(doc, func(int, int) {}); !ok {
		b.Fatal("the campaign is not walked")
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	links := NewLinkTable("cmp_1") // one for every message, as a campaign's
	for b.Loop() {
		if _, err := Rewrite(doc, fuzzRecipient, links); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRewriteTokens(b *testing.B) {
	doc := string(workload.Campaign())
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		var out strings.Builder
		if err := rewriteTokens(&out, doc, fuzzRecipient, NewLinkTable("cmp_1")); err != nil {
			b.Fatal(err)
		}
		_ = withPixel(out.String(), fuzzRecipient.OpenURL())
	}
}

// textURL is the expression eachTextURL implements.
var textURL = regexp.MustCompile(`https?://[^\s<>"()]+`)

// FuzzTextURLs holds eachTextURL to the regular expression.
func FuzzTextURLs(f *testing.F) {
	for _, s := range []string{"Book at https://clinic.example/book?ref=1.\nOr http://x.example (here).", "http://", "https://",
		"httphttps://a", "xhttp://b<c", "http:/x https:/ http://\t", "https://a\x00b\xffc\"d", "hhttpss://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got [][2]int
		eachTextURL(s, func(start, end int) { got = append(got, [2]int{start, end}) })
		want := textURL.FindAllStringIndex(s, -1)
		if len(got) != len(want) {
			t.Fatalf("%q: %v, the expression %v", s, got, want)
		}
		for i := range got {
			if got[i][0] != want[i][0] || got[i][1] != want[i][1] {
				t.Fatalf("%q: %v, the expression %v", s, got, want)
			}
		}
	})
}

func BenchmarkRewriteText(b *testing.B) {
	text := strings.Repeat("Your care team would like to see you soon: book at https://clinic.example/book?ref=checkup.\n", 50)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RewriteText(text, fuzzRecipient, NewLinkTable("cmp_1")); err != nil {
			b.Fatal(err)
		}
	}
}
