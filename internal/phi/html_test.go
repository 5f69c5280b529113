package phi

import (
	"strings"
	"testing"
)

func TestHTMLText(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"<p>Hello <b>Pat</b></p>", " Hello  Pat  "},
		{`<a href="https://x.example/?mrn=1234567" title='Chart'>link</a>`, "  href  https://x.example/?mrn 1234567  title  Chart  link "},
		{"<!-- DOB 04/12/1961 -->text", "  DOB 04/12/1961  text"},
		{"a < b and c > d", "a < b and c > d"},
		{"536&#45;22&#45;8411 &amp; more", "536-22-8411 & more"},
		{"<td>date&nbsp;of&nbsp;birth</td>", " date\u00a0of\u00a0birth "},
		{"unclosed <b tag", "unclosed <b tag"},
		{"<!doctype html><br/>x", "  x"},
		{"<img alt=SSN:536-22-8411>x", "  alt SSN:536-22-8411 x"},
		{"<", "<"},
		{"<!--", "  "},
	}
	for _, c := range cases {
		if got := HTMLText(c.in); got != c.want {
			t.Errorf("HTMLText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestHTMLPHIIsFoundThroughMarkup(t *testing.T) {
	t.Parallel()
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	html := `<table><tr><td><b>SSN</b></td><td>536-22-8411</td></tr><tr><td>D.O.B.</td><td>04/12/1961</td></tr></table>`
	got := map[string]Confidence{}
	for _, f := range s.Scan(InBody, HTMLText(html)) {
		got[f.Detector] = f.Confidence
	}
	if got[SSN] != High || got[DOB] != High {
		t.Fatalf("findings %v", got)
	}
}

func TestTextCollapsesWhiteSpace(t *testing.T) {
	t.Parallel()
	tx := NewText("  Date\tOF\r\n\u00a0 Birth  ")
	if tx.s != "Date OF Birth " || tx.lower != "date of birth " {
		t.Fatalf("%q / %q", tx.s, tx.lower)
	}
}

// The standard campaign is a PHI-free template: nothing in it reaches the
// default threshold, Medium.
func TestCampaignHasNoFindingsAtMedium(t *testing.T) {
	t.Parallel()
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	text := campaign(t)
	if !strings.Contains(text, "check-up") {
		t.Fatal("campaign text missing")
	}
	for _, f := range s.Scan(InBody, text) {
		if f.Confidence >= Medium {
			t.Errorf("false positive in the campaign: %v", f)
		}
	}
}
