package segment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/store"
)

// evaluation is one run of a program over an organization's contacts (or
// one contact): the day it is judged on and the answers of its look-ups,
// each read with one query before the first contact.
type evaluation struct {
	p     *Program
	now   time.Time
	today time.Time
	sets  []map[string]struct{} // per call: has_event, opened, clicked, in_list
	count []map[string]int      // per call: event_count
	names []string              // per variable: its presence variable, _h_<name>
}

// bind reads the program's look-ups for orgID (contactID narrows them to
// one contact).
func bind(ctx context.Context, q store.Querier, p *Program, orgID, contactID string, now time.Time) (*evaluation, error) {
	y, m, d := now.UTC().Date()
	ev := &evaluation{p: p, now: now, today: time.Date(y, m, d, 0, 0, 0, 0, time.UTC),
		sets: make([]map[string]struct{}, len(p.calls)), count: make([]map[string]int, len(p.calls))}
	for _, v := range p.vars {
		ev.names = append(ev.names, "_h_"+v.name)
	}
	for i, c := range p.calls {
		var since time.Time
		if c.days > 0 {
			since = now.Add(-time.Duration(c.days) * 24 * time.Hour)
		}
		var err error
		switch c.kind {
		case lookEvent:
			var n map[string]int
			if n, err = store.SegmentEventCounts(ctx, q, orgID, c.name, since, contactID); err == nil {
				if c.count {
					ev.count[i] = n
				} else {
					ev.sets[i] = make(map[string]struct{}, len(n))
					for id := range n {
						ev.sets[i][id] = struct{}{}
					}
				}
			}
		case lookOpen, lookClick:
			campaign := ""
			if c.days == 0 {
				campaign = c.name
			}
			ev.sets[i], err = store.EngagedContacts(ctx, q, orgID, c.kind == lookClick, campaign, since, contactID)
		case lookList:
			ev.sets[i], err = store.ListMemberSet(ctx, q, orgID, c.name, contactID)
		}
		if err != nil {
			return nil, fmt.Errorf("segment look-up: %w", err)
		}
	}
	return ev, nil
}

// matcher evaluates one contact at a time: it owns an environment map and
// a VM, reused from contact to contact, so it is not safe for concurrent
// use (each goroutine takes its own).
type matcher struct {
	ev  *evaluation
	env map[string]any
	vm  vm.VM
}

func (ev *evaluation) matcher() *matcher {
	m := &matcher{ev: ev, env: make(map[string]any, 2*len(ev.p.vars)+len(ev.p.calls)+1)}
	m.env["_today"] = ev.today
	return m
}

// match reports whether c is in the segment. Values the contact does not
// have are marked absent and never read (see the rewrite's guards).
func (m *matcher) match(c *contact.Contact) (bool, error) {
	ev := m.ev
	for i, v := range ev.p.vars {
		val, ok := valueOf(c, v, ev.now)
		m.env[ev.names[i]] = ok
		if ok {
			m.env[v.name] = val
		}
	}
	for i, cl := range ev.p.calls {
		if cl.count {
			m.env[cl.env] = ev.count[i][c.ID]
		} else {
			_, in := ev.sets[i][c.ID]
			m.env[cl.env] = in
		}
	}
	out, err := m.vm.Run(ev.p.prog, m.env)
	if err != nil {
		return false, evalError(ev.p.source, err)
	}
	b, _ := out.(bool)
	return b, nil
}

// EvalError is an expression that compiled but failed on a contact: a
// conversion such as int(zip) of a value that is no number, a regular
// expression that does not compile. It carries the position only, never
// expr's message, which may quote the contact's value.
type EvalError struct{ Line, Column int }

func (e *EvalError) Error() string {
	return fmt.Sprintf("the segment expression failed on a contact at line %d, column %d (a value that does not convert, an invalid regular expression, or more memory than one contact's evaluation may use)", e.Line, e.Column)
}

func evalError(src string, err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		b := (&file.Error{Location: fe.Location}).Bind(file.NewSource(src))
		return &EvalError{Line: max(b.Line, 1), Column: b.Column + 1}
	}
	return &EvalError{Line: 1, Column: 1}
}

// valueOf is the value of v for c, and whether c has one.
func valueOf(c *contact.Contact, v variable, now time.Time) (any, bool) {
	if v.column {
		switch v.name {
		case "status":
			return string(c.EffectiveStatus()), true
		case "timezone":
			return c.Timezone, c.Timezone != ""
		case "locale":
			return c.Locale, c.Locale != ""
		case "consent":
			return c.Consent.Valid(now), true
		case "suppressed":
			return c.Suppression != "", true
		case "created_at":
			return c.CreatedAt, true
		}
		return nil, false
	}
	return c.Get(v.name)
}
