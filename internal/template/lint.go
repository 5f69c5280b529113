package template

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"slices"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
)

// Source is a template as an editor writes it: text/template syntax for
// the subject, preheader and text part, html/template for the HTML part.
type Source struct {
	Subject   string `json:"subject"`
	Preheader string `json:"preheader"`
	HTML      string `json:"html"`
	Text      string `json:"text"`
}

// The parts of a template, as problems name them.
const (
	PartSubject   = "subject"
	PartPreheader = "preheader"
	PartHTML      = "html"
	PartText      = "text"
)

// Problem is one reason a template cannot be saved. It names the part and,
// for PHI, the field; it never carries contact data (a template holds
// none).
type Problem struct {
	Part  string `json:"part"`
	Field string `json:"field,omitempty"`
	Line  int    `json:"line,omitempty"`
	// Column is the column of the action (subject, preheader and text
	// parts; the HTML part is checked on an instrumented copy whose
	// columns differ, so it gives the line only).
	Column int    `json:"column,omitempty"`
	Msg    string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s (line %d): %s", p.Part, p.Line, p.Msg)
	}
	return p.Part + ": " + p.Msg
}

// LintError is every problem found, so an editor can fix them at once.
type LintError struct{ Problems []Problem }

func (e *LintError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.String()
	}
	return "template refused: " + strings.Join(msgs, "; ")
}

// Lint checks a template: that each part parses, uses only the data a
// template sees, and — the PHI lint — that no PHI field reaches the
// subject, the preheader or a link URL, which stay readable outside the
// encrypted body (subjects in notification previews and logs, URLs in
// proxies, browser history and link scanners). PHI in the body is fine:
// the body travels encrypted. fs says which fields are PHI.
func Lint(src Source, fs FieldSet) []Problem {
	var out []Problem
	type key struct {
		part, field string
		line        int
	}
	seen := map[key]bool{}
	report := func(p Problem) {
		k := key{p.Part, p.Field, p.Line}
		if p.Field == "" {
			k.field = p.Msg
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	lintText(PartSubject, src.Subject, modeStrict, fs, report)
	lintText(PartPreheader, src.Preheader, modeStrict, fs, report)
	if src.HTML != "" {
		lintHTML(src.HTML, fs, report)
	}
	if src.Text != "" {
		lintText(PartText, src.Text, modeText, fs, report)
	}
	slices.SortStableFunc(out, func(a, b Problem) int { return partOrder(a.Part) - partOrder(b.Part) })
	return out
}

func partOrder(p string) int {
	return slices.Index([]string{PartSubject, PartPreheader, PartHTML, PartText}, p)
}

// lintFuncs are funcs plus the marker, with the same names, so that parse
// accepts exactly what Compile accepts.
func lintFuncs() map[string]any {
	f := funcs()
	f[markerFunc] = func(int) string { return "" }
	return f
}

func lintText(part, src string, m mode, fs FieldSet, report func(Problem)) {
	if src == "" {
		return
	}
	t, err := texttemplate.New(part).Funcs(lintFuncs()).Parse(src)
	if err != nil {
		report(Problem{Part: part, Msg: parseMessage(err)})
		return
	}
	if !single(t.Templates(), t.Tree) {
		report(Problem{Part: part, Msg: "{{define}} and {{block}} are not supported: write the content in place"})
		return
	}
	w := newWalker(part, m, fs, t.Tree, report)
	w.walk(t.Tree.Root, val{shape: shapeRoot})
}

func lintHTML(src string, fs FieldSet, report func(Problem)) {
	inst, err := instrument(src)
	if err != nil {
		report(Problem{Part: PartHTML, Msg: err.Error()})
		return
	}
	t, err := htmltemplate.New(PartHTML).Funcs(lintFuncs()).Parse(inst)
	if err != nil {
		report(Problem{Part: PartHTML, Msg: parseMessage(err)})
		return
	}
	if !single(t.Templates(), t.Tree) {
		report(Problem{Part: PartHTML, Msg: "{{define}} and {{block}} are not supported: write the content in place"})
		return
	}
	// The escaper runs before the first execution and rewrites the tree in
	// place, appending its escaping functions to every action: that is
	// how the walk learns which actions sit in a URL.
	if err := escape(t); err != nil {
		report(Problem{Part: PartHTML, Msg: parseMessage(err)})
		return
	}
	w := newWalker(PartHTML, modeHTML, fs, t.Tree, report)
	w.walk(t.Tree.Root, val{shape: shapeRoot})
}

// single reports whether a parse produced one template and no sub-template
// calls.
func single[T any](set []T, tree *parse.Tree) bool {
	if len(set) != 1 || tree == nil {
		return false
	}
	ok := true
	var visit func(n parse.Node)
	visit = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					visit(c)
				}
			}
		case *parse.TemplateNode:
			ok = false
		case *parse.IfNode:
			visit(n.List)
			visit(n.ElseList)
		case *parse.WithNode:
			visit(n.List)
			visit(n.ElseList)
		case *parse.RangeNode:
			visit(n.List)
			visit(n.ElseList)
		}
	}
	visit(tree.Root)
	return ok
}

// errStop ends an execution at its first write.
var errStop = errors.New("stop")

type stopWriter struct{}

func (stopWriter) Write([]byte) (int, error) { return 0, errStop }

// escape runs html/template's escaper without running the template: it
// escapes before executing, and the writer stops execution at the first
// byte. Escaping errors (an action in an ambiguous URL position, branches
// ending in different contexts) are returned; execution errors are not.
func escape(t *htmltemplate.Template) error {
	err := t.Execute(stopWriter{}, Data{})
	var herr *htmltemplate.Error
	if errors.As(err, &herr) {
		return herr
	}
	return nil
}

// instrument inserts a marker action at the start and end of every branch
// (after {{if}}, {{with}}, {{range}} and {{else}}; before {{else}} and
// {{end}}). The escaper then tells the walk in which HTML context each
// branch begins and ends. Markers add no line ends, so line numbers stay.
func instrument(src string) (string, error) {
	spans, err := scanActions(src)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	last, n := 0, 0
	mark := func() {
		fmt.Fprintf(&b, "{{%s %d}}", markerFunc, n)
		n++
	}
	for _, s := range spans {
		b.WriteString(src[last:s.start])
		if s.keyword == "else" || s.keyword == "end" {
			mark()
		}
		b.WriteString(src[s.start:s.end])
		switch s.keyword {
		case "if", "with", "range", "else":
			mark()
		}
		last = s.end
	}
	b.WriteString(src[last:])
	return b.String(), nil
}

// parseMessage strips the template name prefix text/template and
// html/template put on errors ("template: html:3: …") down to the line
// and the message.
func parseMessage(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "template: ")
	msg = strings.TrimPrefix(msg, "html/template:")
	for _, p := range []string{PartSubject, PartPreheader, PartHTML, PartText} {
		if rest, ok := strings.CutPrefix(msg, p+":"); ok {
			return "line " + rest
		}
	}
	return msg
}
