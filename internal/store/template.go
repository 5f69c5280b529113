package store

import (
	"context"
	"fmt"
	"time"
)

// TemplateRow is a template: its name and the number of its newest
// version.
type TemplateRow struct {
	ID, OrgID      string
	Name           string
	CurrentVersion int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// TemplateVersionRow is one immutable version; Content is sealed.
type TemplateVersionRow struct {
	ID, OrgID, TemplateID string
	Version               int
	Content               []byte
	DEKVersion            int
	TextGenerated         bool
	ActorType, ActorID    string
	CreatedAt             time.Time
}

// TemplateVersionsTable is the sealed-table descriptor for key rotation.
func TemplateVersionsTable() SealedTable {
	return SealedTable{Table: "template_versions", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version", Columns: []string{"content"}}
}

// InsertTemplate adds a template (with CurrentVersion already set to the
// version inserted beside it).
func InsertTemplate(ctx context.Context, tx *Tx, t TemplateRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO templates (id, org_id, name, current_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.OrgID, t.Name, t.CurrentVersion, Micros(t.CreatedAt), Micros(t.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert template: %w", err)
	}
	return nil
}

// AdvanceTemplate moves a template to version next (and renames it) if
// its current version is still prev; ErrNotFound when the template is not
// the organization's, ErrConflict when another edit got there first.
func AdvanceTemplate(ctx context.Context, tx *Tx, orgID, id, name string, prev, next int, at time.Time) error {
	res, err := tx.Exec(ctx, `UPDATE templates SET name = ?, current_version = ?, updated_at = ? WHERE org_id = ? AND id = ? AND current_version = ? AND deleted_at = 0`,
		name, next, Micros(at), orgID, id, prev)
	if err != nil {
		return fmt.Errorf("update template: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update template: %w", err)
	} else if n == 0 {
		if _, err := GetTemplate(ctx, tx, orgID, id); err != nil {
			return err
		}
		return fmt.Errorf("update template: %w", ErrConflict)
	}
	return nil
}

// GetTemplate reads an organization's template; a deleted one is
// ErrNotFound.
func GetTemplate(ctx context.Context, q Querier, orgID, id string) (TemplateRow, error) {
	return LookupTemplate(ctx, q, orgID, id, false)
}

// LookupTemplate reads an organization's template, deleted ones too when
// withDeleted (campaigns keep rendering the versions they reference).
func LookupTemplate(ctx context.Context, q Querier, orgID, id string, withDeleted bool) (TemplateRow, error) {
	t := TemplateRow{ID: id, OrgID: orgID}
	var created, updated int64
	query := `SELECT name, current_version, created_at, updated_at FROM templates WHERE org_id = ? AND id = ?`
	if !withDeleted {
		query += ` AND deleted_at = 0`
	}
	err := Scan(q.QueryRow(ctx, query, orgID, id), &t.Name, &t.CurrentVersion, &created, &updated)
	if err != nil {
		return TemplateRow{}, fmt.Errorf("read template: %w", err)
	}
	t.CreatedAt, t.UpdatedAt = FromMicros(created), FromMicros(updated)
	return t, nil
}

// DeleteTemplate hides a template from listing and editing; its versions
// stay. ErrNotFound when the organization has no such live template.
func DeleteTemplate(ctx context.Context, tx *Tx, orgID, id string, at time.Time) error {
	res, err := tx.Exec(ctx, `UPDATE templates SET deleted_at = ? WHERE org_id = ? AND id = ? AND deleted_at = 0`, Micros(at), orgID, id)
	return contactOne(res, err, "delete template %s/%s", orgID, id)
}

// TemplatesOf lists an organization's templates, most recently changed
// first.
func TemplatesOf(ctx context.Context, q Querier, orgID string, limit int) ([]TemplateRow, error) {
	rows, err := q.Query(ctx, `SELECT id, name, current_version, created_at, updated_at FROM templates WHERE org_id = ? AND deleted_at = 0
		ORDER BY updated_at DESC, id DESC LIMIT ?`, orgID, limit)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	defer rows.Close()
	var out []TemplateRow
	for rows.Next() {
		t := TemplateRow{OrgID: orgID}
		var created, updated int64
		if err := rows.Scan(&t.ID, &t.Name, &t.CurrentVersion, &created, &updated); err != nil {
			return nil, fmt.Errorf("list templates: %w", err)
		}
		t.CreatedAt, t.UpdatedAt = FromMicros(created), FromMicros(updated)
		out = append(out, t)
	}
	return out, rows.Err()
}

// InsertTemplateVersion stores a version; a number already taken is
// ErrConflict.
func InsertTemplateVersion(ctx context.Context, tx *Tx, v TemplateVersionRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO template_versions (id, org_id, template_id, version, content, dek_version, text_generated, actor_type, actor_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, v.ID, v.OrgID, v.TemplateID, v.Version, v.Content, v.DEKVersion, v.TextGenerated,
		v.ActorType, v.ActorID, Micros(v.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert template version: %w", err)
	}
	return nil
}

const templateVersionColumns = `id, version, content, dek_version, text_generated, actor_type, actor_id, created_at`

func scanTemplateVersion(sc interface{ Scan(...any) error }, v *TemplateVersionRow) error {
	var created int64
	if err := sc.Scan(&v.ID, &v.Version, &v.Content, &v.DEKVersion, &v.TextGenerated, &v.ActorType, &v.ActorID, &created); err != nil {
		return err
	}
	v.CreatedAt = FromMicros(created)
	return nil
}

// GetTemplateVersion reads one version of an organization's template.
func GetTemplateVersion(ctx context.Context, q Querier, orgID, templateID string, version int) (TemplateVersionRow, error) {
	v := TemplateVersionRow{OrgID: orgID, TemplateID: templateID}
	row := q.QueryRow(ctx, `SELECT `+templateVersionColumns+` FROM template_versions WHERE org_id = ? AND template_id = ? AND version = ?`,
		orgID, templateID, version)
	if err := mapError(scanTemplateVersion(row, &v)); err != nil {
		return TemplateVersionRow{}, fmt.Errorf("read template version: %w", err)
	}
	return v, nil
}

// TemplateVersionsOf lists a template's versions, newest first, without
// their content.
func TemplateVersionsOf(ctx context.Context, q Querier, orgID, templateID string) ([]TemplateVersionRow, error) {
	rows, err := q.Query(ctx, `SELECT `+templateVersionColumns+` FROM template_versions WHERE org_id = ? AND template_id = ?
		ORDER BY version DESC`, orgID, templateID)
	if err != nil {
		return nil, fmt.Errorf("list template versions: %w", err)
	}
	defer rows.Close()
	var out []TemplateVersionRow
	for rows.Next() {
		v := TemplateVersionRow{OrgID: orgID, TemplateID: templateID}
		if err := scanTemplateVersion(rows, &v); err != nil {
			return nil, fmt.Errorf("list template versions: %w", err)
		}
		v.Content = nil
		out = append(out, v)
	}
	return out, rows.Err()
}
