package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Definition is a workflow as the API and the console write it: one JSON
// document, validated on save (Validate) and stored as an immutable
// version. docs/WORKFLOWS.md describes every field with an example.
type Definition struct {
	Name   string `json:"name"`
	Sender Sender `json:"sender"`
	// ReplyTo is the Reply-To address ("" none).
	ReplyTo string `json:"reply_to,omitempty"`
	// Priority orders due contacts of different workflows: 0 (lowest) to 9;
	// the engine claims higher priorities first.
	Priority int `json:"priority"`
	// RequireConsent, when true (the default), sends only to contacts with
	// a valid marketing authorization (HIPAA 164.508(a)(3)); a contact
	// without one leaves the workflow at the send step. Set it false only
	// for mail that is not marketing (appointment reminders, care
	// instructions).
	RequireConsent *bool   `json:"require_consent,omitempty"`
	Trigger        Trigger `json:"trigger"`
	Steps          []Step  `json:"steps"`
}

// Sender is the From of every message the workflow sends.
type Sender struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// ConsentRequired reports the effective RequireConsent.
func (d *Definition) ConsentRequired() bool { return d.RequireConsent == nil || *d.RequireConsent }

// Trigger types.
const (
	TriggerList      = "list"       // every subscribed member of a list when the workflow is activated
	TriggerSegment   = "segment"    // every member of a segment when the workflow is activated
	TriggerListJoin  = "list_join"  // a contact joining a list
	TriggerSegmentIn = "segment_in" // a contact entering a segment
	TriggerForm      = "form"       // a form submission
	TriggerEvent     = "event"      // a custom event posted through the API
	TriggerDate      = "date"       // a date field reaching a yearly milestone
	TriggerManual    = "manual"     // enrolment of one contact by API only
)

// Trigger says how contacts enter. Every workflow also accepts manual
// enrolment by API.
type Trigger struct {
	Type      string `json:"type"`
	ListID    string `json:"list_id,omitempty"`
	SegmentID string `json:"segment_id,omitempty"`
	FormID    string `json:"form_id,omitempty"`
	Event     string `json:"event,omitempty"`
	// Field is the contact date field of a date trigger; the milestone is
	// its anniversary (every year) moved by OffsetDays, reached at At
	// (HH:MM, default 09:00) in the contact's timezone.
	Field      string `json:"field,omitempty"`
	OffsetDays int    `json:"offset_days,omitempty"`
	At         string `json:"at,omitempty"`
}

// Step types.
const (
	StepSend      = "send"
	StepWait      = "wait"
	StepWaitEvent = "wait_event"
	StepBranch    = "branch"
	StepGoto      = "goto"
	StepSegment   = "add_to_segment"
	StepEnd       = "end"
)

// Step is one node of the workflow. ID is stable across versions (the
// engine, the reports and contacts in flight refer to steps by id). Next
// is the step that follows (default: the next one in the list; after the
// last, the workflow ends). Only the members of the step's type are read.
type Step struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Next string `json:"next,omitempty"`

	// send
	TemplateID      string `json:"template_id,omitempty"`
	TemplateVersion int    `json:"template_version,omitempty"`
	// Track adds the open pixel and click redirects (when the recipient's
	// delivery method allows tracking); default true.
	Track *bool `json:"track,omitempty"`

	// wait: any combination; see Wait.
	Wait

	// wait_event
	Event       *EventSpec `json:"event,omitempty"`
	Timeout     Duration   `json:"timeout,omitempty"`
	TimeoutNext string     `json:"timeout_next,omitempty"`

	// branch
	Branches []Branch `json:"branches,omitempty"`
	Fallback string   `json:"fallback,omitempty"`

	// goto: Target (a step of this workflow) or WorkflowID (another one).
	Target     string `json:"target,omitempty"`
	WorkflowID string `json:"workflow_id,omitempty"`

	// add_to_segment
	SegmentID string `json:"segment_id,omitempty"`
}

// Tracked reports the effective Track.
func (s *Step) Tracked() bool { return s.Track == nil || *s.Track }

// Wait is a wait-for-time step: the contact waits Duration from arriving,
// then until Until, then until RelativeTo's time, then for the next
// moment inside Window — each part optional, at least one given. A later
// part never moves the time earlier.
type Wait struct {
	Duration   Duration  `json:"duration,omitempty"`
	Until      time.Time `json:"until,omitzero"`
	RelativeTo *Relative `json:"relative_to,omitempty"`
	Window     *Window   `json:"window,omitempty"`
}

func (w Wait) empty() bool {
	return w.Duration == 0 && w.Until.IsZero() && w.RelativeTo == nil && w.Window == nil
}

// Relative is a time relative to a contact date field: "2 days before
// appointment_at" is {"field": "appointment_at", "offset": "-48h"}. A
// contact without the field does not wait for this part.
type Relative struct {
	Field  string   `json:"field"`
	Offset Duration `json:"offset"`
}

