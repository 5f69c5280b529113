package template

import (
	"slices"
	"strings"
	"text/template/parse"
)

// The PHI lint is a taint analysis over the parse tree. Every value a
// pipeline computes is a val: where it sits in the data shape (so that
// .FirstName under {{with .Contact}} resolves) and the set of contact
// fields it may carry. Functions, comparisons and methods carry the union
// of their arguments' fields; control structures (if, with, range) taint
// everything produced inside them with the fields their condition read,
// because output chosen by a PHI condition reveals it. Variables keep the
// union of everything assigned to them, and loop bodies are walked until
// no variable gains a field, so a value assigned late in a loop and used
// early in the next iteration is still caught.

type shape uint8

const (
	shapeLeaf shape = iota
	shapeRoot
	shapeContact
	shapeFields
	shapeLinks
)

// anyField stands for every field: printing .Contact or ranging over
// .Contact.Fields may reveal any of them.
const anyField = "*"

type taint map[string]bool

func (t taint) union(o taint) taint {
	if len(o) == 0 {
		return t
	}
	out := make(taint, len(t)+len(o))
	for k := range t {
		out[k] = true
	}
	for k := range o {
		out[k] = true
	}
	return out
}

func (t taint) covers(o taint) bool {
	for k := range o {
		if !t[k] {
			return false
		}
	}
	return true
}

type val struct {
	shape shape
	taint taint
}

// fields is what the value reveals when it is printed or compared.
func (v val) fields() taint {
	switch v.shape {
	case shapeRoot, shapeContact, shapeFields:
		return taint{anyField: true}
	}
	return v.taint
}

// condition is what a value reveals as an if, with or range condition:
// structs are always true, so only field values reveal anything.
func (v val) condition() taint {
	if v.shape == shapeLeaf {
		return v.taint
	}
	return nil
}

func leafOf(t taint) val { return val{shape: shapeLeaf, taint: t} }

// resolve follows field names from v through the data shape.
func (w *walker) resolve(n parse.Node, v val, idents []string) val {
	for i, id := range idents {
		switch v.shape {
		case shapeRoot:
			switch id {
			case "Contact":
				v = val{shape: shapeContact}
			case "Links":
				v = val{shape: shapeLinks}
			case "Now":
				v = leafOf(nil)
			default:
				w.unknown(n, "."+strings.Join(idents[:i+1], "."))
				return leafOf(nil)
			}
		case shapeContact:
			if id == "Fields" {
				v = val{shape: shapeFields}
				continue
			}
			name, ok := contactFields[id]
			if !ok {
				w.unknown(n, ".Contact."+id)
				return leafOf(nil)
			}
			v = leafOf(nil)
			if name != "" {
				v = leafOf(taint{name: true})
			}
		case shapeFields:
			v = leafOf(taint{id: true})
		case shapeLinks:
			if id != "Unsubscribe" && id != "Preferences" {
				w.unknown(n, ".Links."+id)
			}
			v = leafOf(nil)
		default:
			// A method or field of a field's value (.Year of a time):
			// it carries what its receiver does.
		}
	}
	return v
}

// evalPipe returns the value of a pipeline and binds its declarations
// (except range's, which bind per element).
func (w *walker) evalPipe(p *parse.PipeNode, dot val, bind bool) val {
	if p == nil {
		return leafOf(nil)
	}
	var prev *val
	for _, c := range p.Cmds {
		v := w.evalCmd(c, dot, prev)
		prev = &v
	}
	out := leafOf(nil)
	if prev != nil {
		out = *prev
	}
	if bind {
		for _, d := range p.Decl {
			if p.IsAssign {
				w.assign(d.Ident[0], out)
			} else {
				w.define(d.Ident[0], out)
			}
		}
	}
	return out
}

func (w *walker) evalCmd(c *parse.CommandNode, dot val, prev *val) val {
	if len(c.Args) == 0 {
		return leafOf(nil)
	}
	var extra taint
	if prev != nil {
		extra = prev.fields()
	}
	if id, ok := c.Args[0].(*parse.IdentifierNode); ok {
		args := make([]val, 0, len(c.Args)-1)
		for _, a := range c.Args[1:] {
			args = append(args, w.evalArg(a, dot))
		}
		if id.Ident == "index" && len(args) >= 2 && args[0].shape == shapeFields {
			if s, ok := c.Args[2].(*parse.StringNode); ok {
				t := taint{s.Text: true}
				for _, a := range args[2:] {
					t = t.union(a.fields())
				}
				return leafOf(t.union(extra))
			}
		}
		t := extra
		for _, a := range args {
			t = t.union(a.fields())
		}
		return leafOf(t)
	}
	v := w.evalArg(c.Args[0], dot)
	if len(c.Args) == 1 && prev == nil {
		return v
	}
	t := v.fields().union(extra)
	for _, a := range c.Args[1:] {
		t = t.union(w.evalArg(a, dot).fields())
	}
	return leafOf(t)
}

func (w *walker) evalArg(n parse.Node, dot val) val {
	switch n := n.(type) {
	case *parse.DotNode:
		return dot
	case *parse.FieldNode:
		return w.resolve(n, dot, n.Ident)
	case *parse.VariableNode:
		return w.resolve(n, w.lookup(n.Ident[0]), n.Ident[1:])
	case *parse.ChainNode:
		return w.resolve(n, w.evalArg(n.Node, dot), n.Field)
	case *parse.PipeNode:
		return w.evalPipe(n, dot, true)
	}
	return leafOf(nil) // constants, nil, a function called without arguments
}

// Variables: a stack of scopes, as text/template scopes them (a control
// structure's variables end at its {{end}}).

func (w *walker) push() { w.scopes = append(w.scopes, map[string]*val{}) }
func (w *walker) pop()  { w.scopes = w.scopes[:len(w.scopes)-1] }

func (w *walker) define(name string, v val) {
	cp := v
	w.scopes[len(w.scopes)-1][name] = &cp
}

func (w *walker) assign(name string, v val) {
	for i := len(w.scopes) - 1; i >= 0; i-- {
		if cur, ok := w.scopes[i][name]; ok {
			merged := v
			if cur.shape != v.shape {
				merged = leafOf(cur.fields().union(v.fields()))
			} else {
				merged.taint = cur.taint.union(v.taint)
			}
			if !cur.taint.covers(merged.taint) || cur.shape != merged.shape {
				w.changed = true
			}
			*cur = merged
			return
		}
	}
	w.define(name, v) // text/template refuses this at parse time
}

func (w *walker) lookup(name string) val {
	for i := len(w.scopes) - 1; i >= 0; i-- {
		if v, ok := w.scopes[i][name]; ok {
			return *v
		}
	}
	return leafOf(nil)
}

// elem is the value range binds to each element of v.
func elem(v val) val {
	if v.shape == shapeLinks {
		return leafOf(nil)
	}
	return leafOf(v.fields())
}

func sortedPHI(t taint, fs FieldSet) []string {
	var out []string
	for k := range t {
		if k == anyField || fs.PHI(k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
