package delivery

import (
	"strconv"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webhook"
)

// write is everything one verdict changes.
type write struct {
	res      result
	out      store.RecipientOutcome
	event    string // webhook event type; "" for none
	audit    *audit.Entry
	suppress bool
	by       string // authorized_by, for events and metrics
	// handoff: the recipient goes to the portal (Portal.Handoff in the
	// outcome transaction; until then it is written held).
	handoff bool
}

// deliveryActor is who acts in delivery's audit entries.
var deliveryActor = audit.Actor{Type: audit.ActorSystem, ID: "delivery"}

// outcome turns a verdict into the recipient's new state (RFC 5321 section
// 4.5.4.1: retry temporary failures with growing delays until the message's
// lifetime ends, then give up).
func (s *Service) outcome(res result, lease, now time.Time) write {
	row, v := res.r.row, res.v
	w := write{res: res, by: byNone}
	o := store.RecipientOutcome{ID: row.ID, Lease: lease, Attempts: row.Attempts, UpdatedAt: now, NextAttemptAt: now,
		LastCode: v.code, LastEnhanced: v.enhanced, LastReason: v.reason, Receipt: row.Receipt}
	if v.receipt != nil {
		v.receipt.Level, v.receipt.Rule = row.Level, row.Rule
		if v.receipt.At.IsZero() {
			v.receipt.At = now.UTC()
		}
		w.by = v.receipt.AuthorizedBy
		o.Receipt = v.receipt.JSON()
	}
	switch v.kind {
	case delivered:
		o.State, o.Attempts, o.FinishedAt = outbox.StateDelivered, row.Attempts+1, now
		w.event = webhook.EventDelivered
	case permanent:
		o.State, o.Attempts, o.FinishedAt = outbox.StateBounced, row.Attempts+1, now
		w.event, w.suppress = webhook.EventBounced, hardBounce(v.enhanced)
	case held, unavailable:
		o.State = outbox.StateHeld
		w.event = webhook.EventHeld
	case portaled:
		// Written held, fenced by the lease; the handoff in the same
		// transaction moves it to portal and records its own event.
		o.State, w.handoff, w.by = outbox.StateHeld, true, byPortal
	case dropped:
		o.State, o.FinishedAt = outbox.StateFailed, now
		w.event = webhook.EventFailed
	case released:
		o.State = outbox.StateQueued
		if row.Attempts > 0 {
			o.State = outbox.StateDeferred
		}
		o.LastCode, o.LastEnhanced, o.LastReason = row.LastCode, row.LastEnhanced, row.LastReason
	default: // temporary
		o.Attempts = row.Attempts + 1
		if expired(now, res.msg.ExpiresAt) {
			o.State, o.FinishedAt = outbox.StateFailed, now
			o.LastReason = "delivery time expired after " + strconv.Itoa(o.Attempts) + " attempts: " + v.reason
			w.event = webhook.EventFailed
			break
		}
		o.State, w.event = outbox.StateDeferred, webhook.EventDeferred
		o.NextAttemptAt = now.Add(s.opts.retryDelay(o.Attempts))
		if o.NextAttemptAt.After(res.msg.ExpiresAt) {
			o.NextAttemptAt = res.msg.ExpiresAt // one last try when the lifetime ends
		}
	}
	w.out = o
	w.audit = auditEntry(w)
	return w
}

// auditEntry is the audit record of a decision that discloses or refuses
// to disclose a message: one entry per recipient, naming the message and
// the recipient (never the address), for the HIPAA accounting of
// disclosures (164.528) and the audit controls of 164.312(b). Deferrals
// are not audited; their receipt and event record them.
func auditEntry(w write) *audit.Entry {
	row := w.res.r.row
	e := &audit.Entry{Chain: row.OrgID, Actor: deliveryActor, TargetType: "recipient", TargetID: row.ID,
		Details: map[string]string{"message_id": row.MessageID, "level": row.Level, "authorized_by": w.by}}
	if w.out.LastEnhanced != "" {
		e.Details["enhanced"] = w.out.LastEnhanced
	}
	if w.out.LastCode != 0 {
		e.Details["code"] = strconv.Itoa(w.out.LastCode)
	}
	if rc := w.res.v.receipt; rc != nil {
		if rc.MX != "" {
			e.Details["mx"], e.Details["ip"], e.Details["tls"] = rc.MX, rc.IP, rc.TLS
			e.Details["verified"] = strconv.FormatBool(rc.Verified)
		}
		if rc.Method != "" {
			e.Details["method"] = rc.Method
		}
		if rc.E2E != "" {
			e.Details["e2e"] = rc.E2E
		}
		if len(rc.Skipped) > 0 {
			skipped := make([]string, len(rc.Skipped))
			for i, sk := range rc.Skipped {
				skipped[i] = sk.Method
			}
			e.Details["skipped"] = strings.Join(skipped, ",")
		}
	}
	if w.handoff {
		// The walk's decision; the portal's own entry (message.portal)
		// follows in the same transaction.
		e.Action, e.Outcome = "message.fallback", audit.Success
		e.Details["to"], e.Details["reason"] = "portal", w.res.v.reason
		return e
	}
	switch w.out.State {
	case outbox.StateDelivered:
		e.Action, e.Outcome = "message.deliver", audit.Success
	case outbox.StateBounced:
		e.Action, e.Outcome = "message.bounce", audit.Failure
	case outbox.StateFailed:
		e.Action, e.Outcome = "message.fail", audit.Failure
		if w.res.v.kind == dropped {
			e.Details["reason"] = w.out.LastReason
		}
	case outbox.StateHeld:
		e.Action, e.Outcome = "message.hold", audit.Denied
		e.Details["reason"] = w.out.LastReason
	default:
		return nil
	}
	return e
}

// eventOf is the event of a write: ids, states and codes only.
func (w write) eventOf() event.Event {
	row := w.res.r.row
	data := map[string]any{"state": w.out.State, "level": row.Level, "attempt": w.out.Attempts, "authorized_by": w.by}
	if w.out.LastCode != 0 {
		data["code"] = w.out.LastCode
	}
	if w.out.LastEnhanced != "" {
		data["enhanced"] = w.out.LastEnhanced
	}
	if w.out.State == outbox.StateDeferred {
		data["next_attempt_at"] = w.out.NextAttemptAt.UTC().Format(time.RFC3339)
	}
	if rc := w.res.v.receipt; rc != nil {
		if rc.MX != "" {
			data["mx"] = rc.MX
		}
		data["tls"] = rc.TLS
	}
	return event.Event{OrgID: row.OrgID, Type: w.event, MessageID: row.MessageID, RecipientID: row.ID, Data: data}
}
