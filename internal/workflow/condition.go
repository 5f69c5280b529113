package workflow

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/store"
)

// eval tests a condition on a run's contact.
func (s *Service) eval(ctx context.Context, r *store.WorkflowRunRow, c contact.Contact, cond *Condition) (bool, error) {
	switch {
	case len(cond.All) > 0:
		for i := range cond.All {
			if ok, err := s.eval(ctx, r, c, &cond.All[i]); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case len(cond.Any) > 0:
		for i := range cond.Any {
			if ok, err := s.eval(ctx, r, c, &cond.Any[i]); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case cond.Not != nil:
		ok, err := s.eval(ctx, r, c, cond.Not)
		return !ok && err == nil, err
	case cond.Field != "":
		v, ok := c.Get(cond.Field)
		if !ok {
			v = nil
		}
		return compare(cond.Op, v, cond.Value), nil
	case cond.Segment != "":
		return s.deps.Segments.Contains(ctx, r.OrgID, cond.Segment, r.ContactID)
	case cond.Engaged != nil:
		return engagedWith(r.Engaged, cond.Engaged.Kind, cond.Engaged.Step), nil
	case cond.Event != nil:
		return s.evalEvent(ctx, r, cond.Event)
	}
	return false, nil
}

// evalEvent tests the contact's custom events: how many there are (by
// name, in the window), or a property of the newest one.
func (s *Service) evalEvent(ctx context.Context, r *store.WorkflowRunRow, e *EventCondition) (bool, error) {
	var since time.Time
	if e.Within > 0 {
		since = s.now().Add(-e.Within.D())
	}
	if e.Property == "" {
		need := max(e.MinCount, 1)
		rows, err := store.ListContactEvents(ctx, s.deps.DB.Reader(), store.ContactEventQuery{OrgID: r.OrgID, ContactID: r.ContactID,
			Name: e.Name, Since: since, Limit: need})
		if err != nil {
			return false, err
		}
		return len(rows) >= need, nil
	}
	evs, err := s.deps.Contacts.Events(ctx, contact.System(r.OrgID, "workflow"), r.ContactID, contact.EventQuery{Name: e.Name, Since: since, Limit: 1})
	if err != nil || len(evs) == 0 {
		return false, err
	}
	v, ok := evs[0].Properties[e.Property]
	if !ok {
		v = nil
	}
	return compare(e.Op, v, e.Value), nil
}

// compare applies op to a contact's (or event's) value and the
// condition's. Numbers compare as numbers, dates and times as instants
// (a condition value is an ISO date or RFC 3339 time), text as text; a
// missing value only satisfies ne and not exists.
func compare(op string, have, want any) bool {
	if op == "exists" {
		return have != nil && have != ""
	}
	if have == nil {
		return op == "ne"
	}
	switch op {
	case "in":
		list, _ := want.([]any)
		for _, w := range list {
			if equal(have, w) {
				return true
			}
		}
		return false
	case "contains":
		switch h := have.(type) {
		case []string:
			return slices.ContainsFunc(h, func(x string) bool { return equal(x, want) })
		case string:
			w, ok := want.(string)
			return ok && strings.Contains(strings.ToLower(h), strings.ToLower(w))
		}
		return false
	case "eq":
		return equal(have, want)
	case "ne":
		return !equal(have, want)
	}
	c, ok := order(have, want)
	if !ok {
		return false
	}
	switch op {
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

func equal(have, want any) bool {
	if c, ok := order(have, want); ok {
		return c == 0
	}
	switch h := have.(type) {
	case bool:
		w, ok := want.(bool)
		return ok && h == w
	case []string:
		return slices.ContainsFunc(h, func(x string) bool { return equal(x, want) })
	}
	return false
}

// order compares two values of one kind: -1, 0, 1; ok false when they do
// not compare.
func order(have, want any) (int, bool) {
	if h, ok := number(have); ok {
		w, ok := number(want)
		if !ok {
			return 0, false
		}
		return cmp3(h < w, h > w), true
	}
	if h, ok := have.(time.Time); ok {
		w, ok := instant(want)
		if !ok {
			return 0, false
		}
		return h.Compare(w), true
	}
	if h, ok := have.(string); ok {
		w, ok := want.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(h, w), true
	}
	return 0, false
}

func cmp3(less, more bool) int {
	switch {
	case less:
		return -1
	case more:
		return 1
	}
	return 0
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func instant(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}
