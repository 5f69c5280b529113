package store

// Persistence for package auth: recovery codes (stored hashed, single use)
// and the counts of second factors shown with a user.

import (
	"context"
	"fmt"
	"time"
)

// ReplaceRecoveryCodes deletes every recovery code of a user and stores the
// given hashes as fresh, unused codes.
func ReplaceRecoveryCodes(ctx context.Context, tx *Tx, userID string, hashes [][]byte, at time.Time) error {
	if err := DeleteRecoveryCodes(ctx, tx, userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)`,
			userID, h, Micros(at)); err != nil {
			return fmt.Errorf("store recovery codes of user %s: %w", userID, err)
		}
	}
	return nil
}

// DeleteRecoveryCodes removes every recovery code of a user.
func DeleteRecoveryCodes(ctx context.Context, tx *Tx, userID string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("delete recovery codes of user %s: %w", userID, err)
	}
	return nil
}

// UseRecoveryCode marks the unused code with this hash as used and reports
// whether there was one. The condition on used_at makes each code single
// use even under concurrent requests.
func UseRecoveryCode(ctx context.Context, tx *Tx, userID string, hash []byte, at time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at = 0`,
		Micros(at), userID, hash)
	if err != nil {
		return false, fmt.Errorf("use recovery code of user %s: %w", userID, err)
	}
	n, err := authAffected(res, "use recovery code of user "+userID)
	return n == 1, err
}

// CountRecoveryCodes counts a user's unused recovery codes.
func CountRecoveryCodes(ctx context.Context, q Querier, userID string) (int, error) {
	var n int
	if err := Scan(q.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at = 0`, userID), &n); err != nil {
		return 0, fmt.Errorf("count recovery codes of user %s: %w", userID, err)
	}
	return n, nil
}

// CountWebAuthnCredentials counts a user's passkeys.
func CountWebAuthnCredentials(ctx context.Context, q Querier, userID string) (int, error) {
	var n int
	if err := Scan(q.QueryRow(ctx, `SELECT count(*) FROM webauthn_credentials WHERE user_id = ?`, userID), &n); err != nil {
		return 0, fmt.Errorf("count passkeys of user %s: %w", userID, err)
	}
	return n, nil
}

// DeleteWebAuthnCredentials removes every passkey of a user.
func DeleteWebAuthnCredentials(ctx context.Context, tx *Tx, userID string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM webauthn_credentials WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("delete passkeys of user %s: %w", userID, err)
	}
	return nil
}

// MFACounts is how many passkeys and unused recovery codes a user has.
type MFACounts struct {
	Passkeys      int
	RecoveryCodes int
}

// OrgMFACounts maps each user of orgID that has passkeys or unused recovery
// codes to their counts.
func OrgMFACounts(ctx context.Context, q Querier, orgID string) (map[string]MFACounts, error) {
	out := map[string]MFACounts{}
	count := func(query string, set func(*MFACounts, int)) error {
		rows, err := q.Query(ctx, query, orgID)
		if err != nil {
			return fmt.Errorf("count second factors of organization %s: %w", orgID, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return fmt.Errorf("count second factors of organization %s: %w", orgID, err)
			}
			c := out[id]
			set(&c, n)
			out[id] = c
		}
		return rows.Err()
	}
	if err := count(`SELECT user_id, count(*) FROM webauthn_credentials WHERE org_id = ? GROUP BY user_id`,
		func(c *MFACounts, n int) { c.Passkeys = n }); err != nil {
		return nil, err
	}
	if err := count(`SELECT r.user_id, count(*) FROM recovery_codes r JOIN users u ON u.id = r.user_id
		WHERE u.org_id = ? AND r.used_at = 0 GROUP BY r.user_id`,
		func(c *MFACounts, n int) { c.RecoveryCodes = n }); err != nil {
		return nil, err
	}
	return out, nil
}
