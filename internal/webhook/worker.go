package webhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// DeliverArgs asks for attempt Attempt (from 1) of a delivery.
type DeliverArgs struct {
	DeliveryID string `json:"delivery_id"`
	// Attempt makes a job that runs twice (River is at-least-once)
	// harmless: once the attempt is recorded, the job is stale.
	Attempt int `json:"attempt"`
}

// Kind names the job in River's tables.
func (DeliverArgs) Kind() string { return "webhook_deliver" }

// Worker makes one attempt per job. It needs no job client of its own: the
// next attempt is inserted through the River client running the job
// (river.ClientFromContext), so app wiring can register the worker before
// the job client exists.
type Worker struct {
	river.WorkerDefaults[DeliverArgs]
	db     *store.DB
	kr     *keyring.Keyring
	opts   Options
	client *http.Client
}

var _ river.Worker[DeliverArgs] = (*Worker)(nil)

// NewWorker returns the delivery worker; pass it the Options given to New.
func NewWorker(db *store.DB, kr *keyring.Keyring, opts Options) (*Worker, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.WithDefaults()
	kr.Register(store.WebhookEndpointsTable())
	return &Worker{db: db, kr: kr, opts: opts, client: newClient(opts)}, nil
}

func (w *Worker) now() time.Time { return store.FromMicros(store.Micros(w.opts.Clock())) }

// Timeout bounds a job: one attempt plus recording it.
func (w *Worker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return w.opts.Timeout + 30*time.Second
}

// Work makes the attempt the job names, records it, and in the same
// transaction schedules the next one, disables the endpoint (410) or ends
// the delivery. HTTP failures are recorded, not returned: River's own
// retries are only for failures to read or record (the database), and
// those runs find the attempt done if it was.
func (w *Worker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	args := job.Args
	d, err := store.GetWebhookDispatch(ctx, w.db.Reader(), args.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the endpoint was deleted, and its deliveries with it
	}
	if err != nil {
		return err
	}
	if d.Delivery.State != store.WebhookPending || d.Delivery.Attempts != args.Attempt-1 {
		return nil // a stale job: this attempt is already recorded
	}
	log := w.opts.Logger.With("org", d.Delivery.OrgID, "endpoint", d.Endpoint.ID,
		"delivery", d.Delivery.ID, "attempt", args.Attempt)
	if !d.Endpoint.Enabled {
		return w.db.Tx(ctx, func(tx *store.Tx) error {
			_, err := store.FailWebhookDelivery(ctx, tx, d.Delivery.ID, d.Delivery.Attempts, "endpoint disabled", w.now())
			return err
		})
	}
	req, err := w.request(ctx, d)
	if err != nil {
		return err
	}
	res := post(ctx, w.client, req)
	log.Info("webhook attempt", "status", res.status, "reason", res.reason, "duration", res.duration)
	return w.record(ctx, d, args.Attempt, res)
}

// request builds the signed request of one attempt. The timestamp is the
// attempt's, not the event's, so a receiver's replay window holds for
// retries too.
func (w *Worker) request(ctx context.Context, d store.WebhookDispatch) (request, error) {
	e := d.Endpoint
	now := w.now()
	secret, err := w.kr.Open(ctx, w.db.Reader(), secretAAD(e.OrgID, e.ID, secretColumn), e.Secret)
	if err != nil {
		return request{}, fmt.Errorf("open webhook secret of %s: %w", e.ID, err)
	}
	secrets := []string{string(secret)}
	if e.PreviousSecret != nil && now.Before(e.PreviousUntil) {
		prev, err := w.kr.Open(ctx, w.db.Reader(), secretAAD(e.OrgID, e.ID, previousSecretColumn), e.PreviousSecret)
		if err != nil {
			return request{}, fmt.Errorf("open previous webhook secret of %s: %w", e.ID, err)
		}
		secrets = append(secrets, string(prev))
	}
	sig, err := signatureHeader(secrets, d.Delivery.ID, now, d.Payload)
	if err != nil {
		return request{}, fmt.Errorf("sign webhook delivery %s: %w", d.Delivery.ID, err)
	}
	return request{url: e.URL, msgID: d.Delivery.ID, timestamp: now, signature: sig, body: d.Payload}, nil
}

// record stores the attempt and what follows from it in one transaction.
func (w *Worker) record(ctx context.Context, d store.WebhookDispatch, n int, res result) error {
	now := w.now()
	a := store.WebhookAttempt{DeliveryID: d.Delivery.ID, Attempt: n, At: now,
		StatusCode: res.status, Error: res.reason, Duration: res.duration}
	state, next := store.WebhookSucceeded, time.Time{}
	switch classify(res.status) {
	case gone:
		state = store.WebhookFailed
	case retry:
		var ok bool
		if next, ok = w.opts.nextAttempt(n, now); ok {
			state = store.WebhookPending
		} else {
			state = store.WebhookExhausted
		}
	}
	return w.db.Tx(ctx, func(tx *store.Tx) error {
		recorded, err := store.RecordWebhookAttempt(ctx, tx, a, state, next)
		if err != nil || !recorded {
			return err
		}
		switch state {
		case store.WebhookFailed:
			return store.DisableWebhookEndpoint(ctx, tx, d.Endpoint.OrgID, d.Endpoint.ID, DisabledGone, now)
		case store.WebhookPending:
			rc, err := river.ClientFromContextSafely[*sql.Tx](ctx)
			if err != nil {
				return fmt.Errorf("schedule webhook attempt %d of %s: %w", n+1, d.Delivery.ID, err)
			}
			_, err = rc.InsertTx(ctx, tx.SQL(), DeliverArgs{DeliveryID: d.Delivery.ID, Attempt: n + 1}, attemptOpts(next, now))
			if err != nil {
				return fmt.Errorf("schedule webhook attempt %d of %s: %w", n+1, d.Delivery.ID, err)
			}
		}
		return nil
	})
}
