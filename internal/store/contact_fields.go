package store

import (
	"context"
	"fmt"
	"time"
)

// ContactFieldRow is one custom contact field definition. Tag numbers the
// field in the contacts' sealed encoding; it is never reused, so a deleted
// field keeps its row (DeletedAt set) and old values under its tag are
// ignored rather than misread.
type ContactFieldRow struct {
	OrgID     string
	Tag       int
	Key       string
	Label     string
	Type      string
	PHI       bool
	Options   string // JSON array
	CreatedAt time.Time
	DeletedAt time.Time
}

const contactFieldColumns = `org_id, tag, key, label, type, phi, options, created_at, deleted_at`

// ListContactFields returns the organization's fields in tag order; with
// deleted, also the deleted ones.
func ListContactFields(ctx context.Context, q Querier, orgID string, deleted bool) ([]ContactFieldRow, error) {
	query := `SELECT ` + contactFieldColumns + ` FROM contact_fields WHERE org_id = ?`
	if !deleted {
		query += ` AND deleted_at = 0`
	}
	rows, err := q.Query(ctx, query+` ORDER BY tag`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list contact fields: %w", err)
	}
	defer rows.Close()
	var out []ContactFieldRow
	for rows.Next() {
		var r ContactFieldRow
		var created, del int64
		if err := rows.Scan(&r.OrgID, &r.Tag, &r.Key, &r.Label, &r.Type, &r.PHI, &r.Options, &created, &del); err != nil {
			return nil, fmt.Errorf("list contact fields: %w", mapError(err))
		}
		r.CreatedAt, r.DeletedAt = FromMicros(created), FromMicros(del)
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// InsertContactField adds a field with the next free tag at or above
// minTag and returns the tag. ErrConflict when the key is in use.
func InsertContactField(ctx context.Context, tx *Tx, r ContactFieldRow, minTag int) (int, error) {
	var highest int
	if err := Scan(tx.QueryRow(ctx, `SELECT COALESCE(MAX(tag), 0) FROM contact_fields WHERE org_id = ?`, r.OrgID), &highest); err != nil {
		return 0, fmt.Errorf("next contact field tag: %w", err)
	}
	r.Tag = max(highest+1, minTag)
	_, err := tx.Exec(ctx, `INSERT INTO contact_fields (`+contactFieldColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		r.OrgID, r.Tag, r.Key, r.Label, r.Type, r.PHI, r.Options, Micros(r.CreatedAt))
	if err != nil {
		return 0, fmt.Errorf("insert contact field: %w", err)
	}
	return r.Tag, nil
}

// UpdateContactField changes a field's label and options. ErrNotFound when
// the organization has no such field in use.
func UpdateContactField(ctx context.Context, tx *Tx, orgID, key, label, options string) error {
	res, err := tx.Exec(ctx, `UPDATE contact_fields SET label = ?, options = ? WHERE org_id = ? AND key = ? AND deleted_at = 0`,
		label, options, orgID, key)
	return contactOne(res, err, "update contact field %s/%s", orgID, key)
}

// DeleteContactField marks a field deleted. ErrNotFound when the
// organization has no such field in use.
func DeleteContactField(ctx context.Context, tx *Tx, orgID, key string, at time.Time) error {
	res, err := tx.Exec(ctx, `UPDATE contact_fields SET deleted_at = ? WHERE org_id = ? AND key = ? AND deleted_at = 0`,
		Micros(at), orgID, key)
	return contactOne(res, err, "delete contact field %s/%s", orgID, key)
}
