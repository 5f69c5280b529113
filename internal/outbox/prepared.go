package outbox

import (
	"context"
	"fmt"

	"github.com/carepost/carepost/internal/message"
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
	p, err := o.prepare(ctx, s)
	if err != nil {
		return nil, err
	}
	return &Prepared{s: s, p: p}, nil
}

// MessageID is the id the message will have.
func (p *Prepared) MessageID() string { return p.p.messageID }

// Decisions are the recipients' policy decisions, in envelope order.
func (p *Prepared) Decisions() []policy.Decision { return p.p.decisions }

// Rebody replaces the body parts of a prepared structured message and
// builds it again, keeping the policy decisions, which were made on the
// content as it was. It exists for engagement tracking, decided from those
// decisions (tracking only when the first method is ordinary email) and
// applied after them: the caller must only swap link URLs for opaque
// tracking links and add an image — changes that remove content and add
// none a detector could find — never anything else. Message-ID and
// recipients stay.
func (o *Outbox) Rebody(p *Prepared, html, text string) error {
	if p.s.Draft == nil {
		return fieldError("message", "only a structured message can be rebuilt")
	}
	d := *p.s.Draft
	d.HTML, d.Text = html, text
	limits := message.ValidateOptions{MaxSize: o.opts.MaxSize, MaxRecipients: o.opts.MaxRecipients}
	raw, err := message.Build(d, message.BuildOptions{MessageID: p.p.messageID + "@" + p.p.fromDomain, Date: o.opts.Clock(), Limits: limits})
	if err != nil {
		return err
	}
	if len(raw) > o.opts.MaxSize {
		return fieldError("message", fmt.Sprintf("the message is larger than %d bytes", o.opts.MaxSize))
	}
	if p.p.eval != nil {
		if raw, err = p.p.eval.StripSubjectTag(raw); err != nil {
			return err
		}
	}
	p.s.Draft, p.p.raw = &d, raw
	return nil
}

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
