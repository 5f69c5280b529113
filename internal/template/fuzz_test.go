package template

import (
	"strings"
	"testing"
	texttemplate "text/template"
)

// FuzzLint runs the lint on arbitrary HTML and subjects: it must never
// panic (the escaper runs on untrusted editor input), and a template it
// accepts must compile.
func FuzzLint(f *testing.F) {
	for _, s := range []string{
		`<a href="{{.Contact.Fields.condition}}">x</a>`,
		`<a href="https://a/?q={{.Contact.Fields.condition}}">x</a>`,
		`{{ $u := .Contact.Fields.condition }}<a href="{{$u}}">x</a>`,
		`{{with .Contact.Fields.condition}}<a href="{{.}}">{{end}}`,
		`{{range $i, $e := .Contact.Fields.tags}}{{if $i}}, {{end}}{{$e}}{{else}}none{{end}}`,
		`<p style="background:url({{.Contact.FirstName}})">{{- /* c */ -}}</p>`,
	} {
		f.Add(s, "Hi {{.Contact.FirstName}}")
	}
	fs := FieldSet{"first_name": true, "condition": true, "plan": false}
	f.Fuzz(func(t *testing.T, html, subject string) {
		src := Source{Subject: subject, HTML: html}
		if len(Lint(src, fs)) > 0 {
			return
		}
		if strings.Contains(html, "{{") || strings.Contains(subject, "{{") {
			// Accepted with actions: it must compile as accepted.
			if _, err := Compile(src); err != nil && html != "" && subject != "" {
				t.Fatalf("lint accepted what does not compile: %v", err)
			}
		}
	})
}

// FuzzActions checks the action scanner against text/template's parser:
// hiding and restoring actions is the identity, and when the source
// parses, the lint's instrumented copy parses too.
func FuzzActions(f *testing.F) {
	for _, s := range []string{
		`a {{.X}} b`, `{{- if .X -}} y {{- else -}} z {{- end}}`, `{{"}}"}}`, "{{`}}`}}", `{{'}'}}`,
		`{{/* }} */}}`, `{{ "a\"}}" }}`, `{{range .X}}{{break}}{{end}}`, `{{ .X }`, `{{`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		hidden, m, err := hideActions(src)
		if err != nil {
			return
		}
		back, missing := m.restore(hidden)
		if back != src || len(missing) > 0 {
			t.Fatalf("restore(hide(%q)) = %q, missing %v", src, back, missing)
		}
		if _, err := texttemplate.New("x").Funcs(lintFuncs()).Parse(src); err != nil {
			return
		}
		inst, err := instrument(src)
		if err != nil {
			t.Fatalf("instrument %q: %v", src, err)
		}
		if _, err := texttemplate.New("x").Funcs(lintFuncs()).Parse(inst); err != nil {
			t.Fatalf("instrumented %q does not parse: %v\n%s", src, err, inst)
		}
	})
}
