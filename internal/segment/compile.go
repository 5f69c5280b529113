package segment

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/carepost/carepost/internal/contact"
)

// Program is a compiled segment expression: checked against the
// organization's fields, rewritten for evaluation, and compiled to expr
// bytecode once. It is immutable and safe for concurrent use; each
// evaluation binds it to its own environment (see matcher).
type Program struct {
	source string
	prog   *vm.Program
	vars   []variable // the contact values the expression reads
	calls  []call     // event, engagement and list look-ups, one query each per evaluation
	phi    bool       // reads a PHI field: contacts' sealed maps are opened
	attrs  bool       // reads a field not marked PHI: their clear values are decoded
}

// variable is one contact value the program reads.
type variable struct {
	name     string // as the expression writes it
	kind     kind
	phi      bool // a PHI field: reading it means opening the contact's sealed map
	nullable bool // may be unset (guarded: a comparison with it is false)
	column   bool // a clear column rather than a field
}

// UsesPHI reports whether evaluating the program opens contacts' sealed PHI.
func (p *Program) UsesPHI() bool { return p.phi }

// Fields lists the contact fields and columns the expression reads, by
// name, in order of first use.
func (p *Program) Fields() []string {
	out := make([]string, len(p.vars))
	for i, v := range p.vars {
		out[i] = v.name
	}
	return out
}

// Source is the expression as written.
func (p *Program) Source() string { return p.source }

// Error is a segment expression that does not compile. Line and Column
// (both from 1) point at the offending token; Snippet shows the line with
// a caret under it. Messages name fields and types, never contact data (an
// expression is written by staff and holds none).
type Error struct {
	Line, Column int
	Message      string
	Snippet      string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Message)
	if e.Snippet != "" {
		s += e.Snippet
	}
	return s
}

// Compile checks src against the organization's fields and compiles it.
// Every problem is an *Error pointing at the token it is about.
func Compile(src string, fields []contact.Field) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Line: 1, Column: 1, Message: "the expression is empty: write a condition such as condition == \"diabetes\""}
	}
	if len(src) > MaxLength {
		return nil, &Error{Line: 1, Column: 1, Message: fmt.Sprintf("the expression is longer than %d bytes", MaxLength)}
	}
	if !utf8.ValidString(src) {
		return nil, &Error{Line: 1, Column: 1, Message: "the expression is not valid UTF-8"}
	}
	sch := newScope(fields)
	tree, err := parser.ParseWithConfig(src, sch.config(false))
	if err != nil {
		return nil, sch.bindError(src, err)
	}
	if err := sch.structure(src, tree.Node); err != nil {
		return nil, err
	}
	if _, err := checker.Check(tree, sch.config(false)); err != nil {
		return nil, sch.bindError(src, err)
	}
	p := &Program{source: src}
	if err := sch.collect(src, tree.Node, p); err != nil {
		return nil, err
	}
	// The second tree is the one that runs: parsed afresh, rewritten, and
	// checked again in the evaluation environment. A failure here is
	// carepost's bug, not the author's.
	run, err := parser.ParseWithConfig(src, sch.config(false))
	if err != nil {
		return nil, sch.bindError(src, err)
	}
	rw := &rewriter{scope: sch, program: p}
	rw.rewrite(&run.Node)
	cfg := sch.config(true)
	rw.declare(cfg)
	if _, err := checker.Check(run, cfg); err != nil {
		return nil, fmt.Errorf("segment: rewritten expression does not check: %w", err)
	}
	if err := optimizer.Optimize(&run.Node, cfg); err != nil {
		return nil, fmt.Errorf("segment: optimize: %w", err)
	}
	if p.prog, err = compiler.Compile(run, cfg); err != nil {
		return nil, fmt.Errorf("segment: compile: %w", err)
	}
	return p, nil
}

// scope is what an expression may name: the organization's fields, the
// clear columns, and the age shorthand.
type scope struct {
	vars   map[string]variable
	names  []string // for suggestions
	hasAge bool
}

