// Package event records what happens to messages — queued, delivered,
// deferred, bounced, failed, held, and later opened, clicked and portal
// events — once, in the transaction of the state change, and fans each one
// out to the organization's webhooks in that same transaction. The events
// table is the history behind GET /api/v1/events (a cursor over
// time-ordered ids) and the recipient's delivery record.
//
// Event data is ids, states, codes and timestamps. It never carries PHI: no
// addresses, subjects, names or remote server text (webhook payloads leave
// carepost's controls; see package webhook).
package event

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webhook"
)

// Event is one occurrence.
type Event struct {
	OrgID       string
	Type        string // a webhook.Event* constant
	MessageID   string
	RecipientID string
	// Data adds fields (state, code, level); message_id and recipient_id
	// are added by Record.
	Data map[string]any
}

// Stored is a recorded event.
type Stored struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	MessageID   string          `json:"message_id,omitempty"`
	RecipientID string          `json:"recipient_id,omitempty"`
	At          time.Time       `json:"at"`
	Data        json.RawMessage `json:"data"`
}

// Recorder writes events and their webhook deliveries.
type Recorder struct {
	webhooks  *webhook.Service
	clock     func() time.Time
	observers []Observer // observe.go
}

// New returns a Recorder; webhooks may be nil (no fan-out).
func New(webhooks *webhook.Service, clock func() time.Time) *Recorder {
	if clock == nil {
		clock = time.Now
	}
	return &Recorder{webhooks: webhooks, clock: clock}
}

// Record writes evs inside tx.
func (r *Recorder) Record(ctx context.Context, tx *store.Tx, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	now := r.clock()
	rows := make([]store.EventRow, 0, len(evs))
	hooks := map[string][]webhook.Event{} // org → its events, fanned out once per organization
	for _, ev := range evs {
		data := map[string]any{}
		for k, v := range ev.Data {
			data[k] = v
		}
		if ev.MessageID != "" {
			data["message_id"] = ev.MessageID
		}
		if ev.RecipientID != "" {
			data["recipient_id"] = ev.RecipientID
		}
		body, err := encodeData(data)
		if err != nil {
			return fmt.Errorf("encode %s event: %w", ev.Type, err)
		}
		row := store.EventRow{ID: id.NewAt("evt", now), OrgID: ev.OrgID, Type: ev.Type, MessageID: ev.MessageID,
			RecipientID: ev.RecipientID, At: now, Data: string(body)}
		rows = append(rows, row)
		if r.webhooks != nil {
			hooks[ev.OrgID] = append(hooks[ev.OrgID], webhook.Event{ID: row.ID, Type: ev.Type, Time: now, Data: body})
		}
	}
	for org, list := range hooks {
		if err := r.webhooks.EnqueueMany(ctx, tx, org, list); err != nil {
			return fmt.Errorf("webhooks for events: %w", err)
		}
	}
	if err := store.InsertEvents(ctx, tx, rows); err != nil {
		return err
	}
	return r.notify(ctx, tx, evs)
}

// After lists an organization's events after the cursor (a cursor After
// returned, an event id, or "" for the oldest), in commit order, up to
// limit, optionally for one message. It returns the cursor to poll with
// next (the position of the last event returned, or the given cursor when
// nothing is new) and whether more events are already waiting. Commit
// order means a poller never skips an event that committed late
// (store.EventsAfter); store.ErrBadCursor refuses a cursor it cannot place.
func (r *Recorder) After(ctx context.Context, q store.Querier, orgID, cursor, messageID string, limit int) (evs []Stored, next string, more bool, err error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := store.EventsAfter(ctx, q, orgID, cursor, messageID, limit+1)
	if err != nil {
		return nil, "", false, err
	}
	if len(rows) > limit {
		rows, more = rows[:limit], true
	}
	next = cursor
	if len(rows) > 0 {
		next = rows[len(rows)-1].Pos
	}
	out := make([]Stored, 0, len(rows))
	for _, row := range rows {
		out = append(out, Stored{ID: row.ID, Type: row.Type, MessageID: row.MessageID, RecipientID: row.RecipientID, At: row.At, Data: json.RawMessage(row.Data)})
	}
	return out, next, more, nil
}