// Window is a recurring time range in a timezone: on the given days of
// the week and/or of the month (both: a day must match both), from From to
// To (HH:MM, To after From; To "24:00" is midnight at the end of the day).
// Timezone is an IANA name, or "contact" for the contact's own (UTC when
// the contact has none).
type Window struct {
	Days      []string `json:"days,omitempty"`
	MonthDays []int    `json:"month_days,omitempty"`
	From      string   `json:"from"`
	To        string   `json:"to"`
	Timezone  string   `json:"timezone"`
}

// Event kinds a wait_event step waits for.
const (
	EventOpen   = "open"   // an open of Step's email
	EventClick  = "click"  // a click in Step's email
	EventCustom = "custom" // a custom event named Name (POST /contacts/{id}/events)
	EventForm   = "form"   // a submission of form FormID
	EventFilter = "filter" // Filter becoming true for the contact
)

// EventSpec is what a wait_event step waits for.
type EventSpec struct {
	Type   string     `json:"type"`
	Step   string     `json:"step,omitempty"`
	Name   string     `json:"name,omitempty"`
	FormID string     `json:"form_id,omitempty"`
	Filter *Condition `json:"filter,omitempty"`
	// Recheck is how often a filter is evaluated again while nothing
	// about the contact happens (default 1h; events re-check at once).
	Recheck Duration `json:"recheck,omitempty"`
}

// Branch is one ordered condition of a branch step.
type Branch struct {
	If   Condition `json:"if"`
	Next string    `json:"next"`
}

// Condition is a test on a contact: exactly one of its forms. All, Any
// and Not combine conditions.
type Condition struct {
	All []Condition `json:"all,omitempty"`
	Any []Condition `json:"any,omitempty"`
	Not *Condition  `json:"not,omitempty"`

	// A contact field: {"field": "age", "op": "ge", "value": 40}.
	Field string `json:"field,omitempty"`
	Op    string `json:"op,omitempty"`
	Value any    `json:"value,omitempty"`

	// Segment membership: {"segment": "seg_…"}.
	Segment string `json:"segment,omitempty"`

	// Engagement with an earlier step's email: {"engaged": {"step":
	// "welcome", "kind": "click"}} (kind open or click; open also counts
	// a click).
	Engaged *Engaged `json:"engaged,omitempty"`

	// Event data: the contact's events named Name within Within (0: ever),
	// at least MinCount (default 1); with Property, the newest such
	// event's property compared by Op with Value.
	Event *EventCondition `json:"event,omitempty"`
}

// Engaged tests engagement with a send step's email.
type Engaged struct {
	Step string `json:"step"`
	Kind string `json:"kind"`
}

// EventCondition tests a contact's custom events.
type EventCondition struct {
	Name     string   `json:"name"`
	Within   Duration `json:"within,omitempty"`
	MinCount int      `json:"min_count,omitempty"`
	Property string   `json:"property,omitempty"`
	Op       string   `json:"op,omitempty"`
	Value    any      `json:"value,omitempty"`
}

// Duration is a time.Duration written as Go's duration text ("48h",
// "90m") or with days ("7d", "1d12h") in JSON.
type Duration time.Duration

// D is d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "48h", "7d", "-2d" or "1d6h".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"48h\" or \"7d\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration reads Go's duration syntax with an optional leading days
// part ("7d", "1d12h", "-2d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	var days time.Duration
	if i := strings.IndexByte(body, 'd'); i > 0 {
		var n int
		if _, err := fmt.Sscanf(body[:i], "%d", &n); err != nil || fmt.Sprint(n) != body[:i] || n > 36600 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		days, body = time.Duration(n)*24*time.Hour, body[i+1:]
	}
	var rest time.Duration
	if body != "" {
		var err error
		if rest, err = time.ParseDuration(body); err != nil || rest < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
	} else if days == 0 {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	if neg {
		return -(days + rest), nil
	}
	return days + rest, nil
}

// ParseDefinition decodes a definition strictly: an unknown member is an
// error naming it.
func ParseDefinition(data []byte) (*Definition, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("definition: %w", err)
	}
	return &d, nil
}

// Encode writes the definition as stored.
func (d *Definition) Encode() []byte {
	b, _ := json.Marshal(d) // plain data: cannot fail
	return b
}

// step returns the step with id, or nil.
func (d *Definition) step(id string) *Step {
	for i := range d.Steps {
		if d.Steps[i].ID == id {
			return &d.Steps[i]
		}
	}
	return nil
}

// next is the step after s by default: s.Next, else the following step in
// the list, else "" (the end).
func (d *Definition) next(s *Step) string {
	if s.Next != "" {
		return s.Next
	}
	for i := range d.Steps {
		if d.Steps[i].ID == s.ID && i+1 < len(d.Steps) {
			return d.Steps[i+1].ID
		}
	}
	return ""
}
