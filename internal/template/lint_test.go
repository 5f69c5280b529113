package template_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/template"
)

// fields marks names and the condition PHI, the plan not; anything else
// is unknown, so PHI.
var fields = template.FieldSet{"first_name": true, "last_name": true, "email": true, "phone": true, "condition": true, "plan": false, "lang": false}

type found struct{ part, field string }

func lint(src template.Source) []found {
	var out []found
	for _, p := range template.Lint(src, fields) {
		out = append(out, found{p.Part, p.Field})
	}
	return out
}

func TestPHILintRefusesSubjectsAndPreheaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		subject string
		want    []found
	}{
		{`Hi {{.Contact.FirstName}}`, []found{{"subject", "first_name"}}},
		{`Hi {{ .Contact.FirstName | default "there" }}`, []found{{"subject", "first_name"}}},
		{`{{with .Contact}}Hi {{.LastName}}{{end}}`, []found{{"subject", "last_name"}}},
		{`{{if eq .Contact.Fields.condition "diabetes"}}Sugar tips{{end}}`, []found{{"subject", "condition"}}},
		{`{{$c := .Contact.Fields.condition}}News`, []found{{"subject", "condition"}}},
		{`{{index .Contact.Fields "condition"}}`, []found{{"subject", "condition"}}},
		{`{{upper (printf "%s" .Contact.Email)}}`, []found{{"subject", "email"}}},
		{`{{.Contact}}`, []found{{"subject", "*"}}},
		{`{{range $k, $v := .Contact.Fields}}{{$v}}{{end}}`, []found{{"subject", "*"}}},
		{`{{.Contact.Fields.unknown_field}}`, []found{{"subject", "unknown_field"}}},
		{`Your {{.Contact.Fields.plan}} plan news {{date "long" .Now}}`, nil},
		{`{{if .Contact.Fields.lang}}Hola{{else}}Hello{{end}}`, nil},
	}
	for _, tt := range tests {
		got := lint(template.Source{Subject: tt.subject, Text: "x"})
		if !slices.Equal(got, tt.want) {
			t.Errorf("subject %s: %v, want %v", tt.subject, got, tt.want)
		}
		pre := lint(template.Source{Subject: "x", Preheader: tt.subject, Text: "x"})
		for i := range pre {
			pre[i].part = "subject"
		}
		if !slices.Equal(pre, tt.want) {
			t.Errorf("preheader %s: %v, want %v", tt.subject, pre, tt.want)
		}
	}
}

func TestPHILintRefusesLinkURLs(t *testing.T) {
	t.Parallel()
	phi := []found{{"html", "condition"}}
	tests := []struct {
		html string
		want []found
	}{
		{`<a href="{{.Contact.Fields.condition}}">x</a>`, phi},
		{`<a href="https://a/?q={{.Contact.Fields.condition}}">x</a>`, phi},
		{`<a href="https://a/{{.Contact.Fields.condition}}/x">x</a>`, phi},
		{`{{ $u := .Contact.Fields.condition }}<a href="{{$u}}">x</a>`, phi},
		{`{{with .Contact.Fields.condition}}<a href="{{.}}">x</a>{{end}}`, phi},
		{`{{with $c := .Contact.Fields.condition}}<a href="https://a/{{$c}}">x</a>{{end}}`, phi},
		{`<a href="https://a/{{if eq .Contact.Fields.condition "d"}}diabetes{{else}}other{{end}}">x</a>`, phi},
		{`<a href="https://a/{{if eq .Contact.Fields.condition "d"}}{{.Contact.Fields.plan}}{{end}}">x</a>`, phi},
		{`{{$u := ""}}{{range .Contact.Fields.lang}}<a href="https://a/{{$u}}">x</a>{{$u = $.Contact.Fields.condition}}{{end}}`, phi},
		{`<img src="https://img.example/{{index .Contact.Fields "condition"}}.png">`, phi},
		{`<p style="background: url(https://a/{{.Contact.Fields.condition}})">x</p>`, phi},
		{`<a href="https://a/?n={{.Contact.FirstName | default "x" | lower}}">x</a>`, []found{{"html", "first_name"}}},
		{`<a href="https://a/{{.Contact}}">x</a>`, []found{{"html", "*"}}},
		{`<a href="https://a/{{printf "%v" .Contact.Fields}}">x</a>`, []found{{"html", "*"}}},
		// Allowed: PHI in the body (it travels encrypted), a static link
		// shown only to some, non-PHI fields in URLs, and our own links.
		{`<p>Living with {{.Contact.Fields.condition}}, {{.Contact.FirstName}}?</p><a title="{{.Contact.LastName}}" href="https://a/b">x</a>`, nil},
		{`{{if eq .Contact.Fields.condition "d"}}<a href="https://a/diabetes">x</a>{{end}}`, nil},
		{`<a href="https://a/{{.Contact.Fields.plan}}?l={{.Contact.Fields.lang}}&id={{.Contact.ID}}">x</a>`, nil},
		{`<a href="{{.Links.Unsubscribe}}">u</a> <a href="{{.Links.Preferences}}">p</a>`, nil},
		{`{{with .Contact}}<a href="https://a/{{.ID}}">x</a>{{end}}`, nil},
	}
	for _, tt := range tests {
		got := lint(template.Source{Subject: "x", HTML: tt.html})
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s:\n got %v, want %v", tt.html, got, tt.want)
		}
	}
}

