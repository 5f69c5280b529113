package template

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template/parse"
)

// mode says which outputs of a part the lint checks.
type mode uint8

const (
	// modeStrict: every value the part computes (subject, preheader:
	// shown in notification previews, inbox lists and logs).
	modeStrict mode = iota
	// modeHTML: values written into URL contexts, as html/template's
	// escaper classified them (href, src, any URL attribute, CSS url()).
	modeHTML
	// modeText: values written where the text before them is a URL.
	modeText
)

// walker runs the taint analysis over one part's tree.
type walker struct {
	part    string
	mode    mode
	fields  FieldSet
	tree    *parse.Tree
	scopes  []map[string]*val
	control taint
	tail    string // modeText: the text written just before, for URL detection
	changed bool
	report  func(Problem)
}

func newWalker(part string, m mode, fs FieldSet, tree *parse.Tree, report func(Problem)) *walker {
	w := &walker{part: part, mode: m, fields: fs, tree: tree, report: report}
	w.push()
	w.define("$", val{shape: shapeRoot})
	return w
}

func (w *walker) walk(n parse.Node, dot val) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			w.walk(c, dot)
		}
	case *parse.TextNode:
		if w.mode == modeText {
			w.tail = lastWord(w.tail + string(n.Text))
		}
	case *parse.ActionNode:
		w.action(n, dot)
	case *parse.IfNode:
		w.branch(n, &n.BranchNode, dot, false)
	case *parse.WithNode:
		w.branch(n, &n.BranchNode, dot, false)
	case *parse.RangeNode:
		w.branch(n, &n.BranchNode, dot, true)
	case *parse.TemplateNode:
		w.problem(n, "", "{{template}} and {{block}} are not supported: write the content in place")
	}
}

func (w *walker) action(n *parse.ActionNode, dot val) {
	if isMarker(n.Pipe) {
		if w.mode == modeHTML && inURL(n.Pipe) {
			w.checkURL(n, w.control, "through an {{if}}, {{with}} or {{range}} around part of it")
		}
		return
	}
	v := w.evalPipe(n.Pipe, dot, true)
	w.strict(n, v.fields())
	if len(n.Pipe.Decl) > 0 {
		return // an assignment writes nothing
	}
	switch w.mode {
	case modeHTML:
		if inURL(n.Pipe) {
			w.checkURL(n, v.fields().union(w.control), "")
		}
	case modeText:
		if urlTail.MatchString(w.tail) {
			w.checkURL(n, v.fields().union(w.control), "")
		}
		w.tail = lastWord(w.tail + "x") // the value continues the word
	}
}

// branch walks an if, with or range: the condition taints everything
// written inside (and in its else), and with/range move dot.
func (w *walker) branch(n parse.Node, b *parse.BranchNode, dot val, loop bool) {
	w.push()
	defer w.pop()
	saved := w.control
	defer func() { w.control = saved }()
	cond := w.evalPipe(b.Pipe, dot, !loop)
	w.strict(n, cond.condition())
	inner := dot
	if _, ok := n.(*parse.WithNode); ok {
		inner = cond
	}
	if loop {
		inner = elem(cond)
		if d := b.Pipe.Decl; len(d) == 1 {
			w.define(d[0].Ident[0], inner)
		} else if len(d) == 2 {
			w.define(d[0].Ident[0], leafOf(nil))
			w.define(d[1].Ident[0], inner)
		}
		if len(b.Pipe.Cmds) == 1 && len(b.Pipe.Cmds[0].Args) == 1 {
			if _, ok := b.Pipe.Cmds[0].Args[0].(*parse.NumberNode); ok {
				w.problem(n, "", "{{range}} over a number is not supported")
			}
		}
	}
	w.control = w.control.union(cond.condition())
	tail := w.tail
	if w.mode == modeText && urlTail.MatchString(tail) {
		w.checkURL(n, w.control, "through an {{if}}, {{with}} or {{range}} around part of it")
	}
	for i := 0; i < 8; i++ { // loop bodies: until no variable gains a field
		w.changed = false
		w.tail = tail
		w.push()
		w.walk(b.List, inner)
		w.branchEnd(n)
		w.pop()
		if !loop || !w.changed {
			break
		}
	}
	if b.ElseList != nil {
		w.tail = tail
		w.push()
		w.walk(b.ElseList, dot)
		w.branchEnd(n)
		w.pop()
	}
}

