package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/carepost/carepost/internal/store"
)

// ErrRace means another writer committed a message with the same
// idempotency key while tx ran: roll tx back and retry it (the retry finds
// the winner's message and answers it as a duplicate).
var ErrRace = errors.New("outbox: a concurrent submission took the idempotency key; retry the transaction")

// PrepareOnce is Prepare for a submission that carries an idempotency key
// (a workflow step's message): validated, built and decided without
// writing, to be committed with others by CommitManyOnceTx.
func (o *Outbox) PrepareOnce(ctx context.Context, s Submission) (*Prepared, error) {
	if s.IdempotencyKey == "" {
		return nil, fieldError("idempotency_key", "is required")
	}
	p, err := o.prepareWrite(ctx, s)
	if err != nil {
		return nil, err
	}
	return &Prepared{s: s.withoutContent(), p: p}, nil
}

// SenderAllowedTx reports, as the commit would, whether the prepared
// message's From domain is a verified sender domain of its organization:
// nil, or a *message.FieldError naming the field. A caller that writes
// many messages together checks each before adding it, so one refused
// sender does not fail the others.
func (o *Outbox) SenderAllowedTx(ctx context.Context, tx *store.Tx, p *Prepared) error {
	return o.checkSender(ctx, tx, p.s.OrgID, p.p)
}

// CommitManyOnceTx writes prepared submissions of one organization that
// carry idempotency keys, for sources whose own state change must commit
// with the messages or not at all (a workflow batch: a step moves on if
// and only if its message is queued) and which may run the same work
// again after a crash. It shares the statements as CommitManyTx does
// (call EnsureOrg once before). Keys already
// held by a message answer that message (Result.Duplicate) and write
// nothing; a key held with another request is ErrIdempotencyMismatch; a
// key taken by a concurrent transaction is ErrRace (roll back and retry).
// A sender domain that is not verified is its *message.FieldError, for
// the whole call (check each first with SenderAllowedTx). Results are in
// order. Nothing is durable until tx commits.
func (o *Outbox) CommitManyOnceTx(ctx context.Context, tx *store.Tx, ps []*Prepared) ([]Result, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	orgID := ps[0].s.OrgID
	keys := make([]string, len(ps))
	seen := make(map[string]bool, len(ps))
	for i, p := range ps {
		if p.s.IdempotencyKey == "" {
			return nil, fieldError("idempotency_key", "is required")
		}
		if p.s.OrgID != orgID {
			return nil, fmt.Errorf("outbox: submissions of two organizations in one write")
		}
		if seen[p.s.IdempotencyKey] {
			return nil, fmt.Errorf("outbox: idempotency key %q twice in one write", p.s.IdempotencyKey)
		}
		seen[p.s.IdempotencyKey] = true
		keys[i] = p.s.IdempotencyKey
	}
	held, err := store.MessagesByIdempotencyKeys(ctx, tx, orgID, keys)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(ps))
	fresh := make([]*Prepared, 0, len(ps))
	at := make([]int, 0, len(ps))
	for i, p := range ps {
		m, ok := held[p.s.IdempotencyKey]
		if !ok {
			fresh, at = append(fresh, p), append(at, i)
			continue
		}
		if !bytes.Equal(m.RequestHash, p.s.RequestHash) {
			return nil, ErrIdempotencyMismatch
		}
		if results[i], err = o.Status(ctx, tx, orgID, m.ID); err != nil {
			return nil, err
		}
		results[i].Duplicate = true
	}
	written, err := o.CommitManyTx(ctx, tx, fresh)
	if errors.Is(err, store.ErrConflict) {
		return nil, ErrRace
	}
	if err != nil {
		return nil, err
	}
	for j, r := range written {
		results[at[j]] = r
	}
	return results, nil
}
