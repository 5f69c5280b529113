package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// WorkflowRunRow is one contact's journey through one workflow.
type WorkflowRunRow struct {
	OrgID, ID, WorkflowID string
	Occurrence            string
	Version               int
	ContactID             string
	Priority              int
	State                 string
	StepID                string
	StepAt                time.Time
	DueAt                 time.Time // zero: not due
	WaitKey               string
	Wake                  string
	Visited               string
	Engaged               string
	Seq                   int
	Outcome               string
	Source                string
	EnteredAt, FinishedAt time.Time
}

const runColumns = `org_id, id, workflow_id, occurrence, version, contact_id, priority, state, step_id, step_at, due_at, wait_key,
	wake, visited, engaged, seq, outcome, source, entered_at, finished_at`

func runArgs(r WorkflowRunRow) []any {
	return []any{r.OrgID, r.ID, r.WorkflowID, r.Occurrence, r.Version, r.ContactID, r.Priority, r.State, r.StepID, Micros(r.StepAt),
		Micros(r.DueAt), r.WaitKey, r.Wake, r.Visited, r.Engaged, r.Seq, r.Outcome, r.Source, Micros(r.EnteredAt), Micros(r.FinishedAt)}
}

func scanRun(scan func(...any) error) (WorkflowRunRow, error) {
	var r WorkflowRunRow
	var stepAt, due, entered, finished int64
	if err := scan(&r.OrgID, &r.ID, &r.WorkflowID, &r.Occurrence, &r.Version, &r.ContactID, &r.Priority, &r.State, &r.StepID, &stepAt,
		&due, &r.WaitKey, &r.Wake, &r.Visited, &r.Engaged, &r.Seq, &r.Outcome, &r.Source, &entered, &finished); err != nil {
		return WorkflowRunRow{}, mapError(err)
	}
	r.StepAt, r.DueAt, r.EnteredAt, r.FinishedAt = FromMicros(stepAt), FromMicros(due), FromMicros(entered), FromMicros(finished)
	return r, nil
}

