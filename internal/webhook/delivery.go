package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
)

// State is where a delivery is in its life (see the package documentation).
type State string

// Delivery states.
const (
	// StatePending: an attempt is scheduled at NextAttemptAt.
	StatePending State = store.WebhookPending
	// StateSucceeded: the receiver answered 2xx.
	StateSucceeded State = store.WebhookSucceeded
	// StateFailed: given up before the schedule ran out: the receiver
	// answered 410 Gone, or the endpoint was disabled.
	StateFailed State = store.WebhookFailed
	// StateExhausted: every attempt of the schedule failed.
	StateExhausted State = store.WebhookExhausted
)

// Delivery is one event sent (or to be sent) to one endpoint: an entry of
// the delivery log.
type Delivery struct {
	// ID is the webhook-id header, the same on every attempt.
	ID         string
	OrgID      string
	EndpointID string
	EventID    string
	EventType  string
	State      State
	// Attempts counts the requests made so far.
	Attempts int
	// NextAttemptAt is when the next attempt is due; zero once final.
	NextAttemptAt time.Time
	// LastStatusCode is the last response's HTTP status, 0 when there was
	// no response.
	LastStatusCode int
	// LastError is a short generic reason ("http status 500", "timeout",
	// "address not allowed"); never a response body.
	LastError string
	// LastResponseTime is how long the last attempt took.
	LastResponseTime time.Duration
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Attempt is one request of a delivery.
type Attempt struct {
	N            int // from 1
	At           time.Time
	StatusCode   int    // 0 when there was no response
	Error        string // "" on success; else as Delivery.LastError
	ResponseTime time.Duration
}

// Page sizes of Deliveries.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

func deliveryFromRow(r store.WebhookDelivery) Delivery {
	return Delivery{
		ID: r.ID, OrgID: r.OrgID, EndpointID: r.EndpointID, EventID: r.EventID, EventType: r.EventType,
		State: State(r.State), Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt,
		LastStatusCode: r.LastStatusCode, LastError: r.LastError, LastResponseTime: r.LastDuration,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// Deliveries pages through the delivery log of one endpoint of org, newest
// first. cursor is "" for the first page, then the next value of the page
// before; next is "" after the last page. limit <= 0 means DefaultPageSize
// and is capped at MaxPageSize. store.ErrNotFound if org has no such
// endpoint.
func (s *Service) Deliveries(ctx context.Context, org, endpointID, cursor string, limit int) ([]Delivery, string, error) {
	if cursor != "" && !id.Valid(deliveryPrefix, cursor) {
		return nil, "", invalid("malformed delivery cursor")
	}
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	q := s.db.Reader()
	if _, err := store.GetWebhookEndpoint(ctx, q, org, endpointID); err != nil {
		return nil, "", fmt.Errorf("list webhook deliveries: %w", err)
	}
	rows, err := store.ListWebhookDeliveries(ctx, q, org, endpointID, cursor, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list webhook deliveries: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	out := make([]Delivery, 0, len(rows))
	for _, r := range rows {
		out = append(out, deliveryFromRow(r))
	}
	return out, next, nil
}

// Delivery reads one delivery of org; store.ErrNotFound if org has none
// with that id.
func (s *Service) Delivery(ctx context.Context, org, deliveryID string) (Delivery, error) {
	r, err := store.GetWebhookDelivery(ctx, s.db.Reader(), org, deliveryID)
	if err != nil {
		return Delivery{}, fmt.Errorf("get webhook delivery: %w", err)
	}
	return deliveryFromRow(r), nil
}

// Attempts lists the requests of one delivery of org in order;
// store.ErrNotFound if org has no such delivery.
func (s *Service) Attempts(ctx context.Context, org, deliveryID string) ([]Attempt, error) {
	rows, err := store.ListWebhookAttempts(ctx, s.db.Reader(), org, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list webhook attempts: %w", err)
	}
	out := make([]Attempt, 0, len(rows))
	for _, r := range rows {
		out = append(out, Attempt{N: r.Attempt, At: r.At, StatusCode: r.StatusCode, Error: r.Error, ResponseTime: r.Duration})
	}
	return out, nil
}
