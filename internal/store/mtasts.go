package store

import (
	"context"
	"fmt"
	"time"
)

// MTASTSPolicyRow is a cached MTA-STS policy (RFC 8461 section 5.1): the
// policy body as fetched, the TXT record id it was fetched under, and when.
// It is public data about a recipient domain, shared by every organization.
type MTASTSPolicyRow struct {
	Domain    string
	Policy    string
	TXTID     string
	FetchedAt time.Time
	ExpiresAt time.Time
}

// GetMTASTSPolicy reads the cached policy of domain.
func GetMTASTSPolicy(ctx context.Context, q Querier, domain string) (MTASTSPolicyRow, error) {
	r := MTASTSPolicyRow{Domain: domain}
	var fetched, expires int64
	err := Scan(q.QueryRow(ctx, `SELECT policy, txt_id, fetched_at, expires_at FROM mtasts_policies WHERE domain = ?`, domain),
		&r.Policy, &r.TXTID, &fetched, &expires)
	if err != nil {
		return MTASTSPolicyRow{}, err
	}
	r.FetchedAt, r.ExpiresAt = FromMicros(fetched), FromMicros(expires)
	return r, nil
}

// PutMTASTSPolicy stores the policy of r.Domain, replacing what was there.
func PutMTASTSPolicy(ctx context.Context, tx *Tx, r MTASTSPolicyRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO mtasts_policies (domain, policy, txt_id, fetched_at, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (domain) DO UPDATE SET policy = excluded.policy, txt_id = excluded.txt_id,
			fetched_at = excluded.fetched_at, expires_at = excluded.expires_at`,
		r.Domain, r.Policy, r.TXTID, Micros(r.FetchedAt), Micros(r.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store MTA-STS policy: %w", err)
	}
	return nil
}