func queryRuns(ctx context.Context, q Querier, query string, args ...any) ([]WorkflowRunRow, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []WorkflowRunRow
	for rows.Next() {
		r, err := scanRun(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// InsertWorkflowRuns adds runs, skipping any whose (workflow, contact,
// occurrence) already has one — no re-entry — and returns the ids of the
// rows it inserted.
func InsertWorkflowRuns(ctx context.Context, tx *Tx, rows []WorkflowRunRow) (map[string]bool, error) {
	out := map[string]bool{}
	const cols = 20
	for start := 0; start < len(rows); start += contactBatch / 2 {
		part := rows[start:min(start+contactBatch/2, len(rows))]
		args := make([]any, 0, len(part)*cols)
		for _, r := range part {
			args = append(args, runArgs(r)...)
		}
		res, err := tx.Query(ctx, `INSERT INTO workflow_runs (`+runColumns+`) VALUES `+rowPlaceholders(len(part), cols)+
			` ON CONFLICT (org_id, workflow_id, contact_id, occurrence) DO NOTHING RETURNING id`, args...)
		if err != nil {
			return nil, fmt.Errorf("insert workflow runs: %w", err)
		}
		for res.Next() {
			var id string
			if err := res.Scan(&id); err != nil {
				res.Close()
				return nil, mapError(err)
			}
			out[id] = true
		}
		res.Close()
		if err := res.Err(); err != nil {
			return nil, mapError(err)
		}
	}
	return out, nil
}

// ClaimDueRuns returns up to limit runs due at or before now, highest
// priority first and then oldest due first. On PostgreSQL the rows are
// locked FOR UPDATE SKIP LOCKED until tx ends, so claimers on several
// nodes take disjoint rows; SQLite's single writer serializes claimers.
func ClaimDueRuns(ctx context.Context, tx *Tx, now time.Time, limit int) ([]WorkflowRunRow, error) {
	lock := ""
	if tx.Driver() == Postgres {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	var out []WorkflowRunRow
	for p := 9; p >= 0 && len(out) < limit; p-- {
		rows, err := queryRuns(ctx, tx, `SELECT `+runColumns+` FROM workflow_runs WHERE priority = ? AND due_at > 0 AND due_at <= ?
			ORDER BY due_at LIMIT ?`+lock, p, Micros(now), limit-len(out))
		if err != nil {
			return nil, fmt.Errorf("claim due workflow runs: %w", err)
		}
		out = append(out, rows...)
	}
	return out, nil
}

// NextDue is the earliest due time of any run (zero when none is due
// ever), for arming the engine's next job.
func NextDue(ctx context.Context, q Querier) (time.Time, error) {
	var best int64
	for p := 9; p >= 0; p-- {
		var due int64
		err := Scan(q.QueryRow(ctx, `SELECT COALESCE(MIN(due_at), 0) FROM workflow_runs WHERE priority = ? AND due_at > 0`, p), &due)
		if err != nil {
			return time.Time{}, fmt.Errorf("next due workflow run: %w", err)
		}
		if due > 0 && (best == 0 || due < best) {
			best = due
		}
	}
	return FromMicros(best), nil
}

// UpdateWorkflowRuns writes runs' mutable columns, a hundred runs per
// statement (UPDATE … FROM VALUES on both drivers, whose VALUES columns are
// column1, column2, …): an engine batch updates every run it claimed.
func UpdateWorkflowRuns(ctx context.Context, tx *Tx, rows []WorkflowRunRow) error {
	const chunk = 100
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		var b strings.Builder
		b.WriteString(`UPDATE workflow_runs AS r SET state = v.column3, step_id = v.column4, step_at = v.column5, due_at = v.column6,
			wait_key = v.column7, wake = v.column8, visited = v.column9, engaged = v.column10, seq = v.column11, outcome = v.column12,
			finished_at = v.column13 FROM (VALUES `)
		args := make([]any, 0, len(part)*13)
		for i, r := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			// Casts give PostgreSQL the types of VALUES' parameters.
			b.WriteString(`(?, ?, ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT), ?, ?, ?, ?, CAST(? AS INTEGER), ?, CAST(? AS BIGINT))`)
			args = append(args, r.OrgID, r.ID, r.State, r.StepID, Micros(r.StepAt), Micros(r.DueAt), r.WaitKey, r.Wake, r.Visited,
				r.Engaged, r.Seq, r.Outcome, Micros(r.FinishedAt))
		}
		b.WriteString(`) AS v WHERE r.org_id = v.column1 AND r.id = v.column2`)
		res, err := tx.Exec(ctx, b.String(), args...)
		if err != nil {
			return fmt.Errorf("update workflow runs: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(part)) {
			return fmt.Errorf("update workflow runs: %d of %d rows updated (%v)", n, len(part), err)
		}
	}
	return nil
}

// WakeWorkflowRuns makes due now every run of the contact waiting for key,
// marking why (wake), and returns how many it woke. It goes through
// workflow_runs_wait: the contact's waiting rows, not a scan.
func WakeWorkflowRuns(ctx context.Context, tx *Tx, orgID, contactID, key, wake string, now time.Time) (int64, error) {
	res, err := tx.Exec(ctx, `UPDATE workflow_runs SET wake = ?, due_at = ? WHERE org_id = ? AND contact_id = ? AND wait_key = ? AND wait_key <> '' AND state = 'waiting'`,
		wake, Micros(now), orgID, contactID, key)
	if err != nil {
		return 0, fmt.Errorf("wake workflow runs: %w", err)
	}
	return res.RowsAffected()
}

// WakeWorkflowRunsOf is WakeWorkflowRuns for several contacts at once.
func WakeWorkflowRunsOf(ctx context.Context, tx *Tx, orgID string, contactIDs []string, key, wake string, now time.Time) (int64, error) {
	var n int64
	for start := 0; start < len(contactIDs); start += contactBatch {
		part := contactIDs[start:min(start+contactBatch, len(contactIDs))]
		args, list := inList([]any{wake, Micros(now), orgID, key}, part)
		res, err := tx.Exec(ctx, `UPDATE workflow_runs SET wake = ?, due_at = ? WHERE org_id = ? AND wait_key = ? AND wait_key <> ''
			AND state = 'waiting' AND contact_id IN `+list, args...)
		if err != nil {
			return n, fmt.Errorf("wake workflow runs: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, fmt.Errorf("wake workflow runs: %w", err)
		}
		n += k
	}
	return n, nil
}

// WaitingKeys returns the wait keys of a contact's waiting runs with the
// given prefix (through workflow_runs_wait).
func WaitingKeys(ctx context.Context, q Querier, orgID, contactID, prefix string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT wait_key FROM workflow_runs WHERE org_id = ? AND contact_id = ? AND wait_key >= ? AND wait_key < ? AND wait_key <> ''`,
		orgID, contactID, prefix, prefix+"\xff")
	if err != nil {
		return nil, fmt.Errorf("waiting keys: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, mapError(err)
		}
		out = append(out, k)
	}
	return out, mapError(rows.Err())
}

// LatestWorkflowRun is a contact's newest run of a workflow (locked on
// PostgreSQL inside a transaction); ErrNotFound when it has none.
func LatestWorkflowRun(ctx context.Context, q Querier, orgID, workflowID, contactID string) (WorkflowRunRow, error) {
	query := `SELECT ` + runColumns + ` FROM workflow_runs WHERE org_id = ? AND workflow_id = ? AND contact_id = ? ORDER BY entered_at DESC LIMIT 1`
	if _, inTx := q.(*Tx); inTx && q.Driver() == Postgres {
		query += ` FOR UPDATE`
	}
	rows, err := queryRuns(ctx, q, query, orgID, workflowID, contactID)
	if err != nil {
		return WorkflowRunRow{}, fmt.Errorf("read workflow run: %w", err)
	}
	if len(rows) == 0 {
		return WorkflowRunRow{}, fmt.Errorf("read workflow run: %w", ErrNotFound)
	}
	return rows[0], nil
}

// SetWorkflowRunEngaged records a run's engagement tokens.
func SetWorkflowRunEngaged(ctx context.Context, tx *Tx, orgID, runID, engaged string) error {
	_, err := tx.Exec(ctx, `UPDATE workflow_runs SET engaged = ? WHERE org_id = ? AND id = ?`, engaged, orgID, runID)
	if err != nil {
		return fmt.Errorf("record engagement: %w", err)
	}
	return nil
}

// GetWorkflowRun reads one run.
func GetWorkflowRun(ctx context.Context, q Querier, orgID, runID string) (WorkflowRunRow, error) {
	r, err := scanRun(q.QueryRow(ctx, `SELECT `+runColumns+` FROM workflow_runs WHERE org_id = ? AND id = ?`, orgID, runID).Scan)
	if err != nil {
		return WorkflowRunRow{}, fmt.Errorf("read workflow run %s/%s: %w", orgID, runID, err)
	}
	return r, nil
}

// RunQuery selects a page of a workflow's runs in id order.
type RunQuery struct {
	OrgID, WorkflowID string
	State, StepID     string
	ContactID         string
	After             string
	Limit             int
}

// ListWorkflowRuns runs q.
func ListWorkflowRuns(ctx context.Context, q Querier, rq RunQuery) ([]WorkflowRunRow, error) {
	where, args := runFilter(rq)
	where.WriteString(` AND id > ? ORDER BY id LIMIT ?`)
	args = append(args, rq.After, rq.Limit)
	rows, err := queryRuns(ctx, q, `SELECT `+runColumns+` FROM workflow_runs`+where.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("list workflow runs: %w", err)
	}
	return rows, nil
}

// CountWorkflowRuns counts the runs ListWorkflowRuns would walk through
// for rq's filters (its cursor and limit aside).
func CountWorkflowRuns(ctx context.Context, q Querier, rq RunQuery) (int64, error) {
	where, args := runFilter(rq)
	var n int64
	if err := Scan(q.QueryRow(ctx, `SELECT count(*) FROM workflow_runs`+where.String(), args...), &n); err != nil {
		return 0, fmt.Errorf("count workflow runs: %w", err)
	}
	return n, nil
}

// runFilter is the WHERE clause of rq's filters.
func runFilter(rq RunQuery) (*strings.Builder, []any) {
	var where strings.Builder
	args := []any{rq.OrgID, rq.WorkflowID}
	where.WriteString(` WHERE org_id = ? AND workflow_id = ?`)
	for _, f := range []struct{ col, val string }{{"state", rq.State}, {"step_id", rq.StepID}, {"contact_id", rq.ContactID}} {
		if f.val != "" {
			where.WriteString(` AND ` + f.col + ` = ?`)
			args = append(args, f.val)
		}
	}
	return &where, args
}

// WorkflowHistoryRow is one step a run left.
type WorkflowHistoryRow struct {
	OrgID, RunID      string
	Seq               int
	StepID, StepType  string
	EnteredAt, LeftAt time.Time
	Outcome, Detail   string
}

// InsertWorkflowHistory adds history rows.
func InsertWorkflowHistory(ctx context.Context, tx *Tx, rows []WorkflowHistoryRow) error {
	const cols = 9
	for start, end := range runs(len(rows), contactBatch) {
		part := rows[start:end]
		args := make([]any, 0, len(part)*cols)
		for _, r := range part {
			args = append(args, r.OrgID, r.RunID, r.Seq, r.StepID, r.StepType, Micros(r.EnteredAt), Micros(r.LeftAt), r.Outcome, r.Detail)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO workflow_history (org_id, run_id, seq, step_id, step_type, entered_at, left_at, outcome, detail)
			VALUES `+rowPlaceholders(len(part), cols), args...); err != nil {
			return fmt.Errorf("insert workflow history: %w", err)
		}
	}
	return nil
}

// WorkflowHistory is a run's path, in order.
func WorkflowHistory(ctx context.Context, q Querier, orgID, runID string) ([]WorkflowHistoryRow, error) {
	rows, err := q.Query(ctx, `SELECT org_id, run_id, seq, step_id, step_type, entered_at, left_at, outcome, detail
		FROM workflow_history WHERE org_id = ? AND run_id = ? ORDER BY seq`, orgID, runID)
	if err != nil {
		return nil, fmt.Errorf("read workflow history: %w", err)
	}
	defer rows.Close()
	var out []WorkflowHistoryRow
	for rows.Next() {
		var r WorkflowHistoryRow
		var e, l int64
		if err := rows.Scan(&r.OrgID, &r.RunID, &r.Seq, &r.StepID, &r.StepType, &e, &l, &r.Outcome, &r.Detail); err != nil {
			return nil, mapError(err)
		}
		r.EnteredAt, r.LeftAt = FromMicros(e), FromMicros(l)
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// WorkflowStepStats are one step's counters (or the additions to them).
type WorkflowStepStats struct {
	WorkflowID, StepID                                      string
	Entered, Left, Sends, Opens, Clicks, Dropoffs, Complete int64
}

// AddWorkflowStepStats adds to steps' counters.
func AddWorkflowStepStats(ctx context.Context, tx *Tx, orgID string, deltas []WorkflowStepStats) error {
	for _, d := range deltas {
		_, err := tx.Exec(ctx, `INSERT INTO workflow_step_stats (org_id, workflow_id, step_id, entered, left_step, sends, opens, clicks, dropoffs, completed)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id, workflow_id, step_id) DO UPDATE SET entered = workflow_step_stats.entered + excluded.entered,
			left_step = workflow_step_stats.left_step + excluded.left_step, sends = workflow_step_stats.sends + excluded.sends,
			opens = workflow_step_stats.opens + excluded.opens, clicks = workflow_step_stats.clicks + excluded.clicks,
			dropoffs = workflow_step_stats.dropoffs + excluded.dropoffs, completed = workflow_step_stats.completed + excluded.completed`,
			orgID, d.WorkflowID, d.StepID, d.Entered, d.Left, d.Sends, d.Opens, d.Clicks, d.Dropoffs, d.Complete)
		if err != nil {
			return fmt.Errorf("add workflow step stats: %w", err)
		}
	}
	return nil
}

// WorkflowStats returns a workflow's step counters keyed by step id.
func WorkflowStats(ctx context.Context, q Querier, orgID, workflowID string) (map[string]WorkflowStepStats, error) {
	rows, err := q.Query(ctx, `SELECT step_id, entered, left_step, sends, opens, clicks, dropoffs, completed FROM workflow_step_stats
		WHERE org_id = ? AND workflow_id = ?`, orgID, workflowID)
	if err != nil {
		return nil, fmt.Errorf("read workflow stats: %w", err)
	}
	defer rows.Close()
	out := map[string]WorkflowStepStats{}
	for rows.Next() {
		s := WorkflowStepStats{WorkflowID: workflowID}
		if err := rows.Scan(&s.StepID, &s.Entered, &s.Left, &s.Sends, &s.Opens, &s.Clicks, &s.Dropoffs, &s.Complete); err != nil {
			return nil, mapError(err)
		}
		out[s.StepID] = s
	}
	return out, mapError(rows.Err())
}

// WorkflowEnrolmentRow is a bulk enrolment's progress.
type WorkflowEnrolmentRow struct {
	OrgID, WorkflowID, Source string
	Cursor                    string
	Done                      bool
	Enrolled                  int64
	CreatedAt, UpdatedAt      time.Time
}

// PutWorkflowEnrolment inserts or replaces a bulk enrolment's progress.
func PutWorkflowEnrolment(ctx context.Context, tx *Tx, r WorkflowEnrolmentRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO workflow_enrolments (org_id, workflow_id, source, cursor, done, enrolled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, workflow_id, source) DO UPDATE SET cursor = excluded.cursor,
		done = excluded.done, enrolled = excluded.enrolled, updated_at = excluded.updated_at`,
		r.OrgID, r.WorkflowID, r.Source, r.Cursor, r.Done, r.Enrolled, Micros(r.CreatedAt), Micros(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save workflow enrolment: %w", err)
	}
	return nil
}

// GetWorkflowEnrolment reads a bulk enrolment's progress.
func GetWorkflowEnrolment(ctx context.Context, q Querier, orgID, workflowID, source string) (WorkflowEnrolmentRow, error) {
	r := WorkflowEnrolmentRow{OrgID: orgID, WorkflowID: workflowID, Source: source}
	var c, u int64
	err := Scan(q.QueryRow(ctx, `SELECT cursor, done, enrolled, created_at, updated_at FROM workflow_enrolments
		WHERE org_id = ? AND workflow_id = ? AND source = ?`, orgID, workflowID, source), &r.Cursor, &r.Done, &r.Enrolled, &c, &u)
	if err != nil {
		return WorkflowEnrolmentRow{}, fmt.Errorf("read workflow enrolment: %w", err)
	}
	r.CreatedAt, r.UpdatedAt = FromMicros(c), FromMicros(u)
	return r, nil
}
