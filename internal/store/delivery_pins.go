package store

import (
	"context"
	"fmt"
	"time"
)

// TransportPin is an organization's pinned verified-TLS policy for a partner
// domain that publishes neither MTA-STS nor DANE: delivery to the domain is
// verified TLS to MX hosts matching MXPattern (empty: any MX host of the
// domain), with a certificate valid under the web PKI and, when CertSHA256
// is set, exactly that leaf certificate (lower-case hex SHA-256 of its DER).
type TransportPin struct {
	OrgID, Domain string
	MXPattern     string
	CertSHA256    string
	CreatedAt     time.Time
}

// GetTransportPin reads the organization's pin for domain.
func GetTransportPin(ctx context.Context, q Querier, orgID, domain string) (TransportPin, error) {
	p := TransportPin{OrgID: orgID, Domain: domain}
	var created int64
	err := Scan(q.QueryRow(ctx, `SELECT mx_pattern, cert_sha256, created_at FROM transport_pins WHERE org_id = ? AND domain = ?`,
		orgID, domain), &p.MXPattern, &p.CertSHA256, &created)
	if err != nil {
		return TransportPin{}, err
	}
	p.CreatedAt = FromMicros(created)
	return p, nil
}

// PutTransportPin adds or replaces the organization's pin for p.Domain.
func PutTransportPin(ctx context.Context, tx *Tx, p TransportPin) error {
	_, err := tx.Exec(ctx, `INSERT INTO transport_pins (org_id, domain, mx_pattern, cert_sha256, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (org_id, domain) DO UPDATE SET mx_pattern = excluded.mx_pattern, cert_sha256 = excluded.cert_sha256`,
		p.OrgID, p.Domain, p.MXPattern, p.CertSHA256, Micros(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("store transport pin: %w", err)
	}
	return nil
}

// DeleteTransportPin removes a pin and reports whether there was one.
func DeleteTransportPin(ctx context.Context, tx *Tx, orgID, domain string) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM transport_pins WHERE org_id = ? AND domain = ?`, orgID, domain)
	if err != nil {
		return false, fmt.Errorf("delete transport pin: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
