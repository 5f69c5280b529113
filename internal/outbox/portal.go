package outbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
)

// Portal takes recipients whose decision lands on the secure portal
// (package portal implements it).
type Portal interface {
	// Handoff moves one held recipient of a message written in tx into
	// the portal, in tx: the content stays sealed in carepost and the
	// recipient is notified without PHI. It returns an error wrapping
	// ErrPortalDeclined when the recipient must stay held instead (its
	// methods do not include the portal, or the message is one of the
	// portal's own notifications).
	Handoff(ctx context.Context, tx *store.Tx, orgID, messageID, recipientID string) error
}

// ErrPortalDeclined means the portal did not take a recipient; it stays
// held, never sent below its level.
var ErrPortalDeclined = errors.New("the portal declined the recipient; it stays held")

// PortalReason is the reason a recipient handed to the portal carries.
const PortalReason = "in the secure portal; the recipient was notified"

// toPortal reports whether a recipient in state, decided d, goes to the
// portal at submission: it is held and its first method is the portal,
// and there is a portal to take it.
func (o *Outbox) toPortal(state string, d policy.Decision) bool {
	return o.deps.Portal != nil && state == StateHeld && len(d.Methods) > 0 && d.Methods[0] == policy.Portal
}

// handoffPortal gives every held recipient whose first method is the
// portal to the portal, in the submission's transaction, and updates its
// result. Without a portal (or when the portal declines) the recipient
// stays held: fail closed.
func (o *Outbox) handoffPortal(ctx context.Context, tx *store.Tx, s Submission, rows []store.RecipientRow,
	results []RecipientResult, decisions []policy.Decision) error {
	if o.deps.Portal == nil {
		return nil
	}
	for i, r := range rows {
		if !o.toPortal(r.State, decisions[i]) {
			continue
		}
		err := o.deps.Portal.Handoff(ctx, tx, s.OrgID, r.MessageID, r.ID)
		switch {
		case errors.Is(err, ErrPortalDeclined):
			continue
		case err != nil:
			return fmt.Errorf("hand recipient to the portal: %w", err)
		}
		results[i].State, results[i].Reason = StatePortal, PortalReason
	}
	return nil
}

// SubmitTx is Submit inside the caller's transaction, for the portal's
// own mail — notifications, one-time codes and replies — which is written
// together with the portal state it belongs to (a notification with its
// handoff, a reply with its audit entry). It validates, decides policy,
// seals and commits exactly as Submit does; the caller's commit makes it
// durable. Idempotency keys are not supported here, and the caller must
// not hold the transaction of another Submit.
func (o *Outbox) SubmitTx(ctx context.Context, tx *store.Tx, s Submission) (Result, error) {
	if s.IdempotencyKey != "" {
		return Result{}, fieldError("idempotency_key", "not supported for mail submitted in a transaction")
	}
	p, err := o.prepareWrite(ctx, s)
	if err != nil {
		return Result{}, err
	}
	return o.commit(ctx, tx, s, p)
}
