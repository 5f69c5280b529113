package template

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits of a template's parts, in bytes.
const (
	MaxSubject   = 900 // a Subject field must fit one 998-octet line (RFC 5322 section 2.1.1)
	MaxPreheader = 500
	MaxBody      = 1 << 20
)

// Prepared is a source ready to store: HTML sanitized, a text part
// derived when none was given, every part linted and compiled.
type Prepared struct {
	Source
	// TextGenerated is true when Text was derived from HTML; an edit that
	// changes the HTML and gives no text derives it again.
	TextGenerated bool
}

// Prepare turns an editor's source into what is saved, or refuses it with
// a *LintError naming every problem: parts too long or empty, HTML the
// sanitizer cannot keep actions in, parse errors, unknown fields, and PHI
// in the subject, the preheader or a link URL.
func Prepare(src Source, fs FieldSet) (Prepared, error) {
	var probs []Problem
	add := func(part, msg string) { probs = append(probs, Problem{Part: part, Msg: msg}) }
	check := func(part, s string, limit int) {
		switch {
		case len(s) > limit:
			add(part, fmt.Sprintf("is longer than %d bytes", limit))
		case !utf8.ValidString(s):
			add(part, "is not valid UTF-8")
		}
	}
	check(PartSubject, src.Subject, MaxSubject)
	check(PartPreheader, src.Preheader, MaxPreheader)
	check(PartHTML, src.HTML, MaxBody)
	check(PartText, src.Text, MaxBody)
	if strings.TrimSpace(src.Subject) == "" {
		add(PartSubject, "is required")
	}
	if strings.TrimSpace(src.HTML) == "" && strings.TrimSpace(src.Text) == "" {
		add(PartHTML, "an HTML or a text part is required")
	}
	if len(probs) > 0 {
		return Prepared{}, &LintError{Problems: probs}
	}
	out := Prepared{Source: src}
	if strings.TrimSpace(src.HTML) != "" {
		clean, err := Sanitize(src.HTML)
		if err != nil {
			return Prepared{}, &LintError{Problems: []Problem{{Part: PartHTML, Msg: err.Error()}}}
		}
		out.HTML = clean
		if strings.TrimSpace(src.Text) == "" {
			text, err := TextFromHTML(clean)
			if err != nil {
				return Prepared{}, &LintError{Problems: []Problem{{Part: PartText, Msg: "cannot derive a text part from the HTML (" + err.Error() + "); write one"}}}
			}
			out.Text, out.TextGenerated = text, true
		}
	} else {
		out.HTML = ""
	}
	if probs := Lint(out.Source, fs); len(probs) > 0 {
		return Prepared{}, &LintError{Problems: probs}
	}
	if _, err := Compile(out.Source); err != nil {
		return Prepared{}, &LintError{Problems: []Problem{{Part: PartHTML, Msg: err.Error()}}}
	}
	return out, nil
}
