package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ConsentRow is one marketing authorization (HIPAA 164.508(a)(3)).
type ConsentRow struct {
	OrgID, ID, ContactID string
	GrantedAt            time.Time
	Method               string
	TextVersion          string
	Source               string
	ExpiresAt            time.Time
	ExpiryEvent          string
	RevokedAt            time.Time
	RevokeSource         string
	CreatedAt            time.Time
}

const consentColumns = `org_id, id, contact_id, granted_at, method, text_version, source, expires_at, expiry_event,
	revoked_at, revoke_source, created_at`

// InsertConsents adds authorizations.
func InsertConsents(ctx context.Context, tx *Tx, rows []ConsentRow) error {
	for start, end := range runs(len(rows), contactBatch) {
		part := rows[start:end]
		args := make([]any, 0, len(part)*12)
		for _, r := range part {
			args = append(args, r.OrgID, r.ID, r.ContactID, Micros(r.GrantedAt), r.Method, r.TextVersion, r.Source,
				Micros(r.ExpiresAt), r.ExpiryEvent, Micros(r.RevokedAt), r.RevokeSource, Micros(r.CreatedAt))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO contact_consents (`+consentColumns+`) VALUES `+rowPlaceholders(len(part), 12), args...); err != nil {
			return fmt.Errorf("insert consents: %w", err)
		}
	}
	return nil
}

func scanConsent(scan func(...any) error) (ConsentRow, error) {
	var r ConsentRow
	var granted, expires, revoked, created int64
	if err := scan(&r.OrgID, &r.ID, &r.ContactID, &granted, &r.Method, &r.TextVersion, &r.Source, &expires, &r.ExpiryEvent,
		&revoked, &r.RevokeSource, &created); err != nil {
		return ConsentRow{}, mapError(err)
	}
	r.GrantedAt, r.ExpiresAt, r.RevokedAt, r.CreatedAt = FromMicros(granted), FromMicros(expires), FromMicros(revoked), FromMicros(created)
	return r, nil
}

// GetConsent reads one authorization.
func GetConsent(ctx context.Context, q Querier, orgID, id string) (ConsentRow, error) {
	r, err := scanConsent(q.QueryRow(ctx, `SELECT `+consentColumns+` FROM contact_consents WHERE org_id = ? AND id = ?`, orgID, id).Scan)
	if err != nil {
		return ConsentRow{}, fmt.Errorf("read consent %s/%s: %w", orgID, id, err)
	}
	return r, nil
}

// ListConsents returns a contact's authorizations, newest grant first.
func ListConsents(ctx context.Context, q Querier, orgID, contactID string) ([]ConsentRow, error) {
	rows, err := q.Query(ctx, `SELECT `+consentColumns+` FROM contact_consents WHERE org_id = ? AND contact_id = ?
		ORDER BY granted_at DESC, id DESC`, orgID, contactID)
	if err != nil {
		return nil, fmt.Errorf("list consents: %w", err)
	}
	defer rows.Close()
	var out []ConsentRow
	for rows.Next() {
		r, err := scanConsent(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list consents: %w", err)
		}
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// RevokeConsent records a revocation once: a revoked authorization stays
// revoked at its first revocation time. ErrNotFound when the organization
// has no such authorization or it is revoked already.
func RevokeConsent(ctx context.Context, tx *Tx, orgID, id string, at time.Time, source string) error {
	res, err := tx.Exec(ctx, `UPDATE contact_consents SET revoked_at = ?, revoke_source = ? WHERE org_id = ? AND id = ? AND revoked_at = 0`,
		Micros(at), source, orgID, id)
	return contactOne(res, err, "revoke consent %s/%s", orgID, id)
}

// PutConsentText records an authorization text under its version; it
// reports ErrConflict when the version exists with a different text.
func PutConsentText(ctx context.Context, tx *Tx, orgID, version, text string, at time.Time) error {
	var have string
	err := Scan(tx.QueryRow(ctx, `SELECT text FROM contact_consent_texts WHERE org_id = ? AND version = ?`, orgID, version), &have)
	switch {
	case err == nil && have == text:
		return nil
	case err == nil:
		return fmt.Errorf("authorization text %s: %w", version, ErrConflict)
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("read authorization text: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO contact_consent_texts (org_id, version, text, created_at) VALUES (?, ?, ?, ?)`,
		orgID, version, text, Micros(at)); err != nil {
		return fmt.Errorf("insert authorization text: %w", err)
	}
	return nil
}

// GetConsentText reads an authorization text by version.
func GetConsentText(ctx context.Context, q Querier, orgID, version string) (string, error) {
	var text string
	if err := Scan(q.QueryRow(ctx, `SELECT text FROM contact_consent_texts WHERE org_id = ? AND version = ?`, orgID, version), &text); err != nil {
		return "", fmt.Errorf("read authorization text: %w", err)
	}
	return text, nil
}
