package store

// Persistence for package auth: passkeys (WebAuthn credentials) and the
// ceremonies in progress that prove them. A credential row holds the
// credential record as JSON (public key, counter, flags; nothing secret)
// with its counter mirrored in sign_count for conditional updates. A
// ceremony's state lives in login_flows.ceremony or sessions.ceremony and
// is taken exactly once: TakeLoginFlowCeremony and TakeSessionCeremony
// clear it with a conditional UPDATE, so two requests racing with one
// challenge cannot both use it.

import (
	"context"
	"fmt"
	"time"
)

// WebAuthnCredentialRow is one row of webauthn_credentials. Credential is
// the JSON of the library's credential record.
type WebAuthnCredentialRow struct {
	ID           string
	OrgID        string
	UserID       string
	CredentialID []byte
	Credential   string
	Name         string
	SignCount    int64
	CreatedAt    time.Time
	LastUsedAt   time.Time
}

const webauthnColumns = `id, org_id, user_id, credential_id, credential, name, sign_count, created_at, last_used_at`

func scanWebAuthn(scan func(...any) error) (WebAuthnCredentialRow, error) {
	var r WebAuthnCredentialRow
	var created, used int64
	if err := scan(&r.ID, &r.OrgID, &r.UserID, &r.CredentialID, &r.Credential, &r.Name, &r.SignCount, &created, &used); err != nil {
		return WebAuthnCredentialRow{}, mapError(err)
	}
	r.CreatedAt, r.LastUsedAt = FromMicros(created), FromMicros(used)
	return r, nil
}

// InsertWebAuthnCredential adds a passkey; ErrConflict if its credential id
// is registered already (to anyone).
func InsertWebAuthnCredential(ctx context.Context, tx *Tx, r WebAuthnCredentialRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO webauthn_credentials (`+webauthnColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OrgID, r.UserID, r.CredentialID, r.Credential, r.Name, r.SignCount, Micros(r.CreatedAt), Micros(r.LastUsedAt))
	if err != nil {
		return fmt.Errorf("insert passkey %s: %w", r.ID, err)
	}
	return nil
}

// WebAuthnCredentialIDTaken reports whether a credential id is registered
// to anyone. Checked before InsertWebAuthnCredential, because a failed
// INSERT would abort a PostgreSQL transaction.
func WebAuthnCredentialIDTaken(ctx context.Context, q Querier, credentialID []byte) (bool, error) {
	var n int
	if err := Scan(q.QueryRow(ctx, `SELECT count(*) FROM webauthn_credentials WHERE credential_id = ?`, credentialID), &n); err != nil {
		return false, fmt.Errorf("look up passkey credential id: %w", err)
	}
	return n > 0, nil
}

// ListWebAuthnCredentials lists the passkeys of a user of orgID, oldest
// first.
func ListWebAuthnCredentials(ctx context.Context, q Querier, orgID, userID string) ([]WebAuthnCredentialRow, error) {
	rows, err := q.Query(ctx, `SELECT `+webauthnColumns+` FROM webauthn_credentials WHERE org_id = ? AND user_id = ?
		ORDER BY created_at, id`, orgID, userID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys of user %s: %w", userID, err)
	}
	defer rows.Close()
	var out []WebAuthnCredentialRow
	for rows.Next() {
		r, err := scanWebAuthn(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list passkeys of user %s: %w", userID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetWebAuthnCredential reads a passkey of orgID by id; ErrNotFound if
// orgID has no such passkey.
func GetWebAuthnCredential(ctx context.Context, q Querier, orgID, id string) (WebAuthnCredentialRow, error) {
	r, err := scanWebAuthn(q.QueryRow(ctx, `SELECT `+webauthnColumns+` FROM webauthn_credentials WHERE org_id = ? AND id = ?`, orgID, id).Scan)
	if err != nil {
		return WebAuthnCredentialRow{}, fmt.Errorf("read passkey %s: %w", id, err)
	}
	return r, nil
}

// RecordWebAuthnUse stores the credential record after a sign-in with its
// new counter, if the stored counter is still prev, and reports whether it
// was: a concurrent sign-in that advanced the counter first makes this one
// lose.
func RecordWebAuthnUse(ctx context.Context, tx *Tx, id, credential string, prev, count int64, at time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE webauthn_credentials SET credential = ?, sign_count = ?, last_used_at = ?
		WHERE id = ? AND sign_count = ?`, credential, count, Micros(at), id, prev)
	if err != nil {
		return false, fmt.Errorf("record use of passkey %s: %w", id, err)
	}
	n, err := authAffected(res, "record use of passkey "+id)
	return n == 1, err
}

// DeleteWebAuthnCredential removes a passkey of a user of orgID and reports
// whether it existed.
func DeleteWebAuthnCredential(ctx context.Context, tx *Tx, orgID, userID, id string) (bool, error) {
	res, err := tx.Exec(ctx, `DELETE FROM webauthn_credentials WHERE org_id = ? AND user_id = ? AND id = ?`, orgID, userID, id)
	if err != nil {
		return false, fmt.Errorf("delete passkey %s: %w", id, err)
	}
	n, err := authAffected(res, "delete passkey "+id)
	return n == 1, err
}

// TakeLoginFlowCeremony returns the ceremony stored with a flow and clears
// it, or "" when there is none (or a concurrent request took it first).
func TakeLoginFlowCeremony(ctx context.Context, tx *Tx, id string) (string, error) {
	var c string
	if err := Scan(tx.QueryRow(ctx, `SELECT ceremony FROM login_flows WHERE id = ?`, id), &c); err != nil {
		return "", fmt.Errorf("take ceremony of login flow %s: %w", id, err)
	}
	return takeCeremony(ctx, tx, `UPDATE login_flows SET ceremony = '' WHERE id = ? AND ceremony = ?`, c, id)
}

// TakeSessionCeremony returns the ceremony stored with an open session of
// orgID and clears it, or "" when there is none.
func TakeSessionCeremony(ctx context.Context, tx *Tx, orgID, id string) (string, error) {
	var c string
	err := Scan(tx.QueryRow(ctx, `SELECT ceremony FROM sessions WHERE org_id = ? AND id = ? AND ended_at = 0`, orgID, id), &c)
	if err != nil {
		return "", fmt.Errorf("take ceremony of session %s: %w", id, err)
	}
	return takeCeremony(ctx, tx, `UPDATE sessions SET ceremony = '' WHERE id = ? AND ceremony = ?`, c, id)
}

func takeCeremony(ctx context.Context, tx *Tx, update, c, id string) (string, error) {
	if c == "" {
		return "", nil
	}
	res, err := tx.Exec(ctx, update, id, c)
	if err != nil {
		return "", fmt.Errorf("take ceremony of %s: %w", id, err)
	}
	n, err := authAffected(res, "take ceremony of "+id)
	if err != nil || n != 1 {
		return "", err
	}
	return c, nil
}
