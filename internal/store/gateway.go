package store

// Persistence for gateway connectors (package smtpd/connector). The rules —
// what a valid connector is, who may change one, how a connection matches
// it — live in that package; these functions only move rows, scoped by
// organization except for the listener's read of every enabled connector.

import (
	"context"
	"fmt"
	"time"
)

// GatewayConnectorRow is one row of gateway_connectors. The list columns
// are space-separated: IPRanges CIDRs, CertSHA256 lower-case hex digests,
// CertNames DNS names. ClientCA is a PEM bundle.
type GatewayConnectorRow struct {
	ID, OrgID, Name string
	IPRanges        string
	CertSHA256      string
	ClientCA        string
	CertNames       string
	TenantID        string
	RequireTLS      bool
	Enabled         bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

const gatewayConnectorColumns = `id, org_id, name, ip_ranges, cert_sha256, client_ca, cert_names, tenant_id,
	require_tls, enabled, created_at, updated_at`

func scanGatewayConnector(scan func(...any) error) (GatewayConnectorRow, error) {
	var r GatewayConnectorRow
	var created, updated int64
	err := scan(&r.ID, &r.OrgID, &r.Name, &r.IPRanges, &r.CertSHA256, &r.ClientCA, &r.CertNames, &r.TenantID,
		&r.RequireTLS, &r.Enabled, &created, &updated)
	if err != nil {
		return GatewayConnectorRow{}, mapError(err)
	}
	r.CreatedAt, r.UpdatedAt = FromMicros(created), FromMicros(updated)
	return r, nil
}

// InsertGatewayConnector adds a connector; ErrConflict when the id, or the
// name within the organization, is taken.
func InsertGatewayConnector(ctx context.Context, tx *Tx, r GatewayConnectorRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO gateway_connectors (`+gatewayConnectorColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OrgID, r.Name, r.IPRanges, r.CertSHA256, r.ClientCA, r.CertNames, r.TenantID,
		r.RequireTLS, r.Enabled, Micros(r.CreatedAt), Micros(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert gateway connector %s/%s: %w", r.OrgID, r.ID, mapError(err))
	}
	return nil
}

// GetGatewayConnector reads one connector of org; ErrNotFound when org has
// none with that id (including when another organization has it).
func GetGatewayConnector(ctx context.Context, q Querier, org, id string) (GatewayConnectorRow, error) {
	row := q.QueryRow(ctx, `SELECT `+gatewayConnectorColumns+` FROM gateway_connectors WHERE org_id = ? AND id = ?`, org, id)
	r, err := scanGatewayConnector(row.Scan)
	if err != nil {
		return GatewayConnectorRow{}, fmt.Errorf("read gateway connector %s/%s: %w", org, id, err)
	}
	return r, nil
}

// ListGatewayConnectors returns every connector of org, oldest first.
func ListGatewayConnectors(ctx context.Context, q Querier, org string) ([]GatewayConnectorRow, error) {
	return queryGatewayConnectors(ctx, q, `SELECT `+gatewayConnectorColumns+` FROM gateway_connectors
		WHERE org_id = ? ORDER BY id`, org)
}

// EnabledGatewayConnectors returns the enabled connectors of every active
// organization: what the gateway listener matches connections against.
func EnabledGatewayConnectors(ctx context.Context, q Querier) ([]GatewayConnectorRow, error) {
	return queryGatewayConnectors(ctx, q, `SELECT `+gatewayConnectorColumns+` FROM gateway_connectors
		WHERE enabled = ? AND org_id IN (SELECT id FROM organizations WHERE status = ?) ORDER BY id`, true, OrgActive)
}

func queryGatewayConnectors(ctx context.Context, q Querier, query string, args ...any) ([]GatewayConnectorRow, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list gateway connectors: %w", err)
	}
	defer rows.Close()
	var out []GatewayConnectorRow
	for rows.Next() {
		r, err := scanGatewayConnector(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list gateway connectors: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list gateway connectors: %w", err)
	}
	return out, nil
}

// UpdateGatewayConnector replaces a connector's settings (everything but
// id, org and created_at). ErrNotFound when org has no connector with that
// id; ErrConflict when the new name is taken.
func UpdateGatewayConnector(ctx context.Context, tx *Tx, r GatewayConnectorRow) error {
	res, err := tx.Exec(ctx, `UPDATE gateway_connectors SET name = ?, ip_ranges = ?, cert_sha256 = ?, client_ca = ?,
		cert_names = ?, tenant_id = ?, require_tls = ?, enabled = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
		r.Name, r.IPRanges, r.CertSHA256, r.ClientCA, r.CertNames, r.TenantID, r.RequireTLS, r.Enabled,
		Micros(r.UpdatedAt), r.OrgID, r.ID)
	return gatewayOneRow(res, err, "update gateway connector %s/%s", r.OrgID, r.ID)
}

// DeleteGatewayConnector removes a connector of org; ErrNotFound when org
// has none with that id.
func DeleteGatewayConnector(ctx context.Context, tx *Tx, org, id string) error {
	res, err := tx.Exec(ctx, `DELETE FROM gateway_connectors WHERE org_id = ? AND id = ?`, org, id)
	return gatewayOneRow(res, err, "delete gateway connector %s/%s", org, id)
}

func gatewayOneRow(res interface{ RowsAffected() (int64, error) }, err error, format string, args ...any) error {
	if err != nil {
		return fmt.Errorf(format+": %w", append(args, mapError(err))...)
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

// SenderDomainOwner returns the organization that has domain as a verified
// sender domain, or ErrNotFound. The gateway uses it to tell apart
// organizations whose connectors share a source (a provider's ranges).
func SenderDomainOwner(ctx context.Context, q Querier, domain string) (string, error) {
	var org string
	err := Scan(q.QueryRow(ctx, `SELECT org_id FROM sender_domains WHERE domain = ? AND status = 'verified'`, domain), &org)
	if err != nil {
		return "", fmt.Errorf("sender domain owner: %w", err)
	}
	return org, nil
}
