package outbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/carepost/carepost/internal/store"
)

// ErrRace means another writer committed a message with the same
// idempotency key while tx ran: roll tx back and retry it (the retry finds
// the winner's message and answers it as a duplicate).
var ErrRace = errors.New("outbox: a concurrent submission took the idempotency key; retry the transaction")

// Ready prepares an organization for SubmitOnceTx: it creates the
// organization's blind-index key in a transaction of its own if it does
// not exist yet (see Submit). Call it once before the first SubmitOnceTx of an
// organization; it is cheap afterwards.
func (o *Outbox) Ready(ctx context.Context, orgID string) error {
	if err := o.deps.Index.Ensure(ctx, o.deps.DB, orgID); err != nil {
		return fmt.Errorf("blind index key: %w", err)
	}
	return nil
}

// SubmitOnceTx is SubmitTx with an idempotency key, for sources whose own
// state change must commit with the message or not at all (a workflow
// step: the step moves on if and only if its message is queued) and which
// may run the same work again after a crash or a retry. Everything Submit
// does is done — validation, the policy decision,
// sealing, suppressions, events, webhooks, audit, scheduling delivery —
// and nothing is durable until tx commits. An IdempotencyKey makes a
// repeated SubmitOnceTx (a batch re-run after a crash) answer the first
// message (Result.Duplicate); a key seen with another request is
// ErrIdempotencyMismatch. A validation or policy error writes nothing, so the caller may
// carry on with tx; any other error leaves tx unusable on PostgreSQL and
// must roll it back.
func (o *Outbox) SubmitOnceTx(ctx context.Context, tx *store.Tx, s Submission) (Result, error) {
	if s.IdempotencyKey == "" {
		return Result{}, fieldError("idempotency_key", "is required")
	}
	p, err := o.prepare(ctx, s)
	if err != nil {
		return Result{}, err
	}
	res, err := o.commit(ctx, tx, s, p)
	if errors.Is(err, errRetry) {
		return Result{}, ErrRace
	}
	return res, err
}
