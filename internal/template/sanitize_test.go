package template_test

import (
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/template"
)

func TestSanitizeStripsWhatRunsOrSubmits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"script", `<p>a</p><script>alert(1)</script><p>b</p>`, `<p>a</p><p>b</p>`},
		{"event handler", `<a href="https://clinic.example/" onclick="steal()">x</a>`, `<a href="https://clinic.example/">x</a>`},
		{"onload on img", `<img src="https://clinic.example/l.png" onerror="x()" alt="logo">`, `<img src="https://clinic.example/l.png" alt="logo">`},
		{"iframe", `<p>a<iframe src="https://evil.example/"></iframe>b</p>`, `<p>ab</p>`},
		{"form", `<form action="https://evil.example/"><input name="ssn"><button>Send</button></form>`, `Send`},
		{"javascript URL", `<a href="javascript:alert(1)">x</a>`, `x`},
		{"javascript URL with case and spaces", `<a href=" JaVaScRiPt:alert(1)">x</a>`, `x`},
		{"data URL", `<img src="data:image/svg+xml;base64,PHN2Zz4=">`, ``},
		{"object and embed", `<object data="x.swf"></object><embed src="x.swf">`, ``},
		{"meta refresh", `<meta http-equiv="refresh" content="0;url=https://evil.example/">`, `<meta content="0;url=https://evil.example/">`},
		{"base and link", `<base href="https://evil.example/"><link rel="stylesheet" href="https://evil.example/x.css">`, ``},
		{"style expression", `<p style="width: expression(alert(1)); color: red">x</p>`, `<p style="color: red">x</p>`},
		{"style block import", `<style>@import url(https://evil.example/x.css); p{color:red}</style><p>x</p>`, `<p>x</p>`},
		{"style block escape", `<style>p{background:u\72l(x)}</style>`, ``},
		{"kept: email styling", `<table role="presentation" width="100%" cellpadding="0"><tr><td align="center" style="padding: 8px; background-color: #0b5f7a">x</td></tr></table>`,
			`<table role="presentation" width="100%" cellpadding="0"><tr><td align="center" style="padding: 8px; background-color: #0b5f7a">x</td></tr></table>`},
		{"kept: style block and doctype", "<!DOCTYPE html><html><head><style>.a{color:red}</style></head><body><p class=\"a\">x</p></body></html>",
			"<!doctype html>\n<html><head><style>.a{color:red}</style></head><body><p class=\"a\">x</p></body></html>"},
		{"kept: mailto and tel", `<a href="mailto:care@clinic.example">m</a><a href="tel:+15555550100">t</a>`, `<a href="mailto:care@clinic.example">m</a><a href="tel:+15555550100">t</a>`},
	}
	for _, tt := range tests {
		got, err := template.Sanitize(tt.in)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestSanitizeKeepsActionsExactly(t *testing.T) {
	t.Parallel()
	in := `<p title="{{ .Contact.FirstName | default "there" }}">Hi {{ .Contact.FirstName | default "x}}y" }}</p>` +
		`{{- if .Contact.Fields.vip }}<a href="https://clinic.example/{{ .Contact.Fields.plan }}?a=1&amp;b=2">{{ "<go>" }}</a>{{ end -}}` +
		`{{/* a comment with }} inside */}}<a href="{{.Links.Unsubscribe}}">stop</a><script>{{.Contact.Email}}</script>`
	got, err := template.Sanitize(in)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(in, `<script>{{.Contact.Email}}</script>`)
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestSanitizeActionsInRemovedPlaces(t *testing.T) {
	t.Parallel()
	// A value action goes with what the sanitizer removes around it.
	dropped := []struct{ in, want string }{
		{`<{{.Contact.Fields.tag}}>x</{{.Contact.Fields.tag}}>`, `x`},
		{`<a {{.Contact.Fields.attrs}} href="https://a/">x</a>`, `<a href="https://a/">x</a>`},
		{`<p style="color: {{.Contact.Fields.color}}">x</p>`, `<p>x</p>`},
		{`<iframe>{{.Contact.FirstName}}</iframe>y`, `y`},
	}
	for _, tt := range dropped {
		got, err := template.Sanitize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	// A control action there is refused: losing it would change the
	// template's meaning.
	for _, in := range []string{
		`<p style="{{if .Contact.Fields.vip}}color: red{{end}}">x</p>`,
		`<script>{{range .Contact.Fields.tags}}{{.}}{{end}}</script>`,
		`<{{if .Contact.Fields.vip}}b{{else}}i{{end}}>x</b>`,
		`<p>{{ "unclosed </p>`,
	} {
		if got, err := template.Sanitize(in); err == nil {
			t.Errorf("%s: sanitized to %q, losing a control action", in, got)
		}
	}
}

func TestTextFromHTML(t *testing.T) {
	t.Parallel()
	in := `<html><head><title>T</title><style>p{color:red}</style></head><body>
<h1>Hello {{.Contact.FirstName | default "there"}}</h1>
<p>Your   visit is
due.<br>Call us.</p>
<ul><li>One</li><li>Two <b>bold</b></li></ul>
<ol><li>First</li><li>Second</li></ol>
<p><a href="https://clinic.example/book?a=1&amp;b=2">Book now</a> or <a href="https://clinic.example/">https://clinic.example/</a>
or <a href="mailto:care@clinic.example">email us</a>.</p>
<table><tr><td>Tip 1.</td><td>Drink water.</td></tr><tr><td>Tip 2.</td><td>Sleep.</td></tr></table>
<p><a href="https://clinic.example/r/{{.Contact.Fields.plan}}">Your plan</a> &#123;&#123;literal&#125;&#125;</p>
</body></html>`
	got, err := template.TextFromHTML(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `Hello {{.Contact.FirstName | default "there"}}

Your visit is due.
Call us.

- One
- Two bold

1. First
2. Second

Book now (https://clinic.example/book?a=1&b=2) or https://clinic.example/ or email us (care@clinic.example).

Tip 1. Drink water.
Tip 2. Sleep.

Your plan (https://clinic.example/r/{{.Contact.Fields.plan}}) {{"{{"}}literal}}
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
