package store

import (
	"context"
	"fmt"
	"time"
)

// BlobRow is one row of blobs as stored: Content is keyring ciphertext,
// sealed with data-key version DEKVersion; Size is the plaintext length.
type BlobRow struct {
	Scope      string
	ID         string
	Kind       string
	DEKVersion int
	Content    []byte
	Size       int64
	CreatedAt  time.Time
}

// BlobsTable describes blobs for the keyring's re-encryption and status.
func BlobsTable() SealedTable {
	return SealedTable{
		Table:         "blobs",
		ScopeColumn:   "scope",
		IDColumn:      "id",
		VersionColumn: "dek_version",
		Columns:       []string{"content"},
	}
}

// InsertBlob adds a blob; ErrConflict if the scope already has one with
// that id.
func InsertBlob(ctx context.Context, tx *Tx, b BlobRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO blobs (scope, id, kind, dek_version, content, size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		b.Scope, b.ID, b.Kind, b.DEKVersion, b.Content, b.Size, Micros(b.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert blob %s/%s: %w", b.Scope, b.ID, err)
	}
	return nil
}

// GetBlob reads a blob; ErrNotFound if scope has none with that id.
func GetBlob(ctx context.Context, q Querier, scope, id string) (BlobRow, error) {
	b := BlobRow{Scope: scope, ID: id}
	var created int64
	err := Scan(q.QueryRow(ctx, `SELECT kind, dek_version, content, size, created_at FROM blobs WHERE scope = ? AND id = ?`, scope, id),
		&b.Kind, &b.DEKVersion, &b.Content, &b.Size, &created)
	if err != nil {
		return BlobRow{}, fmt.Errorf("read blob %s/%s: %w", scope, id, err)
	}
	b.CreatedAt = FromMicros(created)
	return b, nil
}

// DeleteBlob removes a blob; ErrNotFound if scope has none with that id.
func DeleteBlob(ctx context.Context, tx *Tx, scope, id string) error {
	res, err := tx.Exec(ctx, `DELETE FROM blobs WHERE scope = ? AND id = ?`, scope, id)
	if err != nil {
		return fmt.Errorf("delete blob %s/%s: %w", scope, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete blob %s/%s: %w", scope, id, err)
	}
	if n == 0 {
		return fmt.Errorf("delete blob %s/%s: %w", scope, id, ErrNotFound)
	}
	return nil
}
