package template_test

import (
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/template"
)

func compile(t *testing.T, src template.Source) *template.Compiled {
	t.Helper()
	c, err := template.Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRenderFallbacksAndFunctions(t *testing.T) {
	t.Parallel()
	c := compile(t, template.Source{
		Subject: `Hi {{ .Contact.FirstName | default "there" }}`,
		HTML:    `<p>{{ .Contact.FirstName | default "there" }}|{{ .Contact.Fields.missing }}|{{ upper .Contact.Fields.plan }}|{{ title .Contact.LastName }}|{{ lower "ABC" }}|{{ trim .Contact.Fields.pad }}|{{ .Contact.Fields.visits }}</p>`,
		Text:    `{{ .Contact.FirstName | default "there" }}|{{ .Contact.Fields.missing }}|{{ index .Contact.Fields "odd-name" | default "none" }}`,
	})
	tests := []struct {
		name                string
		contact             template.Contact
		subject, html, text string
	}{
		{"empty contact", template.Contact{},
			"Hi there", "<p>there||||abc||</p>", "there||none"},
		{"blank name", template.Contact{FirstName: "  ", Fields: map[string]any{"visits": 0}},
			"Hi there", "<p>there||||abc||0</p>", "there||none"},
		{"filled", template.Contact{FirstName: "Ana", LastName: "o'neil", Fields: map[string]any{"plan": "gold", "pad": "  x ", "visits": 3, "odd-name": "y"}},
			"Hi Ana", "<p>Ana||GOLD|O&#39;neil|abc|x|3</p>", "Ana||y"},
	}
	for _, tt := range tests {
		d := template.NewData(tt.contact, time.Now(), template.Links{})
		r, err := c.Render(&d)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if r.Subject != tt.subject || r.HTML != tt.html || r.Text != tt.text {
			t.Errorf("%s:\n got %q %q %q\nwant %q %q %q", tt.name, r.Subject, r.HTML, r.Text, tt.subject, tt.html, tt.text)
		}
	}
}

func TestRenderDatesInTheContactsTimezone(t *testing.T) {
	t.Parallel()
	c := compile(t, template.Source{Subject: "s", Text: `{{ date "datetime" .Contact.Fields.appointment }}|{{ date "long" .Contact.Fields.last_visit }}|{{ date "iso" .Contact.Fields.text_date }}|{{ date "2006" .Now }}|{{ date "short" .Contact.Fields.none }}`})
	appt := time.Date(2025, 3, 4, 1, 30, 0, 0, time.UTC) // 01:30 UTC
	visit := template.Date{Year: 2025, Month: time.January, Day: 2}
	tests := []struct {
		zone, want string
	}{
		{"", "March 4, 2025 at 1:30 AM UTC|January 2, 2025|2024-12-31|2025|"},
		{"America/Los_Angeles", "March 3, 2025 at 5:30 PM PST|January 2, 2025|2024-12-31|2024|"}, // the day before, and New Year's Eve
		{"Asia/Tokyo", "March 4, 2025 at 10:30 AM JST|January 2, 2025|2024-12-31|2025|"},
		{"Not/AZone", "March 4, 2025 at 1:30 AM UTC|January 2, 2025|2024-12-31|2025|"},
	}
	now := time.Date(2025, 1, 1, 3, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		d := template.NewData(template.Contact{Timezone: tt.zone, Fields: map[string]any{"appointment": appt, "last_visit": visit, "text_date": "2024-12-31"}}, now, template.Links{})
		r, err := c.Render(&d)
		if err != nil {
			t.Fatal(err)
		}
		if r.Text != tt.want {
			t.Errorf("zone %q: %q, want %q", tt.zone, r.Text, tt.want)
		}
	}
}

func TestRenderPreheaderAndSubjectLine(t *testing.T) {
	t.Parallel()
	c := compile(t, template.Source{Subject: "Hello {{.Contact.Fields.x}}", Preheader: "Book <now> & save", HTML: `<html><body class="b"><p>x</p></body></html>`})
	d := template.NewData(template.Contact{Fields: map[string]any{"x": "a\r\nBcc: evil@example.org"}}, time.Now(), template.Links{})
	r, err := c.Render(&d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(r.Subject, "\r\n") || r.Subject != "Hello a Bcc: evil@example.org" {
		t.Errorf("subject %q: a field value must not start a header line", r.Subject)
	}
	want := `<body class="b"><div style="display:none;max-height:0;overflow:hidden;opacity:0" aria-hidden="true">Book &lt;now&gt; &amp; save</div><p>`
	if !strings.Contains(r.HTML, want) {
		t.Errorf("preheader not first in the body:\n%s", r.HTML)
	}
}

func TestRenderEscapesByContext(t *testing.T) {
	t.Parallel()
	c := compile(t, template.Source{Subject: "s", HTML: `<a href="{{.Links.Unsubscribe}}" title="{{.Contact.FirstName}}">{{.Contact.LastName}}</a>`})
	d := template.NewData(template.Contact{FirstName: `"><script>`, LastName: "<b>x</b>"}, time.Now(), template.Links{Unsubscribe: "javascript:alert(1)"})
	r, err := c.Render(&d)
	if err != nil {
		t.Fatal(err)
	}
	want := `<a href="#ZgotmplZ" title="&#34;&gt;&lt;script&gt;">&lt;b&gt;x&lt;/b&gt;</a>`
	if r.HTML != want {
		t.Errorf("got  %s\nwant %s", r.HTML, want)
	}
}

func TestCompileRefusesEmptyTemplates(t *testing.T) {
	t.Parallel()
	if _, err := template.Compile(template.Source{Subject: "only a subject"}); err == nil {
		t.Fatal("a template without a body compiled")
	}
	if _, err := template.Compile(template.Source{Subject: "{{if}}", Text: "x"}); err == nil {
		t.Fatal("a broken subject compiled")
	}
}
