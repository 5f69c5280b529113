package store

import (
	"context"
	"fmt"
)

// ImportChunkRow is one sealed piece of an uploaded CSV file. StartOffset
// is the plaintext offset of its first byte in the whole file.
type ImportChunkRow struct {
	OrgID, ID, ImportID string
	Seq                 int
	StartOffset         int64
	Size                int
	DEKVersion          int
	Data                []byte
}

// InsertImportChunk adds a chunk.
func InsertImportChunk(ctx context.Context, tx *Tx, c ImportChunkRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO contact_import_chunks (org_id, id, import_id, seq, start_offset, size, dek_version, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.OrgID, c.ID, c.ImportID, c.Seq, c.StartOffset, c.Size, c.DEKVersion, c.Data)
	if err != nil {
		return fmt.Errorf("insert import chunk: %w", err)
	}
	return nil
}

// ImportChunkFrom returns the chunk of an import holding plaintext offset
// (the last chunk starting at or before it); ErrNotFound past the end.
func ImportChunkFrom(ctx context.Context, q Querier, orgID, importID string, offset int64) (ImportChunkRow, error) {
	var c ImportChunkRow
	err := Scan(q.QueryRow(ctx, `SELECT org_id, id, import_id, seq, start_offset, size, dek_version, data FROM contact_import_chunks
		WHERE org_id = ? AND import_id = ? AND start_offset <= ? ORDER BY seq DESC LIMIT 1`, orgID, importID, offset),
		&c.OrgID, &c.ID, &c.ImportID, &c.Seq, &c.StartOffset, &c.Size, &c.DEKVersion, &c.Data)
	if err != nil {
		return ImportChunkRow{}, fmt.Errorf("read import chunk: %w", err)
	}
	if offset >= c.StartOffset+int64(c.Size) {
		return ImportChunkRow{}, fmt.Errorf("read import chunk: %w", ErrNotFound)
	}
	return c, nil
}

// ImportChunk returns chunk seq of an import; ErrNotFound past the last.
func ImportChunk(ctx context.Context, q Querier, orgID, importID string, seq int) (ImportChunkRow, error) {
	var c ImportChunkRow
	err := Scan(q.QueryRow(ctx, `SELECT org_id, id, import_id, seq, start_offset, size, dek_version, data FROM contact_import_chunks
		WHERE org_id = ? AND import_id = ? AND seq = ?`, orgID, importID, seq),
		&c.OrgID, &c.ID, &c.ImportID, &c.Seq, &c.StartOffset, &c.Size, &c.DEKVersion, &c.Data)
	if err != nil {
		return ImportChunkRow{}, fmt.Errorf("read import chunk: %w", err)
	}
	return c, nil
}

// DeleteImportData removes an import's staged file (and, with report, its
// validation report).
func DeleteImportData(ctx context.Context, tx *Tx, orgID, importID string, report bool) error {
	if _, err := tx.Exec(ctx, `DELETE FROM contact_import_chunks WHERE org_id = ? AND import_id = ?`, orgID, importID); err != nil {
		return fmt.Errorf("delete import chunks: %w", err)
	}
	if report {
		if _, err := tx.Exec(ctx, `DELETE FROM contact_import_errors WHERE org_id = ? AND import_id = ?`, orgID, importID); err != nil {
			return fmt.Errorf("delete import report: %w", err)
		}
	}
	return nil
}

// ImportErrorRow is one line of a validation report: where, and why —
// never the value.
type ImportErrorRow struct {
	Row, Line int64
	Column    string
	Reason    string
}

// ReplaceImportErrors writes an import's validation report, replacing any
// earlier one (a validation that restarted after a crash).
func ReplaceImportErrors(ctx context.Context, tx *Tx, orgID, importID string, rows []ImportErrorRow) error {
	if _, err := tx.Exec(ctx, `DELETE FROM contact_import_errors WHERE org_id = ? AND import_id = ?`, orgID, importID); err != nil {
		return fmt.Errorf("clear import report: %w", err)
	}
	for start, end := range runs(len(rows), contactBatch) {
		part := rows[start:end]
		args := make([]any, 0, len(part)*6)
		for _, r := range part {
			args = append(args, orgID, importID, r.Row, r.Line, r.Column, r.Reason)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO contact_import_errors (org_id, import_id, row_no, line_no, col_name, reason) VALUES `+
			rowPlaceholders(len(part), 6)+` ON CONFLICT DO NOTHING`, args...); err != nil {
			return fmt.Errorf("write import report: %w", err)
		}
	}
	return nil
}

// ImportErrors returns the first limit lines of an import's report in row
// order.
func ImportErrors(ctx context.Context, q Querier, orgID, importID string, limit int) ([]ImportErrorRow, error) {
	rows, err := q.Query(ctx, `SELECT row_no, line_no, col_name, reason FROM contact_import_errors
		WHERE org_id = ? AND import_id = ? ORDER BY row_no, col_name LIMIT ?`, orgID, importID, limit)
	if err != nil {
		return nil, fmt.Errorf("read import report: %w", err)
	}
	defer rows.Close()
	var out []ImportErrorRow
	for rows.Next() {
		var r ImportErrorRow
		if err := rows.Scan(&r.Row, &r.Line, &r.Column, &r.Reason); err != nil {
			return nil, fmt.Errorf("read import report: %w", mapError(err))
		}
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}
