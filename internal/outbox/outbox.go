// Package outbox is the one door for outbound mail. Every source — the REST
// API, SMTP submission, the gateway, campaigns, workflows, portal replies
// and notifications, DSNs and alerts — hands its message to Submit, and
// nothing else writes to the delivery queue. That single door is what makes
// "encryption is never optional" checkable: one place to read, one place to
// test.
//
// Submit, in order:
//
//  1. validates the message and envelope (a bad field is a
//     *message.FieldError naming it; nothing is stored);
//  2. asks package policy for each recipient's decision — level, ordered
//     methods, reasons — from the organization's policy and the content,
//     and removes the subject tag the policy found;
//  3. inside one transaction — shared with concurrent submissions through
//     group commit (store.Committer), so one fsync covers a batch —
//     answers a repeated idempotency key with the first result, checks the
//     sender domain is verified for the organization, seals the message
//     and each recipient address with the keyring, checks suppressions
//     through the keyed blind index, writes the message, its recipients,
//     their events (and webhook deliveries) and the audit entry, and
//     schedules delivery per destination domain;
//  4. returns only after that transaction has committed: accepted means
//     durable.
//
// Each recipient's decision is stored beside it (store.RecipientPolicy):
// the ordered methods delivery walks and whether running out of them drops
// it. A recipient whose first method is the portal is handed to the portal
// in the submission's transaction (portal.go); every other one is queued,
// and delivery follows the recorded methods — verified TLS, then e2e when
// a key is known, then the portal — never below the level. Nothing is ever
// sent below its level: with no portal to take it, a recipient is held.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/blindindex"
	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
)

// Scheduler arranges delivery of newly queued recipients, in the caller's
// transaction (package delivery implements it).
type Scheduler interface {
	ScheduleTx(ctx context.Context, tx *store.Tx, orgID string, domains []string) error
}

// Domains says whether an organization may send from a domain (package
// senderdomain implements it).
type Domains interface {
	Verified(ctx context.Context, q store.Querier, orgID, domain string) (bool, error)
}

// Deps are the services Submit uses.
type Deps struct {
	DB        *store.DB
	Committer *store.Committer
	Keys      *keyring.Keyring
	Index     *blindindex.Indexer
	Audit     *audit.Log
	Events    *event.Recorder
	Domains   Domains
	Scheduler Scheduler
	// Policy decides each recipient from the organization's policy and
	// the content; nil leaves the floor (policy.Decide) alone.
	Policy *policy.Engine
	// Portal takes recipients whose first method is the portal, in the
	// submission's transaction (portal.go); nil leaves them held.
	Portal Portal
}

// Options tunes the outbox.
type Options struct {
	// Clock replaces time.Now.
	Clock func() time.Time
	// Lifetime is how long delivery is retried. Default 5 days.
	Lifetime time.Duration
	// MaxSize bounds a message as built. Default 25 MiB.
	MaxSize int
	// MaxRecipients bounds one message's envelope. Default 1000.
	MaxRecipients int
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Lifetime <= 0 {
		o.Lifetime = 5 * 24 * time.Hour
	}
	if o.MaxSize <= 0 {
		o.MaxSize = 25 << 20
	}
	if o.MaxRecipients <= 0 {
		o.MaxRecipients = 1000
	}
	return o
}

// Outbox accepts outbound mail.
type Outbox struct {
	deps Deps
	opts Options
}

// New builds the outbox.
func New(deps Deps, opts Options) *Outbox {
	return &Outbox{deps: deps, opts: opts.withDefaults()}
}

var (
	// ErrIdempotencyMismatch means an idempotency key was reused for a
	// different request.
	ErrIdempotencyMismatch = errors.New("this Idempotency-Key was already used for a different request")
	errRetry               = errors.New("outbox: idempotency race, retry")
)

// Submit accepts a message; see the package documentation.
func (o *Outbox) Submit(ctx context.Context, s Submission) (Result, error) {
	p, err := o.prepareWrite(ctx, s)
	if err != nil {
		return Result{}, err
	}
	// The blind-index key would otherwise be created inside the shared
	// transaction, where two batches racing to create it would fail one
	// of them; make it first, in a transaction of its own. (The first data
	// key is created with ON CONFLICT DO NOTHING, which cannot fail so.)
	if err := o.deps.Index.Ensure(ctx, o.deps.DB, s.OrgID); err != nil {
		return Result{}, fmt.Errorf("blind index key: %w", err)
	}
	for attempt := 0; ; attempt++ {
		var res Result
		err := o.deps.Committer.Do(ctx, func(tx *store.Tx) error {
			var err error
			res, err = o.commit(ctx, tx, s, p)
			return err
		})
		// Two nodes (or committers) racing with one idempotency key: the
		// loser's insert conflicts; the next attempt finds the winner.
		if errors.Is(err, errRetry) && attempt < 3 {
			continue
		}
		if err != nil {
			return Result{}, err
		}
		return res, nil
	}
}

// commit runs inside the shared transaction.
func (o *Outbox) commit(ctx context.Context, tx *store.Tx, s Submission, p prepared) (Result, error) {
	if s.IdempotencyKey != "" {
		if res, ok, err := o.replay(ctx, tx, s); ok || err != nil {
			return res, err
		}
	}
	if err := o.checkSender(ctx, tx, s.OrgID, p); err != nil {
		return Result{}, err
	}
	res, err := o.write(ctx, tx, s, p)
	if errors.Is(err, store.ErrConflict) && s.IdempotencyKey != "" {
		return Result{}, errRetry
	}
	return res, err
}

// checkSender refuses a From domain that is not a verified sender domain
// of the organization.
func (o *Outbox) checkSender(ctx context.Context, tx *store.Tx, orgID string, p prepared) error {
	if o.deps.Domains == nil {
		return nil
	}
	ok, err := o.deps.Domains.Verified(ctx, tx, orgID, p.fromDomain)
	if err != nil {
		return fmt.Errorf("check sender domain: %w", err)
	}
	if !ok {
		return fieldError(p.fromField, "the sender's domain is not a verified sending domain of your organization")
	}
	return nil
}
