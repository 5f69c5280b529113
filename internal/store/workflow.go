package store

// Persistence for automated workflows (package workflow,
// docs/WORKFLOWS.md): definitions and their sealed versions, the
// trigger index, and the per-contact runs the engine claims. The rules
// live in package workflow; these functions move rows, always scoped by
// organization (except the engine's claim, which serves every
// organization and returns each row's organization).

import (
	"context"
	"fmt"
	"time"
)

// WorkflowVersionsTable describes workflow_versions for the keyring.
func WorkflowVersionsTable() SealedTable {
	return SealedTable{Table: "workflow_versions", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version", Columns: []string{"definition"}}
}

// WorkflowRow is one workflow.
type WorkflowRow struct {
	OrgID, ID            string
	Name                 string
	State                string
	CurrentVersion       int
	TriggerType          string
	CreatedAt, UpdatedAt time.Time
}

// InsertWorkflow adds a workflow.
func InsertWorkflow(ctx context.Context, tx *Tx, r WorkflowRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO workflows (org_id, id, name, state, current_version, trigger_type, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.OrgID, r.ID, r.Name, r.State, r.CurrentVersion, r.TriggerType, Micros(r.CreatedAt), Micros(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert workflow: %w", err)
	}
	return nil
}

// UpdateWorkflow replaces a workflow's name, state, version and trigger
// type. ErrNotFound when the organization has no such workflow.
func UpdateWorkflow(ctx context.Context, tx *Tx, r WorkflowRow) error {
	res, err := tx.Exec(ctx, `UPDATE workflows SET name = ?, state = ?, current_version = ?, trigger_type = ?, updated_at = ?
		WHERE org_id = ? AND id = ?`, r.Name, r.State, r.CurrentVersion, r.TriggerType, Micros(r.UpdatedAt), r.OrgID, r.ID)
	return contactOne(res, err, "update workflow %s/%s", r.OrgID, r.ID)
}

const workflowSelect = `SELECT org_id, id, name, state, current_version, trigger_type, created_at, updated_at FROM workflows`

func scanWorkflow(scan func(...any) error) (WorkflowRow, error) {
	var r WorkflowRow
	var c, u int64
	if err := scan(&r.OrgID, &r.ID, &r.Name, &r.State, &r.CurrentVersion, &r.TriggerType, &c, &u); err != nil {
		return WorkflowRow{}, mapError(err)
	}
	r.CreatedAt, r.UpdatedAt = FromMicros(c), FromMicros(u)
	return r, nil
}

// GetWorkflow reads one workflow; locked until the transaction ends when
// q is a transaction on PostgreSQL.
func GetWorkflow(ctx context.Context, q Querier, orgID, id string) (WorkflowRow, error) {
	query := workflowSelect + ` WHERE org_id = ? AND id = ?`
	if _, inTx := q.(*Tx); inTx && q.Driver() == Postgres {
		query += ` FOR UPDATE`
	}
	r, err := scanWorkflow(q.QueryRow(ctx, query, orgID, id).Scan)
	if err != nil {
		return WorkflowRow{}, fmt.Errorf("read workflow %s/%s: %w", orgID, id, err)
	}
	return r, nil
}

// ListWorkflows returns the organization's workflows, newest first.
func ListWorkflows(ctx context.Context, q Querier, orgID string, limit int) ([]WorkflowRow, error) {
	rows, err := q.Query(ctx, workflowSelect+` WHERE org_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, orgID, limit)
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	defer rows.Close()
	var out []WorkflowRow
	for rows.Next() {
		r, err := scanWorkflow(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// WorkflowVersionRow is one sealed definition.
type WorkflowVersionRow struct {
	ID, OrgID, WorkflowID string
	Version               int
	Definition            []byte
	DEKVersion            int
	ActorType, ActorID    string
	CreatedAt             time.Time
}

// InsertWorkflowVersion adds a version; ErrConflict when the number is
// taken.
func InsertWorkflowVersion(ctx context.Context, tx *Tx, r WorkflowVersionRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO workflow_versions (id, org_id, workflow_id, version, definition, dek_version, actor_type, actor_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.OrgID, r.WorkflowID, r.Version, r.Definition, r.DEKVersion, r.ActorType, r.ActorID, Micros(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert workflow version: %w", err)
	}
	return nil
}

const workflowVersionSelect = `SELECT id, org_id, workflow_id, version, definition, dek_version, actor_type, actor_id, created_at FROM workflow_versions`

func scanWorkflowVersion(scan func(...any) error) (WorkflowVersionRow, error) {
	var r WorkflowVersionRow
	var c int64
	if err := scan(&r.ID, &r.OrgID, &r.WorkflowID, &r.Version, &r.Definition, &r.DEKVersion, &r.ActorType, &r.ActorID, &c); err != nil {
		return WorkflowVersionRow{}, mapError(err)
	}
	r.CreatedAt = FromMicros(c)
	return r, nil
}

// GetWorkflowVersion reads one version.
func GetWorkflowVersion(ctx context.Context, q Querier, orgID, workflowID string, version int) (WorkflowVersionRow, error) {
	r, err := scanWorkflowVersion(q.QueryRow(ctx, workflowVersionSelect+` WHERE org_id = ? AND workflow_id = ? AND version = ?`,
		orgID, workflowID, version).Scan)
	if err != nil {
		return WorkflowVersionRow{}, fmt.Errorf("read workflow version %s/%s v%d: %w", orgID, workflowID, version, err)
	}
	return r, nil
}

// WorkflowVersions lists a workflow's versions (without definitions'
// plaintext, which stays sealed), newest first.
func WorkflowVersions(ctx context.Context, q Querier, orgID, workflowID string) ([]WorkflowVersionRow, error) {
	rows, err := q.Query(ctx, workflowVersionSelect+` WHERE org_id = ? AND workflow_id = ? ORDER BY version DESC`, orgID, workflowID)
	if err != nil {
		return nil, fmt.Errorf("list workflow versions: %w", err)
	}
	defer rows.Close()
	var out []WorkflowVersionRow
	for rows.Next() {
		r, err := scanWorkflowVersion(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// WorkflowTrigger is one entry of the trigger index.
type WorkflowTrigger struct{ Kind, Key string }

// SetWorkflowTriggers replaces a workflow's trigger entries (none: the
// workflow no longer starts on anything).
func SetWorkflowTriggers(ctx context.Context, tx *Tx, orgID, workflowID string, ts []WorkflowTrigger) error {
	if _, err := tx.Exec(ctx, `DELETE FROM workflow_triggers WHERE org_id = ? AND workflow_id = ?`, orgID, workflowID); err != nil {
		return fmt.Errorf("clear workflow triggers: %w", err)
	}
	for _, t := range ts {
		if _, err := tx.Exec(ctx, `INSERT INTO workflow_triggers (org_id, kind, key, workflow_id) VALUES (?, ?, ?, ?)`,
			orgID, t.Kind, t.Key, workflowID); err != nil {
			return fmt.Errorf("set workflow trigger: %w", err)
		}
	}
	return nil
}

// TriggeredWorkflows lists the active workflows a (kind, key) starts.
func TriggeredWorkflows(ctx context.Context, q Querier, orgID, kind, key string) ([]string, error) {
	ids, err := queryIDs(ctx, q, `SELECT workflow_id FROM workflow_triggers WHERE org_id = ? AND kind = ? AND key = ? ORDER BY workflow_id`, orgID, kind, key)
	if err != nil {
		return nil, fmt.Errorf("find triggered workflows: %w", err)
	}
	return ids, nil
}

// TriggersOfKind lists every (organization, key, workflow) of a kind: the
// date-milestone job's work list.
func TriggersOfKind(ctx context.Context, q Querier, kind string) ([][3]string, error) {
	rows, err := q.Query(ctx, `SELECT org_id, key, workflow_id FROM workflow_triggers WHERE kind = ? ORDER BY org_id, workflow_id`, kind)
	if err != nil {
		return nil, fmt.Errorf("list triggers: %w", err)
	}
	defer rows.Close()
	var out [][3]string
	for rows.Next() {
		var t [3]string
		if err := rows.Scan(&t[0], &t[1], &t[2]); err != nil {
			return nil, mapError(err)
		}
		out = append(out, t)
	}
	return out, mapError(rows.Err())
}
