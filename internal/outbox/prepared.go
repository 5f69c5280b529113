package outbox

import (
	"context"
	"fmt"

	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
)

// Prepared is a submission validated, built and decided outside any
// transaction — everything Submit does before it writes — to be committed
// with CommitTx. It is how a caller that writes many messages together
// with state of its own (a campaign batch: each message and the row that
// says its contact was sent to) goes through the same door: the same
// validation, the same policy decisions, the same sealing and rows.
type Prepared struct {
	s Submission
	p prepared
}

// Prepare validates s and decides its recipients, without writing
// anything. Idempotency keys are not supported here (the caller's own rows
// make its retries safe).
func (o *Outbox) Prepare(ctx context.Context, s Submission) (*Prepared, error) {
	if s.IdempotencyKey != "" {
		return nil, fieldError("idempotency_key", "not supported for prepared submissions")
	}
	p, err := o.prepareWrite(ctx, s)
	if err != nil {
		return nil, err
	}
	return &Prepared{s: s.withoutContent(), p: p}, nil
}

// OrgID is the submitting organization.
func (p *Prepared) OrgID() string { return p.s.OrgID }

// MessageID is the id the message will have.
func (p *Prepared) MessageID() string { return p.p.messageID }

// Decisions are the recipients' policy decisions, in envelope order.
func (p *Prepared) Decisions() []policy.Decision { return p.p.decisions }

// EnsureOrg makes the organization's blind-index key exist, in a
// transaction of its own: CommitTx runs in a shared transaction, where
// creating it could race (Submit does this itself).
func (o *Outbox) EnsureOrg(ctx context.Context, orgID string) error {
	if err := o.deps.Index.Ensure(ctx, o.deps.DB, orgID); err != nil {
		return fmt.Errorf("blind index key: %w", err)
	}
	return nil
}

// CommitTx writes a prepared submission in tx exactly as Submit's
// transaction does — sender domain check, sealed content and addresses,
// suppressions, recipients, events, audit, portal handoff, delivery
// scheduling — and returns its result. It is durable once the caller's
// transaction commits; call EnsureOrg once before.
func (o *Outbox) CommitTx(ctx context.Context, tx *store.Tx, p *Prepared) (Result, error) {
	return o.commit(ctx, tx, p.s, p.p)
}

// CommitManyTx writes prepared submissions of one organization in tx as
// CommitTx writes each, sharing the statements (writeMany): the sender
// domain is checked once per domain, the messages, recipients, events and
// audit entries are inserted together. It returns the results in order.
func (o *Outbox) CommitManyTx(ctx context.Context, tx *store.Tx, ps []*Prepared) ([]Result, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	checked := map[string]bool{}
	items := make([]pending, 0, len(ps))
	for _, p := range ps {
		if p.s.OrgID != ps[0].s.OrgID {
			return nil, fmt.Errorf("outbox: submissions of two organizations in one write")
		}
		if !checked[p.p.fromDomain] {
			if err := o.checkSender(ctx, tx, p.s.OrgID, p.p); err != nil {
				return nil, err
			}
			checked[p.p.fromDomain] = true
		}
		items = append(items, pending{s: p.s, p: p.p})
	}
	return o.writeMany(ctx, tx, items)
}
