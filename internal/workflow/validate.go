package workflow

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

// Lookup answers the questions validation asks about an organization's
// other resources. The service implements it over templates, contact
// fields, lists, segments and workflows.
type Lookup interface {
	// Template resolves a template version (0: the current one) and lints
	// it against the organization's fields; problems are the PHI lint's
	// findings. store.ErrNotFound when the organization has no such
	// template or version.
	Template(ctx context.Context, orgID, templateID string, version int) (resolved int, problems []string, err error)
	// FieldType is a contact field's type ("text", "number", "date",
	// "boolean", "list"); ok false when the field does not exist.
	FieldType(ctx context.Context, orgID, key string) (typ string, ok bool, err error)
	List(ctx context.Context, orgID, listID string) (bool, error)
	Segment(ctx context.Context, orgID, segmentID string) (bool, error)
	Workflow(ctx context.Context, orgID, workflowID string) (bool, error)
}

var (
	stepIDPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	eventNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)
	resourceID       = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	clockPattern     = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$`)
)

// MaxSteps bounds a workflow.
const MaxSteps = 200

// validator collects problems; each names the step by index and id.
type validator struct {
	ctx    context.Context
	orgID  string
	selfID string
	look   Lookup
	d      *Definition
	errs   message.FieldErrors
	fatal  error
}

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &message.FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) addStep(i int, member, format string, args ...any) {
	field := fmt.Sprintf("steps[%d]", i)
	if member != "" {
		field += "." + member
	}
	msg := fmt.Sprintf(format, args...)
	if id := v.d.Steps[i].ID; id != "" {
		msg = fmt.Sprintf("step %q: %s", id, msg)
	}
	v.errs = append(v.errs, &message.FieldError{Field: field, Msg: msg})
}

// ask runs a lookup; a failure other than "not found" stops validation.
func (v *validator) ask(fn func() (bool, error)) bool {
	if v.fatal != nil {
		return true
	}
	ok, err := fn()
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		v.fatal = err
		return true
	}
	return ok && err == nil
}

// Validate checks d for orgID. selfID is the workflow's own id ("" when it
// is being created). It resolves template versions 0 to the current one
// in place, so the stored version names what will be sent. A bad
// definition is message.FieldErrors, each naming the step; an error from a
// lookup is returned as is.
func Validate(ctx context.Context, look Lookup, orgID, selfID string, d *Definition) error {
	v := &validator{ctx: ctx, orgID: orgID, selfID: selfID, look: look, d: d}
	v.header()
	v.trigger()
	v.steps()
	if v.fatal != nil {
		return v.fatal
	}
	if len(v.errs) > 0 {
		return v.errs
	}
	return nil
}

func oneLine(s string, max int) bool {
	return len(s) <= max && !strings.ContainsFunc(s, unicode.IsControl)
}

func (v *validator) header() {
	d := v.d
	d.Name = strings.TrimSpace(d.Name)
	if d.Name == "" || !oneLine(d.Name, 200) {
		v.add("name", "is required: 1 to 200 characters on one line")
	}
	if !oneLine(d.Sender.Name, 200) {
		v.add("sender.name", "is at most 200 characters on one line")
	}
	if _, err := message.NormalizeAddress(message.Address{Email: d.Sender.Address}); err != nil {
		v.add("sender.address", "must be an email address of a verified sending domain")
	}
	if d.ReplyTo != "" {
		if _, err := message.NormalizeAddress(message.Address{Email: d.ReplyTo}); err != nil {
			v.add("reply_to", "must be an email address")
		}
	}
	if d.Priority < 0 || d.Priority > 9 {
		v.add("priority", "must be 0 (lowest) to 9")
	}
}

func (v *validator) trigger() {
	t := &v.d.Trigger
	need := func(member, val string, exists func() (bool, error)) {
		switch {
		case !resourceID.MatchString(val):
			v.add("trigger."+member, "is required for a %s trigger", t.Type)
		case !v.ask(exists):
			v.add("trigger."+member, "names no %s of your organization", strings.TrimSuffix(member, "_id"))
		}
	}
	switch t.Type {
	case TriggerList, TriggerListJoin:
		need("list_id", t.ListID, func() (bool, error) { return v.look.List(v.ctx, v.orgID, t.ListID) })
	case TriggerSegment, TriggerSegmentIn:
		need("segment_id", t.SegmentID, func() (bool, error) { return v.look.Segment(v.ctx, v.orgID, t.SegmentID) })
	case TriggerForm:
		if !resourceID.MatchString(t.FormID) {
			v.add("trigger.form_id", "is required for a form trigger")
		}
	case TriggerEvent:
		if !eventNamePattern.MatchString(t.Event) {
			v.add("trigger.event", "is required: an event name (1-64 of a-z, 0-9, _ and ., starting with a letter)")
		}
	case TriggerDate:
		v.dateField("trigger.field", t.Field)
		if t.At != "" && (!clockPattern.MatchString(t.At) || t.At == "24:00") {
			v.add("trigger.at", "must be a time of day HH:MM")
		}
		if t.OffsetDays < -366 || t.OffsetDays > 366 {
			v.add("trigger.offset_days", "must be -366 to 366")
		}
	case TriggerManual:
	default:
		v.add("trigger.type", "must be one of list, segment, list_join, segment_in, form, event, date, manual")
	}
}

func (v *validator) dateField(field, key string) {
	if key == "" {
		v.add(field, "is required: a contact date field")
		return
	}
	var typ string
	found := v.ask(func() (bool, error) {
		t, ok, err := v.look.FieldType(v.ctx, v.orgID, key)
		typ = t
		return ok, err
	})
	if !found {
		v.add(field, "names no contact field of your organization")
	} else if typ != "date" && v.fatal == nil {
		v.add(field, "must name a date field")
	}
}

func (v *validator) steps() {
	d := v.d
	if len(d.Steps) == 0 || len(d.Steps) > MaxSteps {
		v.add("steps", "give 1 to %d steps", MaxSteps)
		return
	}
	ids := map[string]int{}
	for i, s := range d.Steps {
		if !stepIDPattern.MatchString(s.ID) {
			v.addStep(i, "id", "a step id is 1-64 of a-z, 0-9, _ and -, starting with a letter or digit")
			continue
		}
		if _, dup := ids[s.ID]; dup {
			v.addStep(i, "id", "the id is used by another step")
			continue
		}
		ids[s.ID] = i
	}
	for i := range d.Steps {
		v.step(i, ids)
	}
	if len(v.errs) == 0 {
		v.reachable(ids)
	}
}

// target checks that a reference names a step.
func (v *validator) target(i int, member, to string, ids map[string]int) {
	if _, ok := ids[to]; !ok {
		if stepIDPattern.MatchString(to) {
			v.addStep(i, member, "unknown target %q: no step has that id", to)
		} else {
			v.addStep(i, member, "unknown target: no step has that id")
		}
	}
}

func (v *validator) step(i int, ids map[string]int) {
	s := &v.d.Steps[i]
	if s.Next != "" {
		if s.Type == StepBranch || s.Type == StepGoto || s.Type == StepEnd {
			v.addStep(i, "next", "a %s step takes no next", s.Type)
		} else {
			v.target(i, "next", s.Next, ids)
		}
	}
	switch s.Type {
	case StepSend:
		v.send(i, s)
	case StepWait:
		v.wait(i, s)
	case StepWaitEvent:
		v.waitEvent(i, s, ids)
	case StepBranch:
		if len(s.Branches) == 0 {
			v.addStep(i, "branches", "a branch needs at least one condition")
		}
		for j := range s.Branches {
			v.condition(i, fmt.Sprintf("branches[%d].if", j), &s.Branches[j].If, ids, 0)
			v.target(i, fmt.Sprintf("branches[%d].next", j), s.Branches[j].Next, ids)
		}
		if s.Fallback == "" {
			v.addStep(i, "fallback", "a branch needs a fallback: the step for contacts no condition matches")
		} else {
			v.target(i, "fallback", s.Fallback, ids)
		}
	case StepGoto:
		switch {
		case (s.Target == "") == (s.WorkflowID == ""):
			v.addStep(i, "target", "a go to names either target (a step) or workflow_id (another workflow)")
		case s.Target != "":
			v.target(i, "target", s.Target, ids)
		case s.WorkflowID == v.selfID:
			v.addStep(i, "workflow_id", "use target to go to a step of this workflow")
		case !resourceID.MatchString(s.WorkflowID) || !v.ask(func() (bool, error) { return v.look.Workflow(v.ctx, v.orgID, s.WorkflowID) }):
			v.addStep(i, "workflow_id", "names no workflow of your organization")
		}
	case StepSegment:
		if !resourceID.MatchString(s.SegmentID) || !v.ask(func() (bool, error) { return v.look.Segment(v.ctx, v.orgID, s.SegmentID) }) {
			v.addStep(i, "segment_id", "names no segment of your organization")
		}
	case StepEnd:
	default:
		v.addStep(i, "type", "must be one of send, wait, wait_event, branch, goto, add_to_segment, end")
	}
}

func (v *validator) send(i int, s *Step) {
	if !resourceID.MatchString(s.TemplateID) {
		v.addStep(i, "template_id", "is required: the template to send")
		return
	}
	if s.TemplateVersion < 0 {
		v.addStep(i, "template_version", "must be 0 (the current version) or a version number")
		return
	}
	var problems []string
	found := v.ask(func() (bool, error) {
		ver, p, err := v.look.Template(v.ctx, v.orgID, s.TemplateID, s.TemplateVersion)
		if err == nil {
			s.TemplateVersion, problems = ver, p
		}
		return err == nil, err
	})
	switch {
	case !found:
		v.addStep(i, "template_id", "names no template (or version) of your organization")
	case len(problems) > 0:
		v.addStep(i, "template_id", "the template fails the PHI lint: %s", strings.Join(problems, "; "))
	}
}

func (v *validator) wait(i int, s *Step) {
	w := s.Wait
	if w.empty() {
		v.addStep(i, "", "a wait needs duration, until, relative_to or window")
	}
	if w.Duration < 0 || w.Duration.D() > 5*366*24*time.Hour {
		v.addStep(i, "duration", "must be 0 to 5 years")
	}
	if w.RelativeTo != nil {
		v.dateField(fmt.Sprintf("steps[%d].relative_to.field", i), w.RelativeTo.Field)
	}
	if w.Window != nil {
		if msg := w.Window.check(); msg != "" {
			v.addStep(i, "window", "%s", msg)
		}
	}
}

func (v *validator) waitEvent(i int, s *Step, ids map[string]int) {
	e := s.Event
	if e == nil {
		v.addStep(i, "event", "is required: what the contact waits for")
		return
	}
	switch e.Type {
	case EventOpen, EventClick:
		j, ok := ids[e.Step]
		if !ok || v.d.Steps[j].Type != StepSend {
			v.addStep(i, "event.step", "must name a send step whose email is opened or clicked")
		}
	case EventCustom:
		if !eventNamePattern.MatchString(e.Name) {
			v.addStep(i, "event.name", "is required: the custom event name")
		}
	case EventForm:
		if !resourceID.MatchString(e.FormID) {
			v.addStep(i, "event.form_id", "is required: the form")
		}
	case EventFilter:
		if e.Filter == nil {
			v.addStep(i, "event.filter", "is required: the condition to wait for")
		} else {
			v.condition(i, "event.filter", e.Filter, ids, 0)
		}
		if e.Recheck != 0 && e.Recheck.D() < time.Minute {
			v.addStep(i, "event.recheck", "must be at least 1m")
		}
	default:
		v.addStep(i, "event.type", "must be open, click, custom, form or filter")
	}
	switch {
	case s.Timeout < 0:
		v.addStep(i, "timeout", "must not be negative")
	case s.Timeout > 0 && s.TimeoutNext == "":
		v.addStep(i, "timeout_next", "a timeout needs timeout_next: the step for contacts whose wait times out")
	case s.Timeout == 0 && s.TimeoutNext != "":
		v.addStep(i, "timeout", "timeout_next needs a timeout")
	case s.TimeoutNext != "":
		v.target(i, "timeout_next", s.TimeoutNext, ids)
	}
}

var ops = map[string]bool{"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true, "contains": true, "in": true, "exists": true}

func (v *validator) condition(i int, at string, c *Condition, ids map[string]int, depth int) {
	if depth > 8 {
		v.addStep(i, at, "conditions nest at most 8 deep")
		return
	}
	forms := 0
	for _, set := range []bool{len(c.All) > 0, len(c.Any) > 0, c.Not != nil, c.Field != "", c.Segment != "", c.Engaged != nil, c.Event != nil} {
		if set {
			forms++
		}
	}
	if forms != 1 {
		v.addStep(i, at, "a condition is exactly one of all, any, not, field, segment, engaged, event")
		return
	}
	switch {
	case len(c.All) > 0 || len(c.Any) > 0:
		list, name := c.All, "all"
		if len(c.Any) > 0 {
			list, name = c.Any, "any"
		}
		for j := range list {
			v.condition(i, fmt.Sprintf("%s.%s[%d]", at, name, j), &list[j], ids, depth+1)
		}
	case c.Not != nil:
		v.condition(i, at+".not", c.Not, ids, depth+1)
	case c.Field != "":
		if !builtinField(c.Field) && !v.ask(func() (bool, error) {
			_, ok, err := v.look.FieldType(v.ctx, v.orgID, c.Field)
			return ok, err
		}) {
			v.addStep(i, at+".field", "names no contact field of your organization")
		}
		v.op(i, at, c.Op, c.Value)
	case c.Segment != "":
		if !resourceID.MatchString(c.Segment) || !v.ask(func() (bool, error) { return v.look.Segment(v.ctx, v.orgID, c.Segment) }) {
			v.addStep(i, at+".segment", "names no segment of your organization")
		}
	case c.Engaged != nil:
		j, ok := ids[c.Engaged.Step]
		if !ok || v.d.Steps[j].Type != StepSend {
			v.addStep(i, at+".engaged.step", "must name a send step")
		}
		if c.Engaged.Kind != EventOpen && c.Engaged.Kind != EventClick {
			v.addStep(i, at+".engaged.kind", "must be open or click")
		}
	case c.Event != nil:
		if !eventNamePattern.MatchString(c.Event.Name) {
			v.addStep(i, at+".event.name", "is required: the custom event name")
		}
		if c.Event.Within < 0 || c.Event.MinCount < 0 {
			v.addStep(i, at+".event", "within and min_count must not be negative")
		}
		if c.Event.Property != "" {
			v.op(i, at+".event", c.Event.Op, c.Event.Value)
		}
	}
}

func (v *validator) op(i int, at, op string, val any) {
	if !ops[op] {
		v.addStep(i, at+".op", "must be eq, ne, gt, ge, lt, le, contains, in or exists")
		return
	}
	if op != "exists" && val == nil {
		v.addStep(i, at+".value", "is required for %s", op)
	}
	if op == "in" {
		if _, ok := val.([]any); !ok {
			v.addStep(i, at+".value", "must be a list for in")
		}
	}
}

// builtinField: the contact's own fields conditions may test.
func builtinField(key string) bool {
	switch key {
	case "email", "phone", "first_name", "last_name", "timezone", "locale", "status":
		return true
	}
	return false
}

// edges lists the steps s can lead to.
func (d *Definition) edges(s *Step) []string {
	var out []string
	switch s.Type {
	case StepBranch:
		for _, b := range s.Branches {
			out = append(out, b.Next)
		}
		out = append(out, s.Fallback)
	case StepGoto:
		if s.Target != "" {
			out = append(out, s.Target)
		}
	case StepEnd:
	default:
		if n := d.next(s); n != "" {
			out = append(out, n)
		}
		if s.TimeoutNext != "" {
			out = append(out, s.TimeoutNext)
		}
	}
	return out
}

// reachable reports every step no path from the first step reaches.
func (v *validator) reachable(ids map[string]int) {
	d := v.d
	seen := map[string]bool{d.Steps[0].ID: true}
	queue := []string{d.Steps[0].ID}
	for len(queue) > 0 {
		s := d.step(queue[0])
		queue = queue[1:]
		for _, n := range d.edges(s) {
			if !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	for i, s := range d.Steps {
		if !seen[s.ID] {
			v.addStep(i, "", "unreachable: no path from the first step leads here")
		}
	}
	_ = ids
}
