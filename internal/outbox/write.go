package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webhook"
)

// Recipient states.
const (
	StateQueued    = "queued"
	StateSending   = "sending"
	StateDeferred  = "deferred"
	StateDelivered = "delivered"
	StateBounced   = "bounced"
	StateFailed    = "failed"
	StateHeld      = "held"
	StatePortal    = "portal"
)

// AddressAAD names the sealed recipient address of a recipient row.
func AddressAAD(orgID, recipientID string) keyring.AAD {
	return keyring.AAD{Scope: orgID, Table: "recipients", Column: "address", RowID: recipientID}
}

// ContentAAD names the sealed content of a message row.
func ContentAAD(orgID, messageID string) keyring.AAD {
	return keyring.AAD{Scope: orgID, Table: "messages", Column: "content", RowID: messageID}
}

// pending is one submission ready to be written.
type pending struct {
	s Submission
	p prepared
}

func (o *Outbox) write(ctx context.Context, tx *store.Tx, s Submission, p prepared) (Result, error) {
	res, err := o.writeMany(ctx, tx, []pending{{s: s, p: p}})
	if err != nil {
		return Result{}, err
	}
	return res[0], nil
}

// writeMany writes submissions of one organization in tx: each message
// sealed, its recipients sealed, indexed, checked against suppressions and
// given their policy decisions, their events and webhook deliveries, an
// audit entry per message, portal handoffs, and delivery scheduled for
// every destination domain. Several submissions share the statements (one
// insert for their messages, one for their recipients, one suppression
// query, one move of the audit chain's head): the per-message work is the
// same as for one.
func (o *Outbox) writeMany(ctx context.Context, tx *store.Tx, items []pending) ([]Result, error) {
	now := o.opts.Clock()
	orgID := items[0].s.OrgID
	msgs := make([]store.MessageRow, 0, len(items))
	var rows []store.RecipientRow
	var decisions []policy.Decision
	first := make([]int, len(items)+1) // item i's rows are rows[first[i]:first[i+1]]
	for i, it := range items {
		if it.s.OrgID != orgID {
			return nil, fmt.Errorf("outbox: submissions of two organizations in one write")
		}
		msg, err := o.messageRow(ctx, tx, it, now)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, msg)
		rs, err := o.recipientRows(ctx, tx, it, now)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rs...)
		decisions = append(decisions, it.p.decisions...)
		first[i+1] = len(rows)
	}
	var err error
	if len(msgs) == 1 {
		err = store.InsertMessage(ctx, tx, msgs[0])
	} else {
		err = store.InsertMessages(ctx, tx, msgs)
	}
	if err != nil {
		return nil, err
	}
	results, err := o.applyStates(ctx, tx, orgID, items, rows, decisions, first, now)
	if err != nil {
		return nil, err
	}
	if err := store.InsertRecipientsWithPolicies(ctx, tx, rows, recipientPolicies(rows, decisions)); err != nil {
		return nil, err
	}
	evs := make([]event.Event, 0, len(rows))
	domains := map[string]bool{}
	entries := make([]audit.Entry, 0, len(items))
	for i, it := range items {
		queued := 0
		for _, r := range rows[first[i]:first[i+1]] {
			typ := webhook.EventQueued
			switch r.State {
			case StateQueued:
				domains[r.Domain] = true
				queued++
			case StateHeld:
				typ = webhook.EventHeld
			case StateFailed:
				typ = webhook.EventFailed
			}
			evs = append(evs, event.Event{OrgID: orgID, Type: typ, MessageID: r.MessageID, RecipientID: r.ID,
				Data: map[string]any{"state": r.State, "level": r.Level}})
		}
		entries = append(entries, audit.Entry{Chain: orgID, Actor: it.s.Actor, Action: "message.submit",
			TargetType: "message", TargetID: it.p.messageID, Outcome: audit.Success,
			Details: map[string]string{"source": string(it.s.Source), "recipients": strconv.Itoa(first[i+1] - first[i]), "queued": strconv.Itoa(queued),
				"level": string(strongest(it.p.decisions))}})
	}
	if o.deps.Events != nil {
		if err := o.deps.Events.Record(ctx, tx, evs...); err != nil {
			return nil, err
		}
	}
	if err := o.deps.Audit.AppendMany(ctx, tx, entries); err != nil {
		return nil, err
	}
	for i, it := range items {
		lo, hi := first[i], first[i+1]
		if err := o.handoffPortal(ctx, tx, it.s, rows[lo:hi], results[i].Recipients, decisions[lo:hi]); err != nil {
			return nil, err
		}
	}
	if len(domains) > 0 && o.deps.Scheduler != nil {
		list := make([]string, 0, len(domains))
		for d := range domains {
			list = append(list, d)
		}
		sort.Strings(list)
		if err := o.deps.Scheduler.ScheduleTx(ctx, tx, orgID, list); err != nil {
			return nil, fmt.Errorf("schedule delivery: %w", err)
		}
	}
	return results, nil
}

