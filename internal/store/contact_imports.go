package store

import (
	"context"
	"fmt"
	"time"
)

// ContactImportChunksTable describes contact_import_chunks for the
// keyring: the uploaded CSV, sealed in chunks until the import ends.
func ContactImportChunksTable() SealedTable {
	return SealedTable{Table: "contact_import_chunks", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version", Columns: []string{"data"}}
}

// ContactImportRow is one import and its durable progress.
type ContactImportRow struct {
	OrgID, ID            string
	State                string
	ActorType, ActorID   string
	Settings             string // JSON: the mapping and options, fixed at creation
	Bytes                int64
	Chunks               int
	RowsTotal            int64
	RowsInvalid          int64
	RowsApplied          int64
	Created, Updated     int64
	Skipped              int64
	CursorOffset         int64
	CursorRow            int64
	Failure              string
	LeaseToken           string
	LeaseUntil           time.Time
	CreatedAt, StartedAt time.Time
	FinishedAt           time.Time
	UpdatedAt            time.Time
}

const importColumns = `org_id, id, state, actor_type, actor_id, settings, bytes, chunks, rows_total, rows_invalid, rows_applied,
	created, updated, skipped, cursor_offset, cursor_row, failure, lease_token, lease_until, created_at, started_at, finished_at, updated_at`

func scanImport(scan func(...any) error) (ContactImportRow, error) {
	var r ContactImportRow
	var lease, created, started, finished, updated int64
	if err := scan(&r.OrgID, &r.ID, &r.State, &r.ActorType, &r.ActorID, &r.Settings, &r.Bytes, &r.Chunks, &r.RowsTotal,
		&r.RowsInvalid, &r.RowsApplied, &r.Created, &r.Updated, &r.Skipped, &r.CursorOffset, &r.CursorRow, &r.Failure,
		&r.LeaseToken, &lease, &created, &started, &finished, &updated); err != nil {
		return ContactImportRow{}, mapError(err)
	}
	r.LeaseUntil, r.CreatedAt, r.StartedAt = FromMicros(lease), FromMicros(created), FromMicros(started)
	r.FinishedAt, r.UpdatedAt = FromMicros(finished), FromMicros(updated)
	return r, nil
}

// InsertContactImport adds an import.
func InsertContactImport(ctx context.Context, tx *Tx, r ContactImportRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO contact_imports (org_id, id, state, actor_type, actor_id, settings, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.OrgID, r.ID, r.State, r.ActorType, r.ActorID, r.Settings, Micros(r.CreatedAt), Micros(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert contact import: %w", err)
	}
	return nil
}

// GetContactImport reads one import; inside a transaction on PostgreSQL
// the row is locked until it ends.
func GetContactImport(ctx context.Context, q Querier, orgID, id string) (ContactImportRow, error) {
	query := `SELECT ` + importColumns + ` FROM contact_imports WHERE org_id = ? AND id = ?`
	if _, inTx := q.(*Tx); inTx && q.Driver() == Postgres {
		query += " FOR UPDATE"
	}
	r, err := scanImport(q.QueryRow(ctx, query, orgID, id).Scan)
	if err != nil {
		return ContactImportRow{}, fmt.Errorf("read contact import %s/%s: %w", orgID, id, err)
	}
	return r, nil
}

// ListContactImports returns the organization's imports, newest first.
func ListContactImports(ctx context.Context, q Querier, orgID string, limit int) ([]ContactImportRow, error) {
	rows, err := q.Query(ctx, `SELECT `+importColumns+` FROM contact_imports WHERE org_id = ? ORDER BY id DESC LIMIT ?`, orgID, limit)
	if err != nil {
		return nil, fmt.Errorf("list contact imports: %w", err)
	}
	defer rows.Close()
	var out []ContactImportRow
	for rows.Next() {
		r, err := scanImport(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list contact imports: %w", err)
		}
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// SaveContactImport writes an import's state and progress. With token set,
// the write is fenced: it happens only while the caller still holds the
// lease (ErrNotFound otherwise), so a worker whose lease expired and was
// taken over cannot overwrite its successor's progress.
func SaveContactImport(ctx context.Context, tx *Tx, r ContactImportRow, token string) error {
	query := `UPDATE contact_imports SET state = ?, settings = ?, bytes = ?, chunks = ?, rows_total = ?, rows_invalid = ?, rows_applied = ?,
		created = ?, updated = ?, skipped = ?, cursor_offset = ?, cursor_row = ?, failure = ?, lease_token = ?, lease_until = ?,
		started_at = ?, finished_at = ?, updated_at = ? WHERE org_id = ? AND id = ?`
	args := []any{r.State, r.Settings, r.Bytes, r.Chunks, r.RowsTotal, r.RowsInvalid, r.RowsApplied, r.Created, r.Updated, r.Skipped,
		r.CursorOffset, r.CursorRow, r.Failure, r.LeaseToken, Micros(r.LeaseUntil), Micros(r.StartedAt), Micros(r.FinishedAt),
		Micros(r.UpdatedAt), r.OrgID, r.ID}
	if token != "" {
		query += ` AND lease_token = ?`
		args = append(args, token)
	}
	res, err := tx.Exec(ctx, query, args...)
	return contactOne(res, err, "save contact import %s/%s", r.OrgID, r.ID)
}

// TakeImportLease gives the lease of a running import to token until
// until, if the import is queued, validating or applying and its lease is
// free or expired at now. It reports whether the lease was taken.
func TakeImportLease(ctx context.Context, tx *Tx, orgID, id, token string, now, until time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE contact_imports SET lease_token = ?, lease_until = ?
		WHERE org_id = ? AND id = ? AND state IN ('queued', 'validating', 'applying') AND lease_until < ?`,
		token, Micros(until), orgID, id, Micros(now))
	if err != nil {
		return false, fmt.Errorf("take import lease: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// StalledImports lists running imports whose lease expired before now (a
// node died working them), for the sweep to resume.
func StalledImports(ctx context.Context, q Querier, now time.Time, limit int) ([][2]string, error) {
	rows, err := q.Query(ctx, `SELECT org_id, id FROM contact_imports WHERE state IN ('queued', 'validating', 'applying')
		AND lease_until < ? ORDER BY lease_until LIMIT ?`, Micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("find stalled imports: %w", err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var o, i string
		if err := rows.Scan(&o, &i); err != nil {
			return nil, fmt.Errorf("find stalled imports: %w", mapError(err))
		}
		out = append(out, [2]string{o, i})
	}
	return out, mapError(rows.Err())
}

// AdvanceImportUpload records a completed upload part: bytes and chunks
// move from fromBytes to the new totals, only while the import is still
// uploading and no other part completed meanwhile. It reports whether it
// did.
func AdvanceImportUpload(ctx context.Context, tx *Tx, orgID, id string, fromBytes, toBytes int64, chunks int, at time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE contact_imports SET bytes = ?, chunks = ?, updated_at = ?
		WHERE org_id = ? AND id = ? AND state = 'uploading' AND bytes = ?`, toBytes, chunks, Micros(at), orgID, id, fromBytes)
	if err != nil {
		return false, fmt.Errorf("record import upload: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteImportChunksFrom removes an import's chunks at or after seq: the
// leftovers of an upload part that did not complete.
func DeleteImportChunksFrom(ctx context.Context, tx *Tx, orgID, importID string, seq int) error {
	if _, err := tx.Exec(ctx, `DELETE FROM contact_import_chunks WHERE org_id = ? AND import_id = ? AND seq >= ?`, orgID, importID, seq); err != nil {
		return fmt.Errorf("delete import chunks: %w", err)
	}
	return nil
}
