package store

// Persistence for package auth: custom roles. Built-in roles are defined in
// code (package access) and have no rows.

import (
	"context"
	"fmt"
	"time"
)

// RoleRow is one row of roles. Permissions is space-separated.
type RoleRow struct {
	ID          string
	OrgID       string
	Name        string
	Description string
	Permissions string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const roleColumns = `id, org_id, name, description, permissions, created_at, updated_at`

func scanRole(scan func(...any) error) (RoleRow, error) {
	var r RoleRow
	var created, updated int64
	if err := scan(&r.ID, &r.OrgID, &r.Name, &r.Description, &r.Permissions, &created, &updated); err != nil {
		return RoleRow{}, mapError(err)
	}
	r.CreatedAt, r.UpdatedAt = FromMicros(created), FromMicros(updated)
	return r, nil
}

// InsertRole adds a custom role; ErrConflict if orgID has one of that name.
func InsertRole(ctx context.Context, tx *Tx, r RoleRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO roles (`+roleColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OrgID, r.Name, r.Description, r.Permissions, Micros(r.CreatedAt), Micros(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert role %s: %w", r.ID, err)
	}
	return nil
}

// GetRole reads a custom role of orgID.
func GetRole(ctx context.Context, q Querier, orgID, id string) (RoleRow, error) {
	r, err := scanRole(q.QueryRow(ctx, `SELECT `+roleColumns+` FROM roles WHERE org_id = ? AND id = ?`, orgID, id).Scan)
	if err != nil {
		return RoleRow{}, fmt.Errorf("read role %s: %w", id, err)
	}
	return r, nil
}

// ListRoles lists the custom roles of orgID by name.
func ListRoles(ctx context.Context, q Querier, orgID string) ([]RoleRow, error) {
	rows, err := q.Query(ctx, `SELECT `+roleColumns+` FROM roles WHERE org_id = ? ORDER BY name, id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	defer rows.Close()
	var out []RoleRow
	for rows.Next() {
		r, err := scanRole(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list roles: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpdateRole writes a custom role's name, description and permissions;
// ErrConflict if the new name is taken.
func UpdateRole(ctx context.Context, tx *Tx, r RoleRow) error {
	res, err := tx.Exec(ctx, `UPDATE roles SET name = ?, description = ?, permissions = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
		r.Name, r.Description, r.Permissions, Micros(r.UpdatedAt), r.OrgID, r.ID)
	if err != nil {
		return fmt.Errorf("update role %s: %w", r.ID, err)
	}
	return authOneRow(res, "update role "+r.ID)
}

// DeleteRole removes a custom role of orgID.
func DeleteRole(ctx context.Context, tx *Tx, orgID, id string) error {
	res, err := tx.Exec(ctx, `DELETE FROM roles WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return fmt.Errorf("delete role %s: %w", id, err)
	}
	return authOneRow(res, "delete role "+id)
}
