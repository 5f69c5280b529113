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

func (o *Outbox) write(ctx context.Context, tx *store.Tx, s Submission, p prepared) (Result, error) {
	now := o.opts.Clock()
	content, ver, err := o.deps.Keys.Seal(ctx, tx, ContentAAD(s.OrgID, p.messageID), p.raw)
	if err != nil {
		return Result{}, fmt.Errorf("seal message: %w", err)
	}
	tags, _ := json.Marshal(nonNil(s.Tags))
	meta, _ := json.Marshal(s.Metadata)
	if s.Metadata == nil {
		meta = []byte("{}")
	}
	msg := store.MessageRow{ID: p.messageID, OrgID: s.OrgID, Source: string(s.Source), SubmitterType: string(s.Actor.Type),
		SubmitterID: s.Actor.ID, SenderUserID: s.SenderUserID, MailFrom: p.mailFrom, FromDomain: p.fromDomain,
		Security: securityOrAuto(s.Security), PHI: p.phi, RequireTLS: s.RequireTLS, DSN: s.DSN,
		IdempotencyKey: s.IdempotencyKey, RequestHash: s.RequestHash, Size: int64(len(p.raw)), Content: content,
		DEKVersion: ver, Tags: string(tags), Metadata: string(meta), Recipients: len(p.rcpts),
		CreatedAt: now, ExpiresAt: now.Add(o.opts.Lifetime)}
	if err := store.InsertMessage(ctx, tx, msg); err != nil {
		return Result{}, err
	}
	rows, results, err := o.recipients(ctx, tx, s, p, now)
	if err != nil {
		return Result{}, err
	}
	if err := store.InsertRecipients(ctx, tx, rows); err != nil {
		return Result{}, err
	}
	if err := store.SetRecipientPolicies(ctx, tx, s.OrgID, recipientPolicies(rows, p.decisions)); err != nil {
		return Result{}, err
	}
	evs := make([]event.Event, 0, len(rows))
	domains := map[string]bool{}
	queued := 0
	for _, r := range rows {
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
		evs = append(evs, event.Event{OrgID: s.OrgID, Type: typ, MessageID: msg.ID, RecipientID: r.ID,
			Data: map[string]any{"state": r.State, "level": r.Level}})
	}
	if o.deps.Events != nil {
		if err := o.deps.Events.Record(ctx, tx, evs...); err != nil {
			return Result{}, err
		}
	}
	if _, err := o.deps.Audit.Append(ctx, tx, audit.Entry{Chain: s.OrgID, Actor: s.Actor, Action: "message.submit",
		TargetType: "message", TargetID: msg.ID, Outcome: audit.Success,
		Details: map[string]string{"source": string(s.Source), "recipients": strconv.Itoa(len(rows)), "queued": strconv.Itoa(queued),
			"level": string(strongest(p.decisions))}}); err != nil {
		return Result{}, err
	}
	if err := o.handoffPortal(ctx, tx, s, rows, results, p.decisions); err != nil {
		return Result{}, err
	}
	if len(domains) > 0 && o.deps.Scheduler != nil {
		list := make([]string, 0, len(domains))
		for d := range domains {
			list = append(list, d)
		}
		sort.Strings(list)
		if err := o.deps.Scheduler.ScheduleTx(ctx, tx, s.OrgID, list); err != nil {
			return Result{}, fmt.Errorf("schedule delivery: %w", err)
		}
	}
	return Result{MessageID: msg.ID, Recipients: results}, nil
}

// recipients seals each address, indexes it, applies suppressions and the
// policy decision, and returns the rows to insert with their results.
func (o *Outbox) recipients(ctx context.Context, tx *store.Tx, s Submission, p prepared, now time.Time) ([]store.RecipientRow, []RecipientResult, error) {
	rows := make([]store.RecipientRow, 0, len(p.rcpts))
	indexes := make([][]byte, 0, len(p.rcpts))
	for i, r := range p.rcpts {
		ix, err := o.deps.Index.Email(ctx, tx, s.OrgID, r.email)
		if err != nil {
			return nil, nil, fmt.Errorf("index recipient: %w", err)
		}
		sealed, ver, err := o.deps.Keys.Seal(ctx, tx, AddressAAD(s.OrgID, r.id), []byte(r.email))
		if err != nil {
			return nil, nil, fmt.Errorf("seal recipient: %w", err)
		}
		indexes = append(indexes, ix)
		d := p.decisions[i]
		rows = append(rows, store.RecipientRow{ID: r.id, OrgID: s.OrgID, MessageID: p.messageID, Ord: i, Kind: r.kind,
			Address: sealed, AddressIndex: ix, Domain: r.domain, State: StateQueued, Level: string(d.Level),
			Rule: d.Rule, NextAttemptAt: now, DEKVersion: ver, UpdatedAt: now})
	}
	suppressed, err := store.Suppressed(ctx, tx, s.OrgID, indexes)
	if err != nil {
		return nil, nil, err
	}
	results := make([]RecipientResult, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		reason, isSuppressed := suppressed[string(r.AddressIndex)]
		if isSuppressed {
			r.State, r.LastReason, r.FinishedAt = StateFailed, "suppressed: "+reason, now
		} else if r.State, r.LastReason = stateFor(p.decisions[i]); r.State == StateFailed {
			r.FinishedAt = now
		}
		results = append(results, RecipientResult{ID: r.ID, Email: p.rcpts[i].email, State: r.State, Level: r.Level, Reason: r.LastReason})
	}
	return rows, results, nil
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