func newScope(fields []contact.Field) *scope {
	s := &scope{vars: map[string]variable{}}
	for _, f := range fields {
		s.vars[f.Key] = variable{name: f.Key, kind: kindOf(f.Type), phi: f.PHI, nullable: true}
	}
	for _, c := range columns {
		if _, taken := s.vars[c.name]; !taken {
			s.vars[c.name] = variable{name: c.name, kind: c.kind, nullable: c.nullable, column: true}
		}
	}
	if b, ok := s.vars[ageField]; ok && b.kind == kindDate {
		if _, taken := s.vars["age"]; !taken {
			s.hasAge = true
		}
	}
	for n := range s.vars {
		s.names = append(s.names, n)
	}
	slices.Sort(s.names)
	return s
}

// config is the expr configuration: the author's view (function
// signatures as documented) or, for run, the rewritten program's.
func (s *scope) config(run bool) *conf.Config {
	env := map[string]any{}
	for n, v := range s.vars {
		env[n] = v.kind.zero()
	}
	if s.hasAge && !run {
		env["age"] = 0
	}
	opts := []expr.Option{expr.Env(env), expr.AsBool(), expr.MaxNodes(500)}
	for _, b := range disabledBuiltins {
		opts = append(opts, expr.DisableBuiltin(b))
	}
	if run {
		opts = append(opts, runFunctions()...)
	} else {
		for name, types := range functionTypes {
			opts = append(opts, expr.Function(name, func(...any) (any, error) { return nil, errors.New("not evaluated") }, types...))
		}
	}
	cfg := conf.CreateNew()
	for _, o := range opts {
		o(cfg)
	}
	for name := range cfg.Disabled {
		delete(cfg.Builtins, name)
	}
	cfg.Check()
	return cfg
}

// structure refuses what the language leaves out of expr: variables
// (let), sequences, and reaching the environment as a whole ($env), which
// would read fields without naming them.
func (s *scope) structure(src string, root ast.Node) error {
	var bad *Error
	walk(root, func(n ast.Node) bool {
		if bad != nil {
			return false
		}
		switch n := n.(type) {
		case *ast.VariableDeclaratorNode:
			bad = errorAt(src, n, "let is not supported: write the condition in place")
		case *ast.SequenceNode:
			bad = errorAt(src, n, "one condition only: combine conditions with and / or instead of ;")
		case *ast.IdentifierNode:
			if strings.HasPrefix(n.Value, "$") || strings.HasPrefix(n.Value, "_") {
				bad = errorAt(src, n, "unknown name "+n.Value)
			}
		}
		return true
	})
	if bad != nil {
		return bad
	}
	return nil
}

// collect records the variables and calls of a checked tree and checks
// the rules the type checker cannot: constant arguments, has() of a field.
func (s *scope) collect(src string, root ast.Node, p *Program) error {
	seen := map[string]bool{}
	use := func(name string) {
		v, ok := s.vars[name]
		if !ok || seen[name] {
			return
		}
		seen[name] = true
		p.vars = append(p.vars, v)
		p.phi = p.phi || v.phi
		p.attrs = p.attrs || !v.phi && !v.column
	}
	var bad *Error
	walk(root, func(n ast.Node) bool {
		if bad != nil {
			return false
		}
		switch n := n.(type) {
		case *ast.IdentifierNode:
			if n.Value == "age" && s.hasAge {
				use(ageField)
			} else {
				use(n.Value)
			}
		case *ast.CallNode:
			id, ok := n.Callee.(*ast.IdentifierNode)
			if !ok {
				return true
			}
			if id.Value == "has" {
				if _, field := n.Arguments[0].(*ast.IdentifierNode); !field {
					bad = errorAt(src, n.Arguments[0], "has() takes a field name, e.g. has(last_visit)")
				}
				return true
			}
			if _, ok := lookups[id.Value]; ok {
				if _, err := constantCall(id.Value, n.Arguments); err != nil {
					bad = errorAt(src, err.node, err.msg)
				}
			}
		}
		return true
	})
	if bad != nil {
		return bad
	}
	return nil
}