// messageRow seals one submission's content into its message row.
func (o *Outbox) messageRow(ctx context.Context, tx *store.Tx, it pending, now time.Time) (store.MessageRow, error) {
	s, p := it.s, it.p
	content, ver, err := SealContent(ctx, o.deps.Keys, tx, s.OrgID, p.messageID, p.packed)
	if err != nil {
		return store.MessageRow{}, fmt.Errorf("seal message: %w", err)
	}
	tags, _ := json.Marshal(nonNil(s.Tags))
	meta, _ := json.Marshal(s.Metadata)
	if s.Metadata == nil {
		meta = []byte("{}")
	}
	return store.MessageRow{ID: p.messageID, OrgID: s.OrgID, Source: string(s.Source), SubmitterType: string(s.Actor.Type),
		SubmitterID: s.Actor.ID, SenderUserID: s.SenderUserID, MailFrom: p.mailFrom, FromDomain: p.fromDomain,
		Security: securityOrAuto(s.Security), PHI: p.phi, RequireTLS: s.RequireTLS, DSN: s.DSN,
		IdempotencyKey: s.IdempotencyKey, RequestHash: s.RequestHash, Size: int64(p.size), Content: content,
		DEKVersion: ver, Tags: string(tags), Metadata: string(meta), Recipients: len(p.rcpts),
		CreatedAt: now, ExpiresAt: now.Add(o.opts.Lifetime)}, nil
}

// recipientRows seals and indexes one submission's recipient addresses,
// queued under their decisions until applyStates says otherwise.
func (o *Outbox) recipientRows(ctx context.Context, tx *store.Tx, it pending, now time.Time) ([]store.RecipientRow, error) {
	s, p := it.s, it.p
	rows := make([]store.RecipientRow, 0, len(p.rcpts))
	for i, r := range p.rcpts {
		ix, err := o.deps.Index.Email(ctx, tx, s.OrgID, r.email)
		if err != nil {
			return nil, fmt.Errorf("index recipient: %w", err)
		}
		sealed, ver, err := o.deps.Keys.Seal(ctx, tx, AddressAAD(s.OrgID, r.id), []byte(r.email))
		if err != nil {
			return nil, fmt.Errorf("seal recipient: %w", err)
		}
		d := p.decisions[i]
		rows = append(rows, store.RecipientRow{ID: r.id, OrgID: s.OrgID, MessageID: p.messageID, Ord: i, Kind: r.kind,
			Address: sealed, AddressIndex: ix, Domain: r.domain, State: StateQueued, Level: string(d.Level),
			Rule: d.Rule, NextAttemptAt: now, DEKVersion: ver, UpdatedAt: now})
	}
	return rows, nil
}

