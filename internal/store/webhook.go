package store

import (
	"context"
	"fmt"
	"time"
)

// WebhookEndpoint is one row of webhook_endpoints as stored: Secret and
// PreviousSecret are keyring ciphertext (PreviousSecret nil when there is
// none), both sealed with data-key version DEKVersion. EventTypes is the
// space-separated subscription list, empty for all events.
type WebhookEndpoint struct {
	OrgID          string
	ID             string
	URL            string
	Description    string
	EventTypes     string
	Secret         []byte
	PreviousSecret []byte
	PreviousUntil  time.Time
	DEKVersion     int
	Enabled        bool
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// WebhookEndpointsTable describes webhook_endpoints for the keyring's
// re-encryption and status.
func WebhookEndpointsTable() SealedTable {
	return SealedTable{
		Table:         "webhook_endpoints",
		ScopeColumn:   "org_id",
		IDColumn:      "id",
		VersionColumn: "dek_version",
		Columns:       []string{"secret", "previous_secret"},
	}
}

const webhookEndpointColumns = `org_id, id, url, description, event_types, secret, previous_secret,
	previous_until, dek_version, enabled, disabled_reason, created_at, updated_at`

func scanWebhookEndpoint(scan func(...any) error) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	var until, created, updated int64
	err := scan(&e.OrgID, &e.ID, &e.URL, &e.Description, &e.EventTypes, &e.Secret, &e.PreviousSecret,
		&until, &e.DEKVersion, &e.Enabled, &e.DisabledReason, &created, &updated)
	if err != nil {
		return WebhookEndpoint{}, err
	}
	e.PreviousUntil, e.CreatedAt, e.UpdatedAt = FromMicros(until), FromMicros(created), FromMicros(updated)
	return e, nil
}

// webhookNullable stores a nil slice as SQL NULL.
func webhookNullable(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// InsertWebhookEndpoint adds an endpoint; ErrConflict if the id exists.
func InsertWebhookEndpoint(ctx context.Context, tx *Tx, e WebhookEndpoint) error {
	_, err := tx.Exec(ctx, `INSERT INTO webhook_endpoints (`+webhookEndpointColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.OrgID, e.ID, e.URL, e.Description, e.EventTypes, e.Secret, webhookNullable(e.PreviousSecret),
		Micros(e.PreviousUntil), e.DEKVersion, e.Enabled, e.DisabledReason, Micros(e.CreatedAt), Micros(e.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert webhook endpoint %s/%s: %w", e.OrgID, e.ID, err)
	}
	return nil
}

// GetWebhookEndpoint reads one endpoint of org; ErrNotFound if org has none
// with that id (including when another organization has it).
func GetWebhookEndpoint(ctx context.Context, q Querier, org, id string) (WebhookEndpoint, error) {
	row := q.QueryRow(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints WHERE org_id = ? AND id = ?`, org, id)
	e, err := scanWebhookEndpoint(row.Scan)
	if err != nil {
		return WebhookEndpoint{}, fmt.Errorf("read webhook endpoint %s/%s: %w", org, id, mapError(err))
	}
	return e, nil
}

// ListWebhookEndpoints returns every endpoint of org, oldest first.
func ListWebhookEndpoints(ctx context.Context, q Querier, org string) ([]WebhookEndpoint, error) {
	rows, err := q.Query(ctx, `SELECT `+webhookEndpointColumns+` FROM webhook_endpoints WHERE org_id = ? ORDER BY id`, org)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints of %s: %w", org, err)
	}
	defer rows.Close()
	var out []WebhookEndpoint
	for rows.Next() {
		e, err := scanWebhookEndpoint(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list webhook endpoints of %s: %w", org, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list webhook endpoints of %s: %w", org, err)
	}
	return out, nil
}

// UpdateWebhookEndpoint replaces an endpoint's settings (url, description,
// event types, enabled, disabled reason, updated_at); the secrets are left
// alone. ErrNotFound if org has no endpoint with that id.
func UpdateWebhookEndpoint(ctx context.Context, tx *Tx, e WebhookEndpoint) error {
	res, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET url = ?, description = ?, event_types = ?,
		enabled = ?, disabled_reason = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
		e.URL, e.Description, e.EventTypes, e.Enabled, e.DisabledReason, Micros(e.UpdatedAt), e.OrgID, e.ID)
	return webhookOneRow(res, err, "update webhook endpoint %s/%s", e.OrgID, e.ID)
}

// UpdateWebhookSecrets replaces an endpoint's sealed secrets, both sealed
// with version. ErrNotFound if org has no endpoint with that id.
func UpdateWebhookSecrets(ctx context.Context, tx *Tx, org, id string, secret, previous []byte, previousUntil time.Time, version int, at time.Time) error {
	res, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET secret = ?, previous_secret = ?, previous_until = ?,
		dek_version = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
		secret, webhookNullable(previous), Micros(previousUntil), version, Micros(at), org, id)
	return webhookOneRow(res, err, "update webhook secret %s/%s", org, id)
}

// DisableWebhookEndpoint turns an endpoint off with a reason. ErrNotFound if
// org has no endpoint with that id.
func DisableWebhookEndpoint(ctx context.Context, tx *Tx, org, id, reason string, at time.Time) error {
	res, err := tx.Exec(ctx, `UPDATE webhook_endpoints SET enabled = ?, disabled_reason = ?, updated_at = ?
		WHERE org_id = ? AND id = ?`, false, reason, Micros(at), org, id)
	return webhookOneRow(res, err, "disable webhook endpoint %s/%s", org, id)
}

// DeleteWebhookEndpoint removes an endpoint and, by cascade, its deliveries
// and their attempts. ErrNotFound if org has no endpoint with that id.
func DeleteWebhookEndpoint(ctx context.Context, tx *Tx, org, id string) error {
	res, err := tx.Exec(ctx, `DELETE FROM webhook_endpoints WHERE org_id = ? AND id = ?`, org, id)
	return webhookOneRow(res, err, "delete webhook endpoint %s/%s", org, id)
}

// webhookOneRow turns the result of a statement meant to touch exactly one row
// into nil, ErrNotFound (no row) or the wrapped error.
func webhookOneRow(res interface{ RowsAffected() (int64, error) }, err error, format string, args ...any) error {
	if err != nil {
		return fmt.Errorf(format+": %w", append(args, err)...)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf(format+": %w", append(args, err)...)
	}
	if n == 0 {
		return fmt.Errorf(format+": %w", append(args, ErrNotFound)...)
	}
	return nil
}