func TestPHILintTextPartURLs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want []found
	}{
		{"Read https://a/{{.Contact.Fields.condition}} today", []found{{"text", "condition"}}},
		{"Read www.clinic.example/{{.Contact.Fields.plan}}/{{.Contact.Fields.condition}}", []found{{"text", "condition"}}},
		{"Read https://a/{{if .Contact.Fields.condition}}x{{end}}", []found{{"text", "condition"}}},
		{"Dear {{.Contact.FirstName}}, about {{.Contact.Fields.condition}}: https://a/b", nil},
		{"https://a/{{.Contact.Fields.plan}} {{.Contact.Fields.condition}}", nil},
	}
	for _, tt := range tests {
		got := lint(template.Source{Subject: "x", Text: tt.text})
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestLintRefusesWhatCannotRun(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, html, msg string }{
		{"parse error", `<p>{{if .Contact.FirstName}}</p>`, "unexpected EOF"},
		{"unknown field", `<p>{{.Contact.Nmae}}</p>`, "unknown field .Contact.Nmae"},
		{"unknown root field", `<p>{{.Patient.Name}}</p>`, "unknown field .Patient"},
		{"sub-templates", `{{define "x"}}a{{end}}<p>{{template "x"}}</p>`, "not supported"},
		{"range over a number", `{{range 100000000}}x{{end}}`, "over a number"},
		{"ambiguous URL", `<a href="{{if .Contact.Fields.plan}}https://a/?x={{else}}/b/{{end}}{{.Contact.ID}}">x</a>`, "ambiguous"},
	}
	for _, tt := range tests {
		probs := template.Lint(template.Source{Subject: "x", HTML: tt.html}, fields)
		if len(probs) == 0 || !strings.Contains(probs[0].Msg, tt.msg) {
			t.Errorf("%s: %v, want a problem mentioning %q", tt.name, probs, tt.msg)
		}
	}
}

func TestPrepareNamesEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := template.Prepare(template.Source{Subject: "Hi {{.Contact.FirstName}}", Preheader: "{{.Contact.Fields.condition}}",
		HTML: `<a href="https://a/{{.Contact.Fields.condition}}">x</a>`}, fields)
	var le *template.LintError
	if !asLint(err, &le) {
		t.Fatalf("err = %v, want a LintError", err)
	}
	var got []string
	for _, p := range le.Problems {
		got = append(got, p.Part+":"+p.Field)
	}
	// The derived text part carries the same link, so it is named too.
	want := []string{"subject:first_name", "preheader:condition", "html:condition", "text:condition"}
	if !slices.Equal(got, want) {
		t.Errorf("problems %v, want %v", got, want)
	}
	if strings.Contains(err.Error(), "diabetes") {
		t.Error("a lint error must not carry values")
	}
}