// branchEnd: in text, a branch that ends inside a URL chose (part of) it.
func (w *walker) branchEnd(n parse.Node) {
	if w.mode == modeText && urlTail.MatchString(w.tail) {
		w.checkURL(n, w.control, "through an {{if}}, {{with}} or {{range}} around part of it")
	}
}

// strict: in the subject and preheader, any PHI field an action or a
// condition reads is a problem, wherever it goes.
func (w *walker) strict(n parse.Node, t taint) {
	if w.mode != modeStrict {
		return
	}
	for _, f := range sortedPHI(t, w.fields) {
		w.problem(n, f, fmt.Sprintf("uses PHI field %s: the %s is readable outside the encrypted body (inbox previews, notifications, logs)", fieldLabel(f), w.part))
	}
}

func (w *walker) checkURL(n parse.Node, t taint, how string) {
	for _, f := range sortedPHI(t, w.fields) {
		msg := fmt.Sprintf("a link URL uses PHI field %s", fieldLabel(f))
		if how != "" {
			msg = fmt.Sprintf("a link URL depends on PHI field %s %s", fieldLabel(f), how)
		}
		w.problem(n, f, msg+": URLs stay readable outside the encrypted body (proxies, browser history, link scanners)")
	}
}

func (w *walker) unknown(n parse.Node, path string) {
	w.problem(n, "", fmt.Sprintf("unknown field %s (see docs/TEMPLATES.md for the data a template sees)", path))
}

func (w *walker) problem(n parse.Node, field, msg string) {
	line, col := w.position(n)
	if w.mode == modeHTML {
		col = 0
	}
	w.report(Problem{Part: w.part, Field: field, Line: line, Column: col, Msg: msg})
}

// position is the line and column (from 1) of n in its part.
func (w *walker) position(n parse.Node) (int, int) {
	if w.tree == nil || n == nil {
		return 0, 0
	}
	loc, _ := w.tree.ErrorContext(n)
	parts := strings.Split(loc, ":")
	if len(parts) < 2 {
		return 0, 0
	}
	l, _ := strconv.Atoi(parts[len(parts)-2])
	c, _ := strconv.Atoi(parts[len(parts)-1]) // a byte offset in the line, from 0
	return l, c + 1
}

func fieldLabel(f string) string {
	if f == anyField {
		return "(the whole contact)"
	}
	return strconv.Quote(f)
}

// urlTail matches text ending inside a URL: a scheme or www. and no
// white space since.
var urlTail = regexp.MustCompile(`(?i)(https?://|www\.|mailto:|tel:)[^\s<>"'()]*$`)

// lastWord keeps the end of s from its last white space: all urlTail
// needs, and it keeps the tail short.
func lastWord(s string) string {
	if i := strings.LastIndexAny(s, " \t\r\n"); i >= 0 {
		s = s[i:]
	}
	if len(s) > 2048 {
		s = s[len(s)-2048:]
	}
	return s
}

// urlEscapers are the functions html/template adds to an action in a URL
// context (escape.go: stateURL, CSS url(), srcset, meta refresh).
var urlEscapers = map[string]bool{
	"_html_template_urlfilter": true, "_html_template_urlnormalizer": true,
	"_html_template_urlescaper": true, "_html_template_srcsetescaper": true,
}

func inURL(p *parse.PipeNode) bool {
	for _, c := range p.Cmds {
		if id, ok := c.Args[0].(*parse.IdentifierNode); ok && urlEscapers[id.Ident] {
			return true
		}
	}
	return false
}

// markerFunc names the no-op the lint inserts at branch edges to learn
// their HTML context from the escaper.
const markerFunc = "_cpctx"

func isMarker(p *parse.PipeNode) bool {
	if p == nil || len(p.Cmds) == 0 || len(p.Cmds[0].Args) == 0 {
		return false
	}
	id, ok := p.Cmds[0].Args[0].(*parse.IdentifierNode)
	return ok && id.Ident == markerFunc
}
