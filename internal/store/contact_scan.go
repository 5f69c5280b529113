package store

import (
	"context"
	"fmt"
)

// The fast path of contact.Scan: contacts read in pages without joins,
// their keys read per page by the workers that open them, and the
// organization's suppressions read once. Per row this saves the two index
// probes of contactSelect's joins, and it lets the key reads run on the
// opening goroutines in parallel with the page reads.

// ScanContactRows returns a page of an organization's contacts in id order
// after after: clear columns and, when phi, the sealed map; without keys
// or suppressions (see ContactKeysBetween, SuppressionReasons).
func ScanContactRows(ctx context.Context, db Querier, orgID, after string, limit int, phi bool) ([]ContactRow, error) {
	phiCol := "c.phi"
	if !phi {
		phiCol = "''"
	}
	rows, err := db.Query(ctx, `SELECT c.org_id, c.id, c.email_index, c.status, c.timezone, c.locale, c.attrs, `+phiCol+`, c.consent_id,
		c.consent_at, c.consent_expires, c.consent_revoked, c.created_at, c.updated_at
		FROM contacts c WHERE c.org_id = ? AND c.id > ? ORDER BY c.id LIMIT ?`, orgID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("scan contacts: %w", err)
	}
	defer rows.Close()
	out := make([]ContactRow, 0, limit)
	for rows.Next() {
		var r ContactRow
		var cAt, cExp, cRev, created, updated int64
		var phiVal any
		if err := rows.Scan(&r.OrgID, &r.ID, &r.EmailIndex, &r.Status, &r.Timezone, &r.Locale, &r.Attrs, &phiVal, &r.ConsentID,
			&cAt, &cExp, &cRev, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan contacts: %w", mapError(err))
		}
		if b, ok := phiVal.([]byte); ok {
			r.PHI = b
		}
		r.ConsentAt, r.ConsentExpires, r.ConsentRevoked = FromMicros(cAt), FromMicros(cExp), FromMicros(cRev)
		r.CreatedAt, r.UpdatedAt = FromMicros(created), FromMicros(updated)
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// ContactKey is one contact's wrapped key.
type ContactKeyRow struct {
	ContactID  string
	Version    int
	WrappedKey []byte
}

// ContactKeysBetween returns the wrapped keys of the organization's
// contacts with ids in (after, last], in id order.
func ContactKeysBetween(ctx context.Context, db Querier, orgID, after, last string) ([]ContactKeyRow, error) {
	rows, err := db.Query(ctx, `SELECT contact_id, dek_version, wrapped_key FROM contact_keys WHERE org_id = ? AND contact_id > ? AND contact_id <= ?
		ORDER BY contact_id`, orgID, after, last)
	if err != nil {
		return nil, fmt.Errorf("read contact keys: %w", err)
	}
	defer rows.Close()
	var out []ContactKeyRow
	for rows.Next() {
		var k ContactKeyRow
		if err := rows.Scan(&k.ContactID, &k.Version, &k.WrappedKey); err != nil {
			return nil, fmt.Errorf("read contact keys: %w", mapError(err))
		}
		out = append(out, k)
	}
	return out, mapError(rows.Err())
}

// SuppressionReasons returns the organization's suppressions, reason by
// address index, if it has at most limit of them (ok false otherwise).
func SuppressionReasons(ctx context.Context, db Querier, orgID string, limit int) (map[string]string, bool, error) {
	rows, err := db.Query(ctx, `SELECT address_index, reason FROM suppressions WHERE org_id = ? LIMIT ?`, orgID, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("read suppressions: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var ix []byte
		var reason string
		if err := rows.Scan(&ix, &reason); err != nil {
			return nil, false, fmt.Errorf("read suppressions: %w", mapError(err))
		}
		out[string(ix)] = reason
	}
	if err := rows.Err(); err != nil {
		return nil, false, mapError(err)
	}
	return out, len(out) <= limit, nil
}