// walk visits n and its children in source order while fn returns true.
// A function's name is not a child: only its arguments are.
func walk(n ast.Node, fn func(ast.Node) bool) {
	if n == nil || !fn(n) {
		return
	}
	for _, c := range childPtrs(n) {
		walk(*c, fn)
	}
}

// childPtrs are pointers to n's children, for rewriting them in place.
func childPtrs(n ast.Node) []*ast.Node {
	var out []*ast.Node
	add := func(ps ...*ast.Node) {
		for _, p := range ps {
			if *p != nil {
				out = append(out, p)
			}
		}
	}
	switch n := n.(type) {
	case *ast.UnaryNode:
		add(&n.Node)
	case *ast.BinaryNode:
		add(&n.Left, &n.Right)
	case *ast.ChainNode:
		add(&n.Node)
	case *ast.MemberNode:
		add(&n.Node, &n.Property)
	case *ast.SliceNode:
		add(&n.Node, &n.From, &n.To)
	case *ast.CallNode:
		if _, named := n.Callee.(*ast.IdentifierNode); !named {
			add(&n.Callee)
		}
		for i := range n.Arguments {
			add(&n.Arguments[i])
		}
	case *ast.BuiltinNode:
		for i := range n.Arguments {
			add(&n.Arguments[i])
		}
		add(&n.Map)
	case *ast.PredicateNode:
		add(&n.Node)
	case *ast.ConditionalNode:
		add(&n.Cond, &n.Exp1, &n.Exp2)
	case *ast.VariableDeclaratorNode:
		add(&n.Value, &n.Expr)
	case *ast.SequenceNode:
		for i := range n.Nodes {
			add(&n.Nodes[i])
		}
	case *ast.ArrayNode:
		for i := range n.Nodes {
			add(&n.Nodes[i])
		}
	case *ast.MapNode:
		for i := range n.Pairs {
			add(&n.Pairs[i])
		}
	case *ast.PairNode:
		add(&n.Key, &n.Value)
	}
	return out
}

func errorAt(src string, n ast.Node, msg string) *Error {
	fe := (&file.Error{Location: n.Location(), Message: msg}).Bind(file.NewSource(src))
	return &Error{Line: max(fe.Line, 1), Column: fe.Column + 1, Message: msg, Snippet: fe.Snippet}
}

var goType = regexp.MustCompile(`\[\]string|time\.Time|float64|\bint\b|\bstring\b|\bbool\b`)

// bindError turns an expr error into an *Error with a position, in the
// language's words.
func (s *scope) bindError(src string, err error) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		// The checker's "expected bool" has no position: it is about the
		// whole expression.
		msg := err.Error()
		if rest, ok := strings.CutPrefix(msg, "expected bool, but got "); ok {
			msg = "the expression must be a condition (true or false), not " + rest
		}
		fe = &file.Error{Message: msg}
	}
	if fe.Snippet == "" {
		fe = fe.Bind(file.NewSource(src))
	}
	return s.fromFileError(fe)
}

func (s *scope) fromFileError(fe *file.Error) *Error {
	msg := fe.Message
	if name, ok := strings.CutPrefix(msg, "unknown name "); ok {
		msg = "unknown field " + name + s.suggest(name)
	} else if strings.HasPrefix(msg, "unexpected token EOF") {
		msg = "the expression ends too early: a value or condition is missing"
	} else {
		msg = goType.ReplaceAllStringFunc(msg, func(t string) string { return typeNames[t] })
	}
	return &Error{Line: max(fe.Line, 1), Column: fe.Column + 1, Message: msg, Snippet: fe.Snippet}
}

// suggest names a field close to an unknown name (a typo), if one is.
func (s *scope) suggest(name string) string {
	best, dist := "", 3
	for _, n := range s.names {
		if d := distance(name, n); d < dist {
			best, dist = n, d
		}
	}
	if best == "" {
		return " (see GET /api/v1/contact-fields for the organization's fields)"
	}
	return " (did you mean " + best + "?)"
}

// distance is the Levenshtein distance of two short names.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
