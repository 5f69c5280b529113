package store

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// SealedTable describes a table that holds keyring ciphertext, so the keyring
// can count, re-encrypt and retire data-key versions across every such table
// without knowing the domain.
//
// The convention: each row records in VersionColumn (by name dek_version) the
// data-key version that sealed all of that row's sealed Columns, and
// ScopeColumn names the keyring scope (the organization id, or "system").
// Each sealed column is bound to (scope, Table, column, id) as its AAD, with
// the id read from IDColumn as text. Version 0 means the row holds nothing
// sealed yet (a user who has not enrolled TOTP): such rows are neither
// counted nor re-encrypted. A table registered this way should have
// an index on (ScopeColumn, VersionColumn), as blobs does.
//
// Identifiers are interpolated into SQL, so Validate accepts only
// [a-z_][a-z0-9_]* (at most 63 bytes, PostgreSQL's limit).
type SealedTable struct {
	Table         string
	ScopeColumn   string
	IDColumn      string
	VersionColumn string
	Columns       []string
}

// SealedRow is one row's sealed state: its id, the data-key version that
// sealed it, and the ciphertext of each sealed column in SealedTable.Columns
// order (nil for SQL NULL).
type SealedRow struct {
	ID      string
	Version int
	Values  [][]byte
}

// SealedCount is how many rows of one scope one data-key version sealed.
type SealedCount struct {
	Scope   string
	Version int
	Rows    int64
}

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Validate reports whether every identifier is safe to interpolate and the
// descriptor is coherent.
func (t SealedTable) Validate() error {
	if len(t.Columns) == 0 {
		return fmt.Errorf("sealed table %q: no sealed columns", t.Table)
	}
	seen := map[string]bool{}
	names := append([]string{t.Table, t.ScopeColumn, t.IDColumn, t.VersionColumn}, t.Columns...)
	for i, n := range names {
		if !identifier.MatchString(n) {
			return fmt.Errorf("sealed table %q: identifier %q must match [a-z_][a-z0-9_]*", t.Table, n)
		}
		if i == 0 {
			continue // the table name may equal a column name
		}
		if seen[n] {
			return fmt.Errorf("sealed table %q: column %q named twice", t.Table, n)
		}
		seen[n] = true
	}
	return nil
}

// Equal reports whether two descriptors name the same table the same way.
func (t SealedTable) Equal(o SealedTable) bool {
	return t.Table == o.Table && t.ScopeColumn == o.ScopeColumn && t.IDColumn == o.IDColumn &&
		t.VersionColumn == o.VersionColumn && strings.Join(t.Columns, ",") == strings.Join(o.Columns, ",")
}

// CountSealedByVersion counts the rows of scope per data-key version.
func CountSealedByVersion(ctx context.Context, q Querier, t SealedTable, scope string) (map[int]int64, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	query := fmt.Sprintf(`SELECT %s, count(*) FROM %s WHERE %s = ? AND %s > 0 GROUP BY %s`,
		t.VersionColumn, t.Table, t.ScopeColumn, t.VersionColumn, t.VersionColumn)
	rows, err := q.Query(ctx, query, scope)
	if err != nil {
		return nil, fmt.Errorf("count sealed rows of %s: %w", t.Table, err)
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var v int
		var n int64
		if err := rows.Scan(&v, &n); err != nil {
			return nil, fmt.Errorf("count sealed rows of %s: %w", t.Table, err)
		}
		out[v] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count sealed rows of %s: %w", t.Table, err)
	}
	return out, nil
}

// CountSealed counts the rows of every scope per data-key version, ordered
// by scope and version.
func CountSealed(ctx context.Context, q Querier, t SealedTable) ([]SealedCount, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	query := fmt.Sprintf(`SELECT %[1]s, %[2]s, count(*) FROM %[3]s WHERE %[2]s > 0 GROUP BY %[1]s, %[2]s ORDER BY %[1]s, %[2]s`,
		t.ScopeColumn, t.VersionColumn, t.Table)
	rows, err := q.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("count sealed rows of %s: %w", t.Table, err)
	}
	defer rows.Close()
	var out []SealedCount
	for rows.Next() {
		var c SealedCount
		if err := rows.Scan(&c.Scope, &c.Version, &c.Rows); err != nil {
			return nil, fmt.Errorf("count sealed rows of %s: %w", t.Table, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count sealed rows of %s: %w", t.Table, err)
	}
	return out, nil
}

// SealedRowsBelow selects up to limit rows of scope sealed with a version
// below the given one, ordered by id. Inside a transaction on PostgreSQL the
// rows are locked (FOR UPDATE) until it ends, so a writer that changes one
// meanwhile waits instead of being overwritten; SQLite's single writer gives
// the same guarantee.
func SealedRowsBelow(ctx context.Context, q Querier, t SealedTable, scope string, below, limit int) ([]SealedRow, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	query := fmt.Sprintf(`SELECT %s, %s, %s FROM %s WHERE %s = ? AND %s > 0 AND %s < ? ORDER BY %s LIMIT ?`,
		t.IDColumn, t.VersionColumn, strings.Join(t.Columns, ", "), t.Table,
		t.ScopeColumn, t.VersionColumn, t.VersionColumn, t.IDColumn)
	if _, inTx := q.(*Tx); inTx && q.Driver() == Postgres {
		query += " FOR UPDATE"
	}
	rows, err := q.Query(ctx, query, scope, below, limit)
	if err != nil {
		return nil, fmt.Errorf("select sealed rows of %s: %w", t.Table, err)
	}
	defer rows.Close()
	var out []SealedRow
	for rows.Next() {
		r := SealedRow{Values: make([][]byte, len(t.Columns))}
		dest := []any{&r.ID, &r.Version}
		for i := range r.Values {
			dest = append(dest, &r.Values[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("select sealed rows of %s: %w", t.Table, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select sealed rows of %s: %w", t.Table, err)
	}
	return out, nil
}

// UpdateSealedRow replaces a row's sealed columns and version, but only if
// the row is still at fromVersion: a writer that changed it since it was
// read wins, and UpdateSealedRow reports false. values are in Columns order;
// nil writes SQL NULL.
func UpdateSealedRow(ctx context.Context, tx *Tx, t SealedTable, scope, id string, fromVersion, toVersion int, values [][]byte) (bool, error) {
	if err := t.Validate(); err != nil {
		return false, err
	}
	if len(values) != len(t.Columns) {
		return false, fmt.Errorf("update sealed row of %s: %d values for %d columns", t.Table, len(values), len(t.Columns))
	}
	sets := make([]string, 0, len(t.Columns)+1)
	args := make([]any, 0, len(t.Columns)+4)
	for i, c := range t.Columns {
		sets = append(sets, c+" = ?")
		if values[i] == nil {
			args = append(args, nil)
		} else {
			args = append(args, values[i])
		}
	}
	sets = append(sets, t.VersionColumn+" = ?")
	args = append(args, toVersion, scope, id, fromVersion)
	query := fmt.Sprintf(`UPDATE %s SET %s WHERE %s = ? AND %s = ? AND %s = ?`,
		t.Table, strings.Join(sets, ", "), t.ScopeColumn, t.IDColumn, t.VersionColumn)
	res, err := tx.Exec(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("update sealed row of %s: %w", t.Table, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("update sealed row of %s: %w", t.Table, err)
	}
	return n == 1, nil
}
