package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// JobInserter adds a job in the caller's transaction; *jobs.Client is one.
type JobInserter interface {
	InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Identifier prefixes (package id).
const (
	endpointPrefix = "whep"
	// deliveryPrefix names deliveries; a delivery id is also the
	// webhook-id header, the receiver's idempotency key.
	deliveryPrefix = "whmsg"
)

// AAD names of the sealed endpoint secrets.
const (
	endpointTable        = "webhook_endpoints"
	secretColumn         = "secret"
	previousSecretColumn = "previous_secret"
)

// Service manages an organization's endpoints, enqueues events for them and
// reads the delivery log. Worker sends what it enqueues. It is safe for
// concurrent use.
type Service struct {
	db    *store.DB
	kr    *keyring.Keyring
	jobs  JobInserter
	opts  Options
	guard guard
}

// New returns the webhook service. It registers webhook_endpoints with kr,
// so key rotation re-encrypts endpoint secrets with everything else.
func New(db *store.DB, kr *keyring.Keyring, jobs JobInserter, opts Options) (*Service, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.WithDefaults()
	kr.Register(store.WebhookEndpointsTable())
	return &Service{db: db, kr: kr, jobs: jobs, opts: opts, guard: guard{allow: opts.Allow}}, nil
}

// now is the clock at the stored precision, so values read back compare
// equal to the ones returned.
func (s *Service) now() time.Time { return store.FromMicros(store.Micros(s.opts.Clock())) }

func secretAAD(org, id, column string) keyring.AAD {
	return keyring.AAD{Scope: org, Table: endpointTable, Column: column, RowID: id}
}

// attemptOpts returns the River options of a job due at at: none for a job
// due now, so it is available at once instead of waiting for River's
// scheduler (which promotes scheduled jobs every few seconds).
func attemptOpts(at, now time.Time) *river.InsertOpts {
	if !at.After(now) {
		return nil
	}
	return &river.InsertOpts{ScheduledAt: at}
}

// Enqueue records ev for every enabled endpoint of org subscribed to its
// type, inside tx, with one delivery job each in the same transaction: the
// deliveries exist, and will be attempted, if and only if tx commits. An
// organization without a subscribed endpoint stores nothing. An event id
// that org has already enqueued is ignored, so a caller retried after a
// crash does not send twice.
func (s *Service) Enqueue(ctx context.Context, tx *store.Tx, org string, ev Event) error {
	return s.EnqueueMany(ctx, tx, org, []Event{ev})
}

// EnqueueMany is Enqueue for several events of one organization: the
// endpoints are read once, and an event no endpoint subscribes to costs
// no statement (most events of most organizations).
func (s *Service) EnqueueMany(ctx context.Context, tx *store.Tx, org string, evs []Event) error {
	if tx == nil {
		return fmt.Errorf("enqueue webhook event: no transaction")
	}
	if len(evs) == 0 {
		return nil
	}
	endpoints, err := store.ListWebhookEndpoints(ctx, tx, org)
	if err != nil {
		return fmt.Errorf("enqueue webhook events: %w", err)
	}
	if len(endpoints) == 0 {
		return nil
	}
	now := s.now()
	for _, ev := range evs {
		var targets []string
		for _, e := range endpoints {
			if e.Enabled && subscribed(splitTypes(e.EventTypes), ev.Type) {
				targets = append(targets, e.ID)
			}
		}
		if len(targets) == 0 {
			continue
		}
		body, err := ev.payload(now)
		if err != nil {
			return err
		}
		fresh, err := store.InsertWebhookEvent(ctx, tx, store.WebhookEvent{
			OrgID: org, ID: ev.ID, Type: ev.Type, Payload: body, CreatedAt: now,
		})
		if err != nil {
			return fmt.Errorf("enqueue webhook event %s: %w", ev.ID, err)
		}
		if !fresh {
			continue
		}
		at := now.Add(s.opts.Schedule[0])
		for _, endpointID := range targets {
			d := store.WebhookDelivery{
				ID: id.New(deliveryPrefix), OrgID: org, EndpointID: endpointID,
				EventID: ev.ID, EventType: ev.Type, State: store.WebhookPending,
				NextAttemptAt: at, CreatedAt: now, UpdatedAt: now,
			}
			if err := store.InsertWebhookDelivery(ctx, tx, d); err != nil {
				return fmt.Errorf("enqueue webhook event %s: %w", ev.ID, err)
			}
			if _, err := s.jobs.InsertTx(ctx, tx, DeliverArgs{DeliveryID: d.ID, Attempt: 1}, attemptOpts(at, now)); err != nil {
				return fmt.Errorf("enqueue webhook event %s: %w", ev.ID, err)
			}
		}
	}
	return nil
}
