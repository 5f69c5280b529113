package store

// Persistence for package auth: organizations and their session settings.
// The rules (bounds on timeouts, who may change them, auditing) live in
// package auth; these functions only move rows, always scoped by id.

import (
	"context"
	"fmt"
	"time"
)

// Organization statuses.
const (
	OrgActive   = "active"
	OrgDisabled = "disabled"
)

// OrgRow is one row of organizations.
type OrgRow struct {
	ID     string
	Name   string
	Status string
	// IdleTimeoutS and SessionLifetimeS are seconds (HIPAA 164.312(a)(2)(iii)
	// automatic logoff).
	IdleTimeoutS     int64
	SessionLifetimeS int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

const orgColumns = `id, name, status, idle_timeout_s, session_lifetime_s, created_at, updated_at`

func scanOrg(scan func(...any) error) (OrgRow, error) {
	var o OrgRow
	var created, updated int64
	if err := scan(&o.ID, &o.Name, &o.Status, &o.IdleTimeoutS, &o.SessionLifetimeS, &created, &updated); err != nil {
		return OrgRow{}, mapError(err)
	}
	o.CreatedAt, o.UpdatedAt = FromMicros(created), FromMicros(updated)
	return o, nil
}

// InsertOrganization adds an organization.
func InsertOrganization(ctx context.Context, tx *Tx, o OrgRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO organizations (`+orgColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.Name, o.Status, o.IdleTimeoutS, o.SessionLifetimeS, Micros(o.CreatedAt), Micros(o.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert organization %s: %w", o.ID, err)
	}
	return nil
}

// GetOrganization reads one organization; ErrNotFound if there is none.
func GetOrganization(ctx context.Context, q Querier, id string) (OrgRow, error) {
	o, err := scanOrg(q.QueryRow(ctx, `SELECT `+orgColumns+` FROM organizations WHERE id = ?`, id).Scan)
	if err != nil {
		return OrgRow{}, fmt.Errorf("read organization %s: %w", id, err)
	}
	return o, nil
}

// LockOrganization reads an organization and, on PostgreSQL, locks its row
// until tx ends, so checks that span the organization's users (at least one
// active owner) cannot race another transaction doing the same. SQLite's
// single writer already serializes them.
func LockOrganization(ctx context.Context, tx *Tx, id string) (OrgRow, error) {
	query := `SELECT ` + orgColumns + ` FROM organizations WHERE id = ?`
	if tx.Driver() == Postgres {
		query += ` FOR UPDATE`
	}
	o, err := scanOrg(tx.QueryRow(ctx, query, id).Scan)
	if err != nil {
		return OrgRow{}, fmt.Errorf("lock organization %s: %w", id, err)
	}
	return o, nil
}

// UpdateOrganization writes an organization's name, status and session
// settings; ErrNotFound if there is none.
func UpdateOrganization(ctx context.Context, tx *Tx, o OrgRow) error {
	res, err := tx.Exec(ctx, `UPDATE organizations SET name = ?, status = ?, idle_timeout_s = ?, session_lifetime_s = ?, updated_at = ? WHERE id = ?`,
		o.Name, o.Status, o.IdleTimeoutS, o.SessionLifetimeS, Micros(o.UpdatedAt), o.ID)
	if err != nil {
		return fmt.Errorf("update organization %s: %w", o.ID, err)
	}
	return authOneRow(res, "update organization "+o.ID)
}

// CountOrganizations counts every organization of the install.
func CountOrganizations(ctx context.Context, q Querier) (int, error) {
	var n int
	if err := Scan(q.QueryRow(ctx, `SELECT count(*) FROM organizations`), &n); err != nil {
		return 0, fmt.Errorf("count organizations: %w", err)
	}
	return n, nil
}

// authOneRow turns "no row affected" into ErrNotFound.
func authOneRow(res interface{ RowsAffected() (int64, error) }, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// authAffected returns how many rows a statement changed.
func authAffected(res interface{ RowsAffected() (int64, error) }, what string) (int, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return int(n), nil
}
