package campaign

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// State is where a campaign is in its life.
type State string

// Campaign states. Draft is the only state in which a campaign can be
// edited or deleted; Completed and Cancelled are final.
const (
	Draft     State = "draft"     // being written; nothing scheduled
	Scheduled State = "scheduled" // waits for its send time
	Sending   State = "sending"   // preparing its audience and sending batches
	Paused    State = "paused"    // stopped by a person; resume continues where it stopped
	Completed State = "completed" // every targeted contact was sent to or skipped
	Cancelled State = "cancelled" // stopped for good; contacts not yet sent to never will be
)

// transitions are the moves a person can make, by action. The engine's
// own moves (scheduled → sending at the send time, sending → completed
// when the last batch is done) are not actions.
var transitions = map[string][]State{
	"schedule": {Draft, Scheduled},
	"send":     {Draft, Scheduled},
	"pause":    {Scheduled, Sending},
	"resume":   {Paused},
	"cancel":   {Scheduled, Sending, Paused},
	"update":   {Draft},
	"delete":   {Draft},
}

// StateError means an action is not allowed in the campaign's state.
type StateError struct {
	Action string
	State  State
}

func (e *StateError) Error() string {
	allowed := transitions[e.Action]
	names := make([]string, len(allowed))
	for i, s := range allowed {
		names[i] = string(s)
	}
	return fmt.Sprintf("a campaign that is %s cannot be %s (only when %v)", e.State, pastTense(e.Action), names)
}

func pastTense(action string) string {
	switch action {
	case "send":
		return "sent"
	case "update":
		return "edited"
	case "resume":
		return "resumed"
	case "pause":
		return "paused"
	}
	return action + "d"
}

func allowed(action string, s State) error {
	if slices.Contains(transitions[action], s) {
		return nil
	}
	return &StateError{Action: action, State: s}
}

// Security is how a campaign's messages are protected.
type Security string

// Security modes.
const (
	// SecurityAuto is the organization's policy, as for any message:
	// verified TLS, end-to-end encryption, or the secure portal.
	SecurityAuto Security = "auto"
	// SecurityTLSOnly is "TLS only, else drop": verified TLS or nothing.
	// A recipient the policy would send to the portal (or by e2e) is
	// dropped with a reason instead: marketing that must never arrive as
	// a portal notification.
	SecurityTLSOnly Security = "tls_only"
)

// Audience is who a campaign goes to: the subscribed members of its lists
// and the members of its segments, each contact once.
type Audience struct {
	Lists    []string `json:"lists"`
	Segments []string `json:"segments"`
}

// source is one audience source in prepare order: lists first, then
// segments, each in the order given.
type source struct {
	kind string // "list" or "segment"
	id   string
}

func (a Audience) sources() []source {
	out := make([]source, 0, len(a.Lists)+len(a.Segments))
	for _, l := range a.Lists {
		out = append(out, source{"list", l})
	}
	for _, s := range a.Segments {
		out = append(out, source{"segment", s})
	}
	return out
}

// Sender is a campaign's From and Reply-To.
type Sender struct {
	Email   string
	Name    string
	ReplyTo string
}

// Campaign is one campaign with its progress.
type Campaign struct {
	ID    string
	Name  string
	State State
	// StateReason says why the engine paused a campaign on its own (the
	// sender domain stopped being verified), "" otherwise.
	StateReason     string
	From            Sender
	TemplateID      string
	TemplateVersion int
	Audience        Audience
	// SendAt is the scheduled instant and Timezone the zone it was chosen
	// in (zero and "" when not scheduled).
	SendAt   time.Time
	Timezone string
	// Throttle is at most this many messages per minute (0: no limit).
	Throttle int
	Security Security
	// UsesPHI campaigns go only to contacts with a valid marketing
	// authorization (HIPAA 164.508(a)(3)).
	UsesPHI bool
	// Targeted is how many contacts the prepared part of the audience
	// holds; Prepared is true once all of it is; Batches and BatchesDone
	// count the batches written and finished.
	Targeted    int64
	Prepared    bool
	Batches     int
	BatchesDone int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
}

func fromRow(r store.CampaignRow) Campaign {
	c := Campaign{ID: r.ID, Name: r.Name, State: State(r.State), StateReason: r.StateReason,
		From:       Sender{Email: r.FromEmail, Name: r.FromName, ReplyTo: r.ReplyTo},
		TemplateID: r.TemplateID, TemplateVersion: r.TemplateVersion, SendAt: r.SendAt, Timezone: r.Timezone,
		Throttle: r.Throttle, Security: Security(r.Security), UsesPHI: r.UsesPHI, Targeted: r.Targeted, Prepared: r.Prepared,
		Batches: r.Batches, BatchesDone: r.BatchesDone, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
	_ = decodeAudience(r.Audience, &c.Audience) // written by encodeAudience only
	if c.Audience.Lists == nil {
		c.Audience.Lists = []string{}
	}
	if c.Audience.Segments == nil {
		c.Audience.Segments = []string{}
	}
	return c
}

func encodeAudience(a Audience) string {
	if a.Lists == nil {
		a.Lists = []string{}
	}
	if a.Segments == nil {
		a.Segments = []string{}
	}
	b, _ := json.Marshal(a) // strings only: cannot fail
	return string(b)
}

func decodeAudience(s string, a *Audience) error {
	if err := json.Unmarshal([]byte(s), a); err != nil {
		return fmt.Errorf("campaign audience: %w", err)
	}
	return nil
}
