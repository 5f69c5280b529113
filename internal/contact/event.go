package contact

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

// Custom events come from a CDP or an EHR ("appointment_missed",
// "portal_login") for segments and workflows to act on. The name and time
// are stored in clear, indexed per contact and per name, so "missed an
// appointment in the last 90 days" is a query, not a scan of sealed data;
// a name therefore says what happened, never to whom or with what detail.
// The properties (a small JSON object, which may be clinical) are sealed
// under the contact's key, so deleting the contact shreds them too.

// MaxEventProperties bounds an event's properties, encoded as JSON.
const MaxEventProperties = 4096

var eventName = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)

// Event is one custom event.
type Event struct {
	ID, ContactID, Name string
	At                  time.Time
	// Properties are nil when the event has none, or when the reader may
	// not see PHI (Masked set).
	Properties map[string]any
	Masked     bool
}

// RecordEvent stores an event for a contact. at is when it happened
// (default now; not in the future).
func (s *Service) RecordEvent(ctx context.Context, a Actor, contactID, name string, at time.Time, props map[string]any) (Event, error) {
	if err := a.require(access.ContactsWrite); err != nil {
		return Event{}, err
	}
	now := s.now()
	var errs message.FieldErrors
	if !eventName.MatchString(name) {
		errs = append(errs, &message.FieldError{Field: "name", Msg: "must be 1-64 of a-z, 0-9, _ and ., starting with a letter"})
	}
	if at.IsZero() {
		at = now
	}
	if at.After(now.Add(5*time.Minute)) || at.Before(time.Unix(0, 0)) {
		errs = append(errs, &message.FieldError{Field: "at", Msg: "must not be in the future"})
	}
	var plain []byte
	if len(props) > 0 {
		plain, _ = json.Marshal(props) // decoded from JSON: always encodes
		if len(plain) > MaxEventProperties {
			errs = append(errs, &message.FieldError{Field: "properties", Msg: "are at most 4096 bytes of JSON"})
		}
	}
	if len(errs) > 0 {
		return Event{}, errs
	}
	ev := Event{ID: id.New("cev"), ContactID: contactID, Name: name, At: store.FromMicros(store.Micros(at)), Properties: props}
	err := s.write(ctx, func(tx *store.Tx) error {
		wrapped, err := store.ContactKey(ctx, tx, a.orgID, contactID)
		if err != nil {
			return err
		}
		row := store.ContactEventRow{OrgID: a.orgID, ID: ev.ID, ContactID: contactID, Name: name, At: ev.At, CreatedAt: now}
		if plain != nil {
			aead, err := s.unwrapKey(ctx, tx, a.orgID, contactID, wrapped)
			if err != nil {
				return err
			}
			if row.Properties, err = sealWith(aead, propertiesAAD(a.orgID, ev.ID), plain); err != nil {
				return err
			}
		}
		if err := store.InsertContactEvents(ctx, tx, []store.ContactEventRow{row}); err != nil {
			return err
		}
		if err := s.notifyEvent(ctx, tx, a.orgID, contactID, name, ev.ID, ev.At); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, a, "contact.event.record", "contact", contactID,
			map[string]string{"event": ev.ID, "name": name}, nil)
	})
	if err != nil {
		return Event{}, err
	}
	return ev, nil
}

// EventQuery narrows Events.
type EventQuery struct {
	Name          string
	Since, Before time.Time
	Limit         int // at most 1000, default 100
}

// Events lists a contact's events, newest first. Properties are PHI:
// masked without phi:read, and a person reading them is audited.
func (s *Service) Events(ctx context.Context, a Actor, contactID string, q EventQuery) ([]Event, error) {
	if err := a.require(access.ContactsRead); err != nil {
		return nil, err
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	r := s.deps.DB.Reader()
	wrapped, err := store.ContactKey(ctx, r, a.orgID, contactID)
	if err != nil {
		return nil, err
	}
	rows, err := store.ListContactEvents(ctx, r, store.ContactEventQuery{OrgID: a.orgID, ContactID: contactID, Name: q.Name,
		Since: q.Since, Before: q.Before, Limit: q.Limit})
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(rows))
	shown := false
	for _, row := range rows {
		ev := Event{ID: row.ID, ContactID: row.ContactID, Name: row.Name, At: row.At}
		if row.Properties != nil {
			if !a.readsPHI() {
				ev.Masked = true
			} else if ev.Properties, err = s.openProperties(ctx, a.orgID, contactID, wrapped, row); err != nil {
				return nil, err
			} else {
				shown = true
			}
		}
		out = append(out, ev)
	}
	if shown {
		if err := s.auditRead(ctx, a, "events", []string{contactID}, []string{"event_properties"}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Service) openProperties(ctx context.Context, orgID, contactID string, wrapped []byte, row store.ContactEventRow) (map[string]any, error) {
	aead, err := s.unwrapKey(ctx, s.deps.DB.Reader(), orgID, contactID, wrapped)
	if err != nil {
		return nil, err
	}
	pt, err := openWith(aead, propertiesAAD(orgID, row.ID), row.Properties)
	if err != nil {
		return nil, err
	}
	var props map[string]any
	dec := json.NewDecoder(bytes.NewReader(pt))
	dec.UseNumber()
	if err := dec.Decode(&props); err != nil {
		return nil, errCorrupt
	}
	return props, nil
}

// EventCounts counts, per contact id, the organization's events named name
// in [since, until) (zero times leave that end open). It is the system's
// read for segments and workflows; it touches no sealed data.
func (s *Service) EventCounts(ctx context.Context, orgID, name string, since, until time.Time) (map[string]int, error) {
	return store.CountContactEvents(ctx, s.deps.DB.Reader(), orgID, name, since, until)
}
