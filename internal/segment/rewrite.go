package segment

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/conf"
)

// The rewrite turns the author's expression into the program that runs:
//
//   - Look-ups (has_event, event_count, opened, clicked, in_list) become
//     variables, filled per contact from one query per evaluation: the
//     arguments are constants, so the whole organization's answer is read
//     once rather than asked once per contact.
//   - today(), days_since, days_until, age and the age shorthand read the
//     evaluation's date from the variable _today, so every contact of one
//     evaluation is judged on the same day and the program stays
//     immutable.
//   - has(f) becomes the variable _h_f.
//   - Unset values: each condition that reads a field which may be unset
//     is guarded: `age >= 40` runs as `_h_birth_date and age(...) >= 40`.
//     A condition about a value the contact does not have is therefore
//     false, and is never evaluated (the environment holds no value for
//     it). The guard sits on each operand of and / or / not, so `not
//     (age >= 40)` is true for a contact without a birth date: the
//     condition is false, its negation true (docs/SEGMENTS.md).
//
// Names the rewrite introduces start with an underscore, which the
// author's expression may not use (structure refuses them).

type lookupKind int

const (
	lookEvent lookupKind = iota
	lookOpen
	lookClick
	lookList
)

var lookups = map[string]lookupKind{
	"has_event": lookEvent, "event_count": lookEvent, "opened": lookOpen, "clicked": lookClick, "in_list": lookList,
}

// call is one look-up: what to read, and the variable that carries its
// answer for each contact.
type call struct {
	env   string
	kind  lookupKind
	name  string // event name, campaign id, list id
	days  int    // a window in days, 0 none
	count bool   // event_count: the number rather than whether
}

func (c call) key() string {
	return fmt.Sprintf("%d|%s|%d|%v", c.kind, c.name, c.days, c.count)
}

