package template

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	htmltemplate "html/template"
	"io"
	"strings"
	"sync"
	texttemplate "text/template"
	"text/template/parse"
)

// MaxOutput bounds what one part may render to: a template looping over a
// large list field cannot produce an unbounded message.
const MaxOutput = 4 << 20

// Compiled is a template parsed once and executed per contact; it is safe
// for concurrent use, so a campaign's workers share one.
type Compiled struct {
	subject, preheader, text *texttemplate.Template
	html                     *htmltemplate.Template
	bufs                     sync.Pool
}

// Rendered is one contact's message content.
type Rendered struct {
	Subject   string
	Preheader string
	HTML      string
	Text      string
}

// Compile parses a saved (sanitized, linted) source. Missing fields
// render as nothing, never as "<no value>".
func Compile(src Source) (*Compiled, error) {
	c := &Compiled{bufs: sync.Pool{New: func() any { return new(bytes.Buffer) }}}
	var err error
	parseText := func(part, s string) *texttemplate.Template {
		if s == "" || err != nil {
			return nil
		}
		var t *texttemplate.Template
		if t, err = texttemplate.New(part).Funcs(funcs()).Option("missingkey=zero").Parse(s); err != nil {
			err = fmt.Errorf("%s: %s", part, parseMessage(err))
			return nil
		}
		printBlank(t.Tree.Root)
		return t
	}
	c.subject = parseText(PartSubject, src.Subject)
	c.preheader = parseText(PartPreheader, src.Preheader)
	c.text = parseText(PartText, src.Text)
	if err != nil {
		return nil, err
	}
	if src.HTML != "" {
		t, err := htmltemplate.New(PartHTML).Funcs(funcs()).Option("missingkey=zero").Parse(src.HTML)
		if err != nil {
			return nil, fmt.Errorf("html: %s", parseMessage(err))
		}
		// Escape now, once, rather than inside the first Render.
		if err := escape(t); err != nil {
			return nil, fmt.Errorf("html: %s", parseMessage(err))
		}
		c.html = t
	}
	if c.html == nil && c.text == nil {
		return nil, errors.New("a template needs an HTML or a text part")
	}
	return c, nil
}

// printFunc ends every printing action of a text part: text/template
// prints a missing field as "<no value>", html/template as nothing, and
// the text part must read like the HTML one. html/template edits its
// trees the same way to add its escapers.
const printFunc = "_cpprint"

func printBlank(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			printBlank(c)
		}
	case *parse.ActionNode:
		if len(n.Pipe.Decl) == 0 && mayBeNil(n.Pipe) {
			n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos,
				Args: []parse.Node{parse.NewIdentifier(printFunc).SetPos(n.Pos)}})
		}
	case *parse.IfNode:
		printBlank(n.List)
		printBlank(n.ElseList)
	case *parse.WithNode:
		printBlank(n.List)
		printBlank(n.ElseList)
	case *parse.RangeNode:
		printBlank(n.List)
		printBlank(n.ElseList)
	}
}

// mayBeNil reports whether a pipeline can end in a missing field: its last
// command reads data or is default or index (the string functions never
// return nothing).
func mayBeNil(p *parse.PipeNode) bool {
	last := p.Cmds[len(p.Cmds)-1]
	if id, ok := last.Args[0].(*parse.IdentifierNode); ok {
		switch id.Ident {
		case "upper", "lower", "title", "trim", "date", "print", "printf", "println", "len", "urlquery", "html", "js":
			return false
		}
	}
	return true
}

// Render runs every part for one contact.
func (c *Compiled) Render(d *Data) (Rendered, error) {
	var r Rendered
	var err error
	if r.Subject, err = c.run(c.subject, d); err != nil {
		return Rendered{}, fmt.Errorf("render subject: %w", err)
	}
	r.Subject = oneLine(r.Subject)
	if r.Preheader, err = c.run(c.preheader, d); err != nil {
		return Rendered{}, fmt.Errorf("render preheader: %w", err)
	}
	r.Preheader = oneLine(r.Preheader)
	if r.Text, err = c.run(c.text, d); err != nil {
		return Rendered{}, fmt.Errorf("render text: %w", err)
	}
	if c.html != nil {
		b := c.bufs.Get().(*bytes.Buffer)
		defer c.bufs.Put(b)
		b.Reset()
		if err := c.html.Execute(&limitWriter{w: b, n: MaxOutput}, d); err != nil {
			return Rendered{}, fmt.Errorf("render html: %w", err)
		}
		r.HTML = withPreheader(b.Bytes(), r.Preheader)
	}
	return r, nil
}

func (c *Compiled) run(t *texttemplate.Template, d *Data) (string, error) {
	if t == nil {
		return "", nil
	}
	b := c.bufs.Get().(*bytes.Buffer)
	defer c.bufs.Put(b)
	b.Reset()
	if err := t.Execute(&limitWriter{w: b, n: MaxOutput}, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

var errTooLarge = errors.New("the rendered part exceeds the size limit")

type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		return 0, errTooLarge
	}
	l.n -= len(p)
	return l.w.Write(p)
}

// oneLine folds a rendered subject or preheader onto one line: a line end
// from a field value must not start a new header field.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n\t") {
		s = strings.Join(strings.Fields(s), " ")
	}
	return strings.TrimSpace(s)
}

// withPreheader places the preheader as hidden text at the start of the
// body, where inbox lists take their preview from. It copies the rendered
// document once.
func withPreheader(doc []byte, pre string) string {
	if pre == "" {
		return string(doc)
	}
	const open = `<div style="display:none;max-height:0;overflow:hidden;opacity:0" aria-hidden="true">`
	hidden := html.EscapeString(pre)
	k := 0
	if i := bytes.Index(doc, []byte("<body")); i >= 0 {
		if j := bytes.IndexByte(doc[i:], '>'); j >= 0 {
			k = i + j + 1
		}
	}
	var b strings.Builder
	b.Grow(len(doc) + len(open) + len(hidden) + len("</div>"))
	b.Write(doc[:k])
	b.WriteString(open)
	b.WriteString(hidden)
	b.WriteString("</div>")
	b.Write(doc[k:])
	return b.String()
}
