package store

// Persistence for the recipient key directory (package keydir). The rules
// — what a usable key is, what is sealed, who may change the directory —
// live there; these functions only move rows, always scoped by
// organization.

import (
	"context"
	"fmt"
	"time"
)

// Recipient key kinds.
const (
	RecipientKeyPGP   = "pgp"
	RecipientKeySMIME = "smime"
)

// RecipientKeysTable describes recipient_keys for the keyring: content
// (the key material and its bound addresses) is sealed.
func RecipientKeysTable() SealedTable {
	return SealedTable{Table: "recipient_keys", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version", Columns: []string{"content"}}
}

// RecipientKeyRow is one row of recipient_keys. AddressIndexes are the
// blind indexes of the addresses bound to it (recipient_key_addresses).
type RecipientKeyRow struct {
	ID, OrgID, Kind  string
	FingerprintIndex []byte
	Algorithm        string
	KeyCreatedAt     time.Time
	ExpiresAt        time.Time // zero: never
	Content          []byte
	DEKVersion       int
	CreatedAt        time.Time
	UpdatedAt        time.Time
	AddressIndexes   [][]byte
}

const recipientKeyColumns = `id, org_id, kind, fingerprint_index, algorithm, key_created_at, expires_at, content,
	dek_version, created_at, updated_at`

func scanRecipientKey(scan func(...any) error) (RecipientKeyRow, error) {
	var r RecipientKeyRow
	var kc, exp, created, updated int64
	if err := scan(&r.ID, &r.OrgID, &r.Kind, &r.FingerprintIndex, &r.Algorithm, &kc, &exp, &r.Content,
		&r.DEKVersion, &created, &updated); err != nil {
		return RecipientKeyRow{}, mapError(err)
	}
	r.KeyCreatedAt, r.ExpiresAt = FromMicros(kc), FromMicros(exp)
	r.CreatedAt, r.UpdatedAt = FromMicros(created), FromMicros(updated)
	return r, nil
}

// InsertRecipientKey adds a key and its address indexes; ErrConflict when
// the organization has a key with the same fingerprint index.
func InsertRecipientKey(ctx context.Context, tx *Tx, r RecipientKeyRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO recipient_keys (`+recipientKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OrgID, r.Kind, r.FingerprintIndex, r.Algorithm, Micros(r.KeyCreatedAt), Micros(r.ExpiresAt), r.Content,
		r.DEKVersion, Micros(r.CreatedAt), Micros(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert recipient key %s/%s: %w", r.OrgID, r.ID, mapError(err))
	}
	return insertKeyAddresses(ctx, tx, r)
}

// ReplaceRecipientKey overwrites a key's material, validity and addresses
// (a re-upload of the same key with new signatures). ErrNotFound when the
// organization has no key with that id.
func ReplaceRecipientKey(ctx context.Context, tx *Tx, r RecipientKeyRow) error {
	res, err := tx.Exec(ctx, `UPDATE recipient_keys SET algorithm = ?, key_created_at = ?, expires_at = ?, content = ?,
		dek_version = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
		r.Algorithm, Micros(r.KeyCreatedAt), Micros(r.ExpiresAt), r.Content, r.DEKVersion, Micros(r.UpdatedAt), r.OrgID, r.ID)
	if err := gatewayOneRow(res, err, "replace recipient key %s/%s", r.OrgID, r.ID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM recipient_key_addresses WHERE org_id = ? AND key_id = ?`, r.OrgID, r.ID); err != nil {
		return fmt.Errorf("replace recipient key addresses: %w", mapError(err))
	}
	return insertKeyAddresses(ctx, tx, r)
}

func insertKeyAddresses(ctx context.Context, tx *Tx, r RecipientKeyRow) error {
	for _, ix := range r.AddressIndexes {
		if _, err := tx.Exec(ctx, `INSERT INTO recipient_key_addresses (key_id, org_id, address_index) VALUES (?, ?, ?)`,
			r.ID, r.OrgID, ix); err != nil {
			return fmt.Errorf("insert recipient key address %s/%s: %w", r.OrgID, r.ID, mapError(err))
		}
	}
	return nil
}

// GetRecipientKey reads one key of org with its address indexes;
// ErrNotFound when org has none with that id.
func GetRecipientKey(ctx context.Context, q Querier, org, id string) (RecipientKeyRow, error) {
	r, err := scanRecipientKey(q.QueryRow(ctx, `SELECT `+recipientKeyColumns+` FROM recipient_keys WHERE org_id = ? AND id = ?`, org, id).Scan)
	if err != nil {
		return RecipientKeyRow{}, fmt.Errorf("read recipient key %s/%s: %w", org, id, err)
	}
	return withAddresses(ctx, q, r)
}

// RecipientKeyByFingerprint finds org's key by fingerprint index.
func RecipientKeyByFingerprint(ctx context.Context, q Querier, org string, fpIndex []byte) (RecipientKeyRow, error) {
	r, err := scanRecipientKey(q.QueryRow(ctx, `SELECT `+recipientKeyColumns+` FROM recipient_keys
		WHERE org_id = ? AND fingerprint_index = ?`, org, fpIndex).Scan)
	if err != nil {
		return RecipientKeyRow{}, fmt.Errorf("read recipient key by fingerprint: %w", err)
	}
	return withAddresses(ctx, q, r)
}

func withAddresses(ctx context.Context, q Querier, r RecipientKeyRow) (RecipientKeyRow, error) {
	rows, err := q.Query(ctx, `SELECT address_index FROM recipient_key_addresses WHERE org_id = ? AND key_id = ?
		ORDER BY address_index`, r.OrgID, r.ID)
	if err != nil {
		return RecipientKeyRow{}, fmt.Errorf("read recipient key addresses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ix []byte
		if err := rows.Scan(&ix); err != nil {
			return RecipientKeyRow{}, fmt.Errorf("read recipient key addresses: %w", mapError(err))
		}
		r.AddressIndexes = append(r.AddressIndexes, ix)
	}
	if err := rows.Err(); err != nil {
		return RecipientKeyRow{}, fmt.Errorf("read recipient key addresses: %w", mapError(err))
	}
	return r, nil
}

// ListRecipientKeys returns org's keys, most recently changed first,
// without address indexes.
func ListRecipientKeys(ctx context.Context, q Querier, org string) ([]RecipientKeyRow, error) {
	return queryRecipientKeys(ctx, q, `SELECT `+recipientKeyColumns+` FROM recipient_keys WHERE org_id = ?
		ORDER BY updated_at DESC, id DESC`, org)
}

// RecipientKeysForAddress returns org's keys bound to an address index,
// most recently changed first.
func RecipientKeysForAddress(ctx context.Context, q Querier, org string, addrIndex []byte) ([]RecipientKeyRow, error) {
	return queryRecipientKeys(ctx, q, `SELECT `+recipientKeyColumns+` FROM recipient_keys WHERE org_id = ? AND id IN
		(SELECT key_id FROM recipient_key_addresses WHERE org_id = ? AND address_index = ?)
		ORDER BY updated_at DESC, id DESC`, org, org, addrIndex)
}

func queryRecipientKeys(ctx context.Context, q Querier, query string, args ...any) ([]RecipientKeyRow, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list recipient keys: %w", err)
	}
	defer rows.Close()
	var out []RecipientKeyRow
	for rows.Next() {
		r, err := scanRecipientKey(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list recipient keys: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list recipient keys: %w", mapError(err))
	}
	return out, nil
}

// DeleteRecipientKey removes a key of org and its addresses; ErrNotFound
// when org has none with that id.
func DeleteRecipientKey(ctx context.Context, tx *Tx, org, id string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM recipient_key_addresses WHERE org_id = ? AND key_id = ?`, org, id); err != nil {
		return fmt.Errorf("delete recipient key addresses %s/%s: %w", org, id, mapError(err))
	}
	res, err := tx.Exec(ctx, `DELETE FROM recipient_keys WHERE org_id = ? AND id = ?`, org, id)
	return gatewayOneRow(res, err, "delete recipient key %s/%s", org, id)
}

// AddressesWithRecipientKeys returns which of the address indexes have at
// least one of org's keys bound to them (as string(index)), in one read per
// contactBatch indexes: how a campaign batch learns, for all its recipients
// at once, the few that could have an e2e key (keydir.Service.Prefetch).
func AddressesWithRecipientKeys(ctx context.Context, q Querier, org string, indexes [][]byte) (map[string]bool, error) {
	out := map[string]bool{}
	for start := 0; start < len(indexes); start += contactBatch {
		part := indexes[start:min(start+contactBatch, len(indexes))]
		args, list := inList([]any{org}, part)
		rows, err := q.Query(ctx, `SELECT DISTINCT address_index FROM recipient_key_addresses WHERE org_id = ?
			AND address_index IN `+list, args...)
		if err != nil {
			return nil, fmt.Errorf("read recipient key addresses: %w", err)
		}
		for rows.Next() {
			var ix []byte
			if err := rows.Scan(&ix); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read recipient key addresses: %w", mapError(err))
			}
			out[string(ix)] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read recipient key addresses: %w", mapError(err))
		}
	}
	return out, nil
}