// applyStates applies suppressions (one query for every row) and the
// policy decisions to the rows' states, and returns each submission's
// result.
func (o *Outbox) applyStates(ctx context.Context, tx *store.Tx, orgID string, items []pending, rows []store.RecipientRow,
	decisions []policy.Decision, first []int, now time.Time) ([]Result, error) {
	indexes := make([][]byte, len(rows))
	for i, r := range rows {
		indexes[i] = r.AddressIndex
	}
	suppressed, err := store.Suppressed(ctx, tx, orgID, indexes)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(items))
	for k, it := range items {
		res := Result{MessageID: it.p.messageID, Recipients: make([]RecipientResult, 0, first[k+1]-first[k])}
		for i := first[k]; i < first[k+1]; i++ {
			r := &rows[i]
			reason, isSuppressed := suppressed[string(r.AddressIndex)]
			if isSuppressed {
				r.State, r.LastReason, r.FinishedAt = StateFailed, "suppressed: "+reason, now
			} else if r.State, r.LastReason = stateFor(decisions[i]); r.State == StateFailed {
				r.FinishedAt = now
			}
			res.Recipients = append(res.Recipients, RecipientResult{ID: r.ID, Email: it.p.rcpts[i-first[k]].email, State: r.State,
				Level: r.Level, Reason: r.LastReason})
		}
		results[k] = res
	}
	return results, nil
}

// stateFor is the state a new recipient starts in under its decision:
// queued for delivery to walk its methods (verified TLS, e2e, then the
// portal: package delivery follows the recorded methods); held when the
// first method is the portal, which handoffPortal then takes in this
// transaction (it stays held, never sent, when no portal takes it); failed
// when no method is acceptable (a TLS-only source's recipient that needs
// more: dropped, never portaled).
func stateFor(d policy.Decision) (state, reason string) {
	switch {
	case len(d.Methods) == 0:
		return StateFailed, "dropped by policy: " + dropReason(d)
	case d.Methods[0] == policy.Portal:
		return StateHeld, "required level " + string(d.Level) + " is not available for this recipient"
	}
	return StateQueued, ""
}

func dropReason(d policy.Decision) string {
	for i := len(d.Reasons) - 1; i >= 0; i-- {
		if d.Reasons[i].Rule == policy.RuleTLSOnly {
			return d.Reasons[i].Detail
		}
	}
	return "no acceptable delivery method"
}

// recipientPolicies are the rows' decisions as stored beside them.
func recipientPolicies(rows []store.RecipientRow, ds []policy.Decision) []store.RecipientPolicy {
	out := make([]store.RecipientPolicy, len(rows))
	for i, r := range rows {
		reasons := []byte("[]")
		if len(ds[i].Reasons) > 0 {
			reasons, _ = json.Marshal(ds[i].Reasons) // strings only: cannot fail
		}
		out[i] = store.RecipientPolicy{ID: r.ID, Methods: policy.MethodList(ds[i].Methods), Drop: ds[i].Drop,
			Reasons: string(reasons), SubjectFlagged: ds[i].SubjectFlagged}
	}
	return out
}

func strongest(ds []policy.Decision) policy.Level {
	l := policy.Opportunistic
	for _, d := range ds {
		l = policy.Max(l, d.Level)
	}
	return l
}

// replay answers a repeated idempotency key with the first result, or
// refuses a key reused for a different request.
func (o *Outbox) replay(ctx context.Context, tx *store.Tx, s Submission) (Result, bool, error) {
	m, err := store.MessageByIdempotencyKey(ctx, tx, s.OrgID, s.IdempotencyKey)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	if !bytes.Equal(m.RequestHash, s.RequestHash) {
		return Result{}, true, ErrIdempotencyMismatch
	}
	res, err := o.Status(ctx, tx, s.OrgID, m.ID)
	if err != nil {
		return Result{}, true, err
	}
	res.Duplicate = true
	return res, true, nil
}

// Status returns a message's recipients and their states.
func (o *Outbox) Status(ctx context.Context, q store.Querier, orgID, messageID string) (Result, error) {
	rows, err := store.RecipientsOfMessage(ctx, q, orgID, messageID)
	if err != nil {
		return Result{}, err
	}
	if len(rows) == 0 {
		return Result{}, store.ErrNotFound
	}
	res := Result{MessageID: messageID}
	for _, r := range rows {
		email, err := o.deps.Keys.Open(ctx, q, AddressAAD(orgID, r.ID), r.Address)
		if err != nil {
			return Result{}, fmt.Errorf("open recipient: %w", err)
		}
		res.Recipients = append(res.Recipients, RecipientResult{ID: r.ID, Email: string(email), State: r.State, Level: r.Level, Reason: r.LastReason})
	}
	return res, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func securityOrAuto(s Security) string {
	if s == "" {
		return string(SecurityAuto)
	}
	return string(s)
}