var (
	eventNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)
	idPattern        = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,127}$`)
)

type argError struct {
	node ast.Node
	msg  string
}

// constantCall reads a look-up's literal arguments.
func constantCall(fn string, args []ast.Node) (call, *argError) {
	c := call{kind: lookups[fn], count: fn == "event_count"}
	days := func(n ast.Node) *argError {
		i, ok := n.(*ast.IntegerNode)
		if !ok {
			return &argError{n, fn + ": the number of days must be a whole number written in the expression"}
		}
		if i.Value < 1 || i.Value > MaxDays {
			return &argError{n, fmt.Sprintf("%s: the number of days must be between 1 and %d", fn, MaxDays)}
		}
		c.days = i.Value
		return nil
	}
	str := func(n ast.Node, what string, pattern *regexp.Regexp) *argError {
		s, ok := n.(*ast.StringNode)
		if !ok {
			return &argError{n, fn + ": the " + what + " must be written in the expression, in quotes"}
		}
		if !pattern.MatchString(s.Value) {
			return &argError{n, fn + ": " + strconv.Quote(s.Value) + " is not a valid " + what}
		}
		c.name = s.Value
		return nil
	}
	var err *argError
	switch c.kind {
	case lookEvent:
		err = str(args[0], "event name", eventNamePattern)
		if err == nil && len(args) > 1 {
			err = days(args[1])
		}
	case lookOpen, lookClick:
		if len(args) == 1 {
			if _, isNum := args[0].(*ast.IntegerNode); isNum {
				err = days(args[0])
			} else {
				err = str(args[0], "campaign id", idPattern)
			}
		}
	case lookList:
		err = str(args[0], "list id", idPattern)
	}
	return c, err
}

type rewriter struct {
	scope   *scope
	program *Program
	byKey   map[string]string
}

func (r *rewriter) rewrite(root *ast.Node) {
	r.byKey = map[string]string{}
	r.replace(root)
	r.guard(root)
}

func ident(name string, loc ast.Node) *ast.IdentifierNode {
	n := &ast.IdentifierNode{Value: name}
	n.SetLocation(loc.Location())
	return n
}

func callOf(fn string, loc ast.Node, args ...ast.Node) *ast.CallNode {
	n := &ast.CallNode{Callee: ident(fn, loc), Arguments: args}
	n.SetLocation(loc.Location())
	return n
}

// replace rewrites look-ups, dates and has() bottom-up.
func (r *rewriter) replace(p *ast.Node) {
	if c, ok := (*p).(*ast.CallNode); ok {
		if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == "has" {
			name := c.Arguments[0].(*ast.IdentifierNode).Value // collect checked it
			if name == "age" && r.scope.hasAge {
				name = ageField
			}
			*p = ident("_h_"+name, c)
			return
		}
	}
	for _, cp := range childPtrs(*p) {
		r.replace(cp)
	}
	switch n := (*p).(type) {
	case *ast.IdentifierNode:
		if n.Value == "age" && r.scope.hasAge {
			*p = callOf("_age", n, ident(ageField, n), ident("_today", n))
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		switch id.Value {
		case "days_since", "days_until", "age":
			*p = callOf("_"+id.Value, n, n.Arguments[0], ident("_today", n))
		case "today":
			*p = ident("_today", n)
		default:
			if _, ok := lookups[id.Value]; ok {
				c, _ := constantCall(id.Value, n.Arguments) // collect checked them
				*p = ident(r.lookup(c), n)
			}
		}
	}
}

// lookup returns the variable carrying c, sharing it between equal calls.
func (r *rewriter) lookup(c call) string {
	if v, ok := r.byKey[c.key()]; ok {
		return v
	}
	c.env = "_c" + strconv.Itoa(len(r.program.calls))
	r.byKey[c.key()] = c.env
	r.program.calls = append(r.program.calls, c)
	return c.env
}

// guard puts the presence of the nullable values each condition reads in
// front of it.
func (r *rewriter) guard(p *ast.Node) {
	switch n := (*p).(type) {
	case *ast.BinaryNode:
		switch n.Operator {
		case "and", "&&", "or", "||":
			r.guard(&n.Left)
			r.guard(&n.Right)
			return
		}
	case *ast.UnaryNode:
		if n.Operator == "not" || n.Operator == "!" {
			r.guard(&n.Node)
			return
		}
	}
	var need []string
	seen := map[string]bool{}
	walk(*p, func(n ast.Node) bool {
		if id, ok := n.(*ast.IdentifierNode); ok {
			if v, ok := r.scope.vars[id.Value]; ok && v.nullable && !seen[id.Value] {
				seen[id.Value] = true
				need = append(need, id.Value)
			}
		}
		return true
	})
	g := *p
	for i := len(need) - 1; i >= 0; i-- {
		b := &ast.BinaryNode{Operator: "and", Left: ident("_h_"+need[i], g), Right: g}
		b.SetLocation(g.Location())
		g = b
	}
	*p = g
}

// declare adds the rewritten program's variables to the run configuration.
func (r *rewriter) declare(cfg *conf.Config) {
	env := map[string]any{"_today": time.Time{}}
	for n, v := range r.scope.vars {
		env[n] = v.kind.zero()
		env["_h_"+n] = false
	}
	for _, c := range r.program.calls {
		if c.count {
			env[c.env] = 0
		} else {
			env[c.env] = false
		}
	}
	cfg.WithEnv(env)
}

// runFunctions are the date functions as the rewritten program calls them:
// with the evaluation's date as the last argument.
func runFunctions() []expr.Option {
	two := func(f func(d, today time.Time) int) func(...any) (any, error) {
		return func(args ...any) (any, error) {
			d, _ := args[0].(time.Time)
			t, _ := args[1].(time.Time)
			return f(d, t), nil
		}
	}
	sig := new(func(time.Time, time.Time) int)
	return []expr.Option{
		expr.Function("_days_since", two(func(d, t time.Time) int { return dayNumber(t) - dayNumber(d) }), sig),
		expr.Function("_days_until", two(func(d, t time.Time) int { return dayNumber(d) - dayNumber(t) }), sig),
		expr.Function("_age", two(years), sig),
	}
}

// dayNumber is the UTC calendar day of t, counted from 1970-01-01.
func dayNumber(t time.Time) int {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return int(d)
}

// years is the number of full years from d to t (an age), in UTC.
func years(d, t time.Time) int {
	d, t = d.UTC(), t.UTC()
	y := t.Year() - d.Year()
	if t.Month() < d.Month() || t.Month() == d.Month() && t.Day() < d.Day() {
		y--
	}
	return y
}
