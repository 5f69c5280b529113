package store

import (
	"context"
	"fmt"
	"time"
)

// Webhook delivery states (webhook_deliveries.state). Pending deliveries have
// a job scheduled at next_attempt_at; the other three are final.
const (
	WebhookPending   = "pending"
	WebhookSucceeded = "succeeded"
	WebhookFailed    = "failed"
	WebhookExhausted = "exhausted"
)

// WebhookEvent is one row of webhook_events: Payload is the exact request
// body sent to every endpoint that subscribed to the event.
type WebhookEvent struct {
	OrgID     string
	ID        string
	Type      string
	Payload   []byte
	CreatedAt time.Time
}

// WebhookDelivery is one row of webhook_deliveries: one event for one
// endpoint. LastDuration is the response time of the last attempt.
type WebhookDelivery struct {
	ID             string
	OrgID          string
	EndpointID     string
	EventID        string
	EventType      string
	State          string
	Attempts       int
	NextAttemptAt  time.Time
	LastStatusCode int
	LastError      string
	LastDuration   time.Duration
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// WebhookAttempt is one row of webhook_attempts: one HTTP request of a
// delivery. Attempt counts from 1.
type WebhookAttempt struct {
	DeliveryID string
	Attempt    int
	At         time.Time
	StatusCode int
	Error      string
	Duration   time.Duration
}

// WebhookDispatch is what one delivery attempt needs, read in one query.
type WebhookDispatch struct {
	Delivery WebhookDelivery
	Payload  []byte
	Endpoint WebhookEndpoint
}

// InsertWebhookEvent adds an event unless org already has one with that id,
// and reports whether it did (ON CONFLICT DO NOTHING keeps a PostgreSQL
// transaction usable).
func InsertWebhookEvent(ctx context.Context, tx *Tx, ev WebhookEvent) (bool, error) {
	res, err := tx.Exec(ctx, `INSERT INTO webhook_events (org_id, id, type, payload, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (org_id, id) DO NOTHING`, ev.OrgID, ev.ID, ev.Type, ev.Payload, Micros(ev.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("insert webhook event %s/%s: %w", ev.OrgID, ev.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert webhook event %s/%s: %w", ev.OrgID, ev.ID, err)
	}
	return n == 1, nil
}

const webhookDeliveryColumns = `d.id, d.org_id, d.endpoint_id, d.event_id, d.event_type, d.state, d.attempts,
	d.next_attempt_at, d.last_status_code, d.last_error, d.last_duration_us, d.created_at, d.updated_at`

func webhookDeliveryDest(d *WebhookDelivery, next, dur, created, updated *int64) []any {
	return []any{&d.ID, &d.OrgID, &d.EndpointID, &d.EventID, &d.EventType, &d.State, &d.Attempts,
		next, &d.LastStatusCode, &d.LastError, dur, created, updated}
}

func webhookDeliveryTimes(d *WebhookDelivery, next, dur, created, updated int64) {
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = FromMicros(next), FromMicros(created), FromMicros(updated)
	d.LastDuration = time.Duration(dur) * time.Microsecond
}

func scanWebhookDelivery(scan func(...any) error) (WebhookDelivery, error) {
	var d WebhookDelivery
	var next, dur, created, updated int64
	if err := scan(webhookDeliveryDest(&d, &next, &dur, &created, &updated)...); err != nil {
		return WebhookDelivery{}, err
	}
	webhookDeliveryTimes(&d, next, dur, created, updated)
	return d, nil
}

// InsertWebhookDelivery adds a delivery; ErrConflict if the id exists.
func InsertWebhookDelivery(ctx context.Context, tx *Tx, d WebhookDelivery) error {
	_, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (id, org_id, endpoint_id, event_id, event_type, state,
		attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.OrgID, d.EndpointID, d.EventID, d.EventType, d.State, d.Attempts,
		Micros(d.NextAttemptAt), Micros(d.CreatedAt), Micros(d.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert webhook delivery %s: %w", d.ID, err)
	}
	return nil
}

// GetWebhookDelivery reads one delivery of org; ErrNotFound if org has none
// with that id.
func GetWebhookDelivery(ctx context.Context, q Querier, org, id string) (WebhookDelivery, error) {
	row := q.QueryRow(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries d WHERE d.org_id = ? AND d.id = ?`, org, id)
	d, err := scanWebhookDelivery(row.Scan)
	if err != nil {
		return WebhookDelivery{}, fmt.Errorf("read webhook delivery %s/%s: %w", org, id, mapError(err))
	}
	return d, nil
}

// ListWebhookDeliveries returns up to limit deliveries of one endpoint of
// org, newest first, with ids below before (all when before is "").
func ListWebhookDeliveries(ctx context.Context, q Querier, org, endpointID, before string, limit int) ([]WebhookDelivery, error) {
	query := `SELECT ` + webhookDeliveryColumns + ` FROM webhook_deliveries d WHERE d.endpoint_id = ? AND d.org_id = ?`
	args := []any{endpointID, org}
	if before != "" {
		query += ` AND d.id < ?`
		args = append(args, before)
	}
	query += ` ORDER BY d.id DESC LIMIT ?`
	rows, err := q.Query(ctx, query, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries of %s/%s: %w", org, endpointID, err)
	}
	defer rows.Close()
	var out []WebhookDelivery
	for rows.Next() {
		d, err := scanWebhookDelivery(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list webhook deliveries of %s/%s: %w", org, endpointID, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list webhook deliveries of %s/%s: %w", org, endpointID, err)
	}
	return out, nil
}

// GetWebhookDispatch reads a delivery with its event's payload and its
// endpoint; ErrNotFound if the delivery does not exist (its endpoint was
// deleted, say).
func GetWebhookDispatch(ctx context.Context, q Querier, deliveryID string) (WebhookDispatch, error) {
	var w WebhookDispatch
	var next, dur, created, updated int64
	var until, epCreated, epUpdated int64
	dest := webhookDeliveryDest(&w.Delivery, &next, &dur, &created, &updated)
	e := &w.Endpoint
	dest = append(dest, &w.Payload, &e.OrgID, &e.ID, &e.URL, &e.Description, &e.EventTypes, &e.Secret,
		&e.PreviousSecret, &until, &e.DEKVersion, &e.Enabled, &e.DisabledReason, &epCreated, &epUpdated)
	err := Scan(q.QueryRow(ctx, `SELECT `+webhookDeliveryColumns+`, ev.payload,
		e.org_id, e.id, e.url, e.description, e.event_types, e.secret, e.previous_secret,
		e.previous_until, e.dek_version, e.enabled, e.disabled_reason, e.created_at, e.updated_at
		FROM webhook_deliveries d
		JOIN webhook_events ev ON ev.org_id = d.org_id AND ev.id = d.event_id
		JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.org_id = d.org_id
		WHERE d.id = ?`, deliveryID), dest...)
	if err != nil {
		return WebhookDispatch{}, fmt.Errorf("read webhook delivery %s: %w", deliveryID, err)
	}
	webhookDeliveryTimes(&w.Delivery, next, dur, created, updated)
	e.PreviousUntil, e.CreatedAt, e.UpdatedAt = FromMicros(until), FromMicros(epCreated), FromMicros(epUpdated)
	return w, nil
}

// RecordWebhookAttempt stores attempt a of a pending delivery: the
// delivery moves to state (with nextAttemptAt when it stays pending) and
// the attempt is added to its log. It changes nothing and reports false
// unless the delivery is still pending with a.Attempt-1 attempts, so a job
// run twice records its attempt once.
func RecordWebhookAttempt(ctx context.Context, tx *Tx, a WebhookAttempt, state string, nextAttemptAt time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?,
		last_status_code = ?, last_error = ?, last_duration_us = ?, updated_at = ?
		WHERE id = ? AND state = ? AND attempts = ?`,
		state, a.Attempt, Micros(nextAttemptAt), a.StatusCode, a.Error, a.Duration.Microseconds(), Micros(a.At),
		a.DeliveryID, WebhookPending, a.Attempt-1)
	if err != nil {
		return false, fmt.Errorf("record webhook attempt %s #%d: %w", a.DeliveryID, a.Attempt, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record webhook attempt %s #%d: %w", a.DeliveryID, a.Attempt, err)
	}
	if n == 0 {
		return false, nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_us)
		VALUES (?, ?, ?, ?, ?, ?)`, a.DeliveryID, a.Attempt, Micros(a.At), a.StatusCode, a.Error, a.Duration.Microseconds())
	if err != nil {
		return false, fmt.Errorf("record webhook attempt %s #%d: %w", a.DeliveryID, a.Attempt, err)
	}
	return true, nil
}

// FailWebhookDelivery ends a pending delivery that has had attempts
// attempts without trying again (its endpoint was disabled), keeping the
// reason in last_error. Like RecordWebhookAttempt it reports false and
// changes nothing if the delivery moved on meanwhile.
func FailWebhookDelivery(ctx context.Context, tx *Tx, id string, attempts int, reason string, at time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET state = ?, next_attempt_at = 0, last_error = ?, updated_at = ?
		WHERE id = ? AND state = ? AND attempts = ?`, WebhookFailed, reason, Micros(at), id, WebhookPending, attempts)
	if err != nil {
		return false, fmt.Errorf("fail webhook delivery %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("fail webhook delivery %s: %w", id, err)
	}
	return n == 1, nil
}

// ListWebhookAttempts returns the attempts of one delivery of org in order;
// ErrNotFound if org has no such delivery.
func ListWebhookAttempts(ctx context.Context, q Querier, org, deliveryID string) ([]WebhookAttempt, error) {
	if _, err := GetWebhookDelivery(ctx, q, org, deliveryID); err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `SELECT attempt, at, status_code, error, duration_us FROM webhook_attempts
		WHERE delivery_id = ? ORDER BY attempt`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list webhook attempts of %s: %w", deliveryID, err)
	}
	defer rows.Close()
	var out []WebhookAttempt
	for rows.Next() {
		a := WebhookAttempt{DeliveryID: deliveryID}
		var at, dur int64
		if err := rows.Scan(&a.Attempt, &at, &a.StatusCode, &a.Error, &dur); err != nil {
			return nil, fmt.Errorf("list webhook attempts of %s: %w", deliveryID, err)
		}
		a.At, a.Duration = FromMicros(at), time.Duration(dur)*time.Microsecond
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list webhook attempts of %s: %w", deliveryID, err)
	}
	return out, nil
}
