package store

import (
	"context"
	"fmt"
	"time"
)

// Data-key states. An active key may seal new data (the newest active
// version of a scope does); a retired key only opens. Keys are never deleted
// by the store.
const (
	DataKeyActive  = "active"
	DataKeyRetired = "retired"
)

// DataKey is one row of data_keys: a data-encryption key of a scope, wrapped
// by the key-encryption key named by KEKID. Wrapped is ciphertext, not key
// material, but is still kept out of logs.
type DataKey struct {
	Scope     string
	Version   int
	State     string
	KEKID     string
	Wrapped   []byte
	CreatedAt time.Time
	RetiredAt time.Time // zero while active
}

const dataKeyColumns = `scope, version, state, kek_id, wrapped, created_at, retired_at`

func scanDataKey(scan func(...any) error) (DataKey, error) {
	var k DataKey
	var created, retired int64
	if err := scan(&k.Scope, &k.Version, &k.State, &k.KEKID, &k.Wrapped, &created, &retired); err != nil {
		return DataKey{}, err
	}
	k.CreatedAt, k.RetiredAt = FromMicros(created), FromMicros(retired)
	return k, nil
}

// InsertDataKey adds a data key unless (scope, version) already exists, and
// reports whether it did. ON CONFLICT DO NOTHING keeps the transaction usable
// on PostgreSQL when another node won the race (a unique violation would
// abort it).
func InsertDataKey(ctx context.Context, tx *Tx, k DataKey) (bool, error) {
	res, err := tx.Exec(ctx, `INSERT INTO data_keys (`+dataKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (scope, version) DO NOTHING`,
		k.Scope, k.Version, k.State, k.KEKID, k.Wrapped, Micros(k.CreatedAt), Micros(k.RetiredAt))
	if err != nil {
		return false, fmt.Errorf("insert data key %s v%d: %w", k.Scope, k.Version, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert data key %s v%d: %w", k.Scope, k.Version, err)
	}
	return n == 1, nil
}

// GetDataKey reads one data key; ErrNotFound if the scope has no such version.
func GetDataKey(ctx context.Context, q Querier, scope string, version int) (DataKey, error) {
	row := q.QueryRow(ctx, `SELECT `+dataKeyColumns+` FROM data_keys WHERE scope = ? AND version = ?`, scope, version)
	k, err := scanDataKey(row.Scan)
	if err != nil {
		return DataKey{}, fmt.Errorf("read data key %s v%d: %w", scope, version, mapError(err))
	}
	return k, nil
}

// CurrentDataKeyVersion is the newest active version of scope, the one new
// writes use; ErrNotFound if the scope has no active key.
func CurrentDataKeyVersion(ctx context.Context, q Querier, scope string) (int, error) {
	var v int
	err := Scan(q.QueryRow(ctx, `SELECT version FROM data_keys WHERE scope = ? AND state = ? ORDER BY version DESC LIMIT 1`,
		scope, DataKeyActive), &v)
	if err != nil {
		return 0, fmt.Errorf("current data key of %s: %w", scope, err)
	}
	return v, nil
}

// MaxDataKeyVersion is the highest version of scope in any state, 0 if none.
func MaxDataKeyVersion(ctx context.Context, q Querier, scope string) (int, error) {
	var v int
	if err := Scan(q.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM data_keys WHERE scope = ?`, scope), &v); err != nil {
		return 0, fmt.Errorf("highest data key of %s: %w", scope, err)
	}
	return v, nil
}

// ListDataKeys returns every data key of every scope, ordered by scope and
// version.
func ListDataKeys(ctx context.Context, q Querier) ([]DataKey, error) {
	keys, err := queryDataKeys(ctx, q, `SELECT `+dataKeyColumns+` FROM data_keys ORDER BY scope, version`)
	if err != nil {
		return nil, fmt.Errorf("list data keys: %w", err)
	}
	return keys, nil
}

// ScopeDataKeys returns the data keys of one scope, ordered by version.
func ScopeDataKeys(ctx context.Context, q Querier, scope string) ([]DataKey, error) {
	keys, err := queryDataKeys(ctx, q, `SELECT `+dataKeyColumns+` FROM data_keys WHERE scope = ? ORDER BY version`, scope)
	if err != nil {
		return nil, fmt.Errorf("list data keys of %s: %w", scope, err)
	}
	return keys, nil
}

func queryDataKeys(ctx context.Context, q Querier, query string, args ...any) ([]DataKey, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DataKey
	for rows.Next() {
		k, err := scanDataKey(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// DataKeyScopes lists every scope that has a data key, in order.
func DataKeyScopes(ctx context.Context, q Querier) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT scope FROM data_keys ORDER BY scope`)
	if err != nil {
		return nil, fmt.Errorf("list key scopes: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("list key scopes: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list key scopes: %w", err)
	}
	return out, nil
}

// RetireDataKey marks an active key retired and reports whether it was
// active.
func RetireDataKey(ctx context.Context, tx *Tx, scope string, version int, at time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE data_keys SET state = ?, retired_at = ? WHERE scope = ? AND version = ? AND state = ?`,
		DataKeyRetired, Micros(at), scope, version, DataKeyActive)
	if err != nil {
		return false, fmt.Errorf("retire data key %s v%d: %w", scope, version, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("retire data key %s v%d: %w", scope, version, err)
	}
	return n == 1, nil
}

// RewrapDataKey stores a key wrapped anew under kekID, but only if it is
// still wrapped under fromKEKID (a concurrent rewrap wins), and reports
// whether it changed the row.
func RewrapDataKey(ctx context.Context, tx *Tx, scope string, version int, fromKEKID, kekID string, wrapped []byte) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE data_keys SET kek_id = ?, wrapped = ? WHERE scope = ? AND version = ? AND kek_id = ?`,
		kekID, wrapped, scope, version, fromKEKID)
	if err != nil {
		return false, fmt.Errorf("rewrap data key %s v%d: %w", scope, version, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("rewrap data key %s v%d: %w", scope, version, err)
	}
	return n == 1, nil
}
