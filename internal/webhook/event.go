package webhook

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Event types. Each names the schema of its data; adding a type is adding a
// constant here and to eventTypes.
const (
	// EventQueued: the message was accepted and is queued for a recipient.
	EventQueued = "message.queued"
	// EventDelivered: the recipient's server accepted the message.
	EventDelivered = "message.delivered"
	// EventDeferred: a temporary failure; delivery will be retried.
	EventDeferred = "message.deferred"
	// EventBounced: the recipient's server refused the message for good.
	EventBounced = "message.bounced"
	// EventFailed: carepost gave up (retries exhausted, policy refused).
	EventFailed = "message.failed"
	// EventHeld: the message is held (for review, or in the portal).
	EventHeld = "message.held"
	// EventOpened: the recipient proved who they are and the portal
	// showed them the message (the first time).
	EventOpened = "message.opened"
	// EventDownloaded: the recipient downloaded an attachment in the
	// portal.
	EventDownloaded = "message.downloaded"
	// EventReplied: the recipient replied from the portal; the reply is a
	// new message.
	EventReplied = "message.replied"
	// EventRevoked: the sender or an administrator revoked the portal
	// message; the portal refuses it from then on.
	EventRevoked = "message.revoked"
	// EventExpired: the portal message reached its expiry; the portal
	// refuses it from then on.
	EventExpired = "message.expired"
)

// Engagement event types (package tracking). An email open from the
// tracking pixel is EventOpened too, with "via": "pixel" and "machine"
// telling a person from a privacy proxy; clicks carry the link's index in
// the campaign's link table, never its URL.
const (
	// EventClicked: the recipient followed a tracked link.
	EventClicked = "message.clicked"
	// EventUnsubscribed: the recipient unsubscribed (one-click, the
	// unsubscribe page or the preference page).
	EventUnsubscribed = "message.unsubscribed"
	// EventComplained: the recipient reported the message as spam.
	EventComplained = "message.complained"
)

// Workflow event types (package workflow): a contact's journey, by ids
// only (workflow, version, run, contact, step) with the step's outcome.
const (
	// EventWorkflowEnrolled: a contact entered a workflow.
	EventWorkflowEnrolled = "workflow.enrolled"
	// EventWorkflowStep: a contact left a step (sent, waited, branched…).
	EventWorkflowStep = "workflow.step.completed"
	// EventWorkflowCompleted: a contact reached the end of a workflow.
	EventWorkflowCompleted = "workflow.completed"
	// EventWorkflowExited: a contact left a workflow early (no consent,
	// unsubscribed, suppressed, deleted).
	EventWorkflowExited = "workflow.exited"
)

var eventTypes = []string{EventQueued, EventDelivered, EventDeferred, EventBounced, EventFailed, EventHeld,
	EventOpened, EventDownloaded, EventReplied, EventRevoked, EventExpired,
	EventClicked, EventUnsubscribed, EventComplained,
	EventWorkflowEnrolled, EventWorkflowStep, EventWorkflowCompleted, EventWorkflowExited}

// EventTypes lists every event type an endpoint can subscribe to.
func EventTypes() []string { return slices.Clone(eventTypes) }

// MaxPayload bounds the request body of one event (the envelope with its
// data). The Standard Webhooks specification recommends staying under 20
// KiB; events carry ids, so they are far smaller.
const MaxPayload = 64 << 10

// Event is something that happened to an organization's message, as the
// producing package (delivery, portal, tracking) describes it.
//
// Data must be a JSON object of identifiers, states, counts, reason codes
// and timestamps: message and recipient ids, "state": "bounced", an SMTP
// status code. It must never hold PHI — no addresses, names, subjects,
// bodies, file names or remote server text — because it leaves carepost for
// a system that is not covered by its controls, is stored in clear in the
// delivery log, and is shown to anyone who may read webhook logs. Enqueue
// refuses data containing '@' as a guard against addresses slipping in; it
// is a guard against mistakes, not a PHI detector.
type Event struct {
	// ID identifies the event within its organization: 1 to 128 of
	// [A-Za-z0-9_-]. Enqueue ignores an id it has seen.
	ID string
	// Type is one of the Event* constants.
	Type string
	// Time is when it happened. Zero means now.
	Time time.Time
	// Data is the event's JSON object.
	Data json.RawMessage
}

var eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// envelope is the request body: the Standard Webhooks payload structure
// ("type", "timestamp", "data") with the event id alongside.
type envelope struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// payload validates ev and returns the minified body sent for it.
func (ev Event) payload(now time.Time) ([]byte, error) {
	if !eventIDPattern.MatchString(ev.ID) {
		return nil, invalid("event id must be 1 to 128 of [A-Za-z0-9_-]")
	}
	if !slices.Contains(eventTypes, ev.Type) {
		return nil, invalid("unknown event type")
	}
	if len(ev.Data) > MaxPayload {
		return nil, invalid("event data is larger than %d bytes", MaxPayload)
	}
	var data bytes.Buffer
	if err := json.Compact(&data, ev.Data); err != nil {
		return nil, invalid("event data is not valid JSON")
	}
	if data.Len() == 0 || data.Bytes()[0] != '{' {
		return nil, invalid("event data must be a JSON object")
	}
	if bytes.IndexByte(data.Bytes(), '@') >= 0 {
		// Not echoed: it may be an address.
		return nil, invalid("event data must not contain '@': events carry ids, never addresses")
	}
	at := ev.Time
	if at.IsZero() {
		at = now
	}
	body, err := json.Marshal(envelope{
		ID: ev.ID, Type: ev.Type, Timestamp: at.UTC().Format(time.RFC3339Nano), Data: data.Bytes(),
	})
	if err != nil {
		return nil, invalid("event data does not encode")
	}
	if len(body) > MaxPayload {
		return nil, invalid("event payload is larger than %d bytes", MaxPayload)
	}
	return body, nil
}

// normalizeTypes checks a subscription list and returns it sorted without
// duplicates; nil or empty means every type.
func normalizeTypes(types []string) ([]string, error) {
	out := make([]string, 0, len(types))
	for _, t := range types {
		if !slices.Contains(eventTypes, t) {
			return nil, invalid("unknown event type in subscription (known: %s)", strings.Join(eventTypes, ", "))
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func joinTypes(types []string) string { return strings.Join(types, " ") }

func splitTypes(s string) []string { return strings.Fields(s) }

// subscribed reports whether an endpoint with this subscription list wants
// events of type t.
func subscribed(types []string, t string) bool {
	return len(types) == 0 || slices.Contains(types, t)
}
