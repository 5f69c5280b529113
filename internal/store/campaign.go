package store

// Persistence for campaigns (package campaign, docs/CAMPAIGNS.md). The
// rules — which transitions are allowed, who is skipped and why — live
// there; these functions move rows, always scoped by organization.

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CampaignRow is one campaign as stored. Audience is its JSON.
type CampaignRow struct {
	OrgID, ID       string
	Name            string
	State           string
	StateReason     string
	FromEmail       string
	FromName        string
	ReplyTo         string
	TemplateID      string
	TemplateVersion int
	Audience        string
	SendAt          time.Time
	Timezone        string
	Throttle        int
	PacedUntil      time.Time
	Security        string
	UsesPHI         bool
	Epoch           int
	CursorSource    int
	CursorAfter     string
	Prepared        bool
	Batches         int
	BatchesDone     int
	Targeted        int64
	CreatedByType   string
	CreatedByID     string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	StartedAt       time.Time
	FinishedAt      time.Time
}

const campaignColumns = `org_id, id, name, state, state_reason, from_email, from_name, reply_to, template_id, template_version, audience,
	send_at, timezone, throttle, paced_until, security, uses_phi, epoch, cursor_source, cursor_after, prepared, batches, batches_done,
	targeted, created_by_type, created_by_id, created_at, updated_at, started_at, finished_at`

func campaignArgs(r CampaignRow) []any {
	return []any{r.OrgID, r.ID, r.Name, r.State, r.StateReason, r.FromEmail, r.FromName, r.ReplyTo, r.TemplateID, r.TemplateVersion, r.Audience,
		Micros(r.SendAt), r.Timezone, r.Throttle, Micros(r.PacedUntil), r.Security, r.UsesPHI, r.Epoch, r.CursorSource, r.CursorAfter, r.Prepared,
		r.Batches, r.BatchesDone, r.Targeted, r.CreatedByType, r.CreatedByID, Micros(r.CreatedAt), Micros(r.UpdatedAt),
		Micros(r.StartedAt), Micros(r.FinishedAt)}
}

func scanCampaign(scan func(...any) error) (CampaignRow, error) {
	var r CampaignRow
	var sendAt, paced, created, updated, started, finished int64
	if err := scan(&r.OrgID, &r.ID, &r.Name, &r.State, &r.StateReason, &r.FromEmail, &r.FromName, &r.ReplyTo, &r.TemplateID, &r.TemplateVersion,
		&r.Audience, &sendAt, &r.Timezone, &r.Throttle, &paced, &r.Security, &r.UsesPHI, &r.Epoch, &r.CursorSource, &r.CursorAfter,
		&r.Prepared, &r.Batches, &r.BatchesDone, &r.Targeted, &r.CreatedByType, &r.CreatedByID, &created, &updated,
		&started, &finished); err != nil {
		return CampaignRow{}, mapError(err)
	}
	r.SendAt, r.PacedUntil, r.CreatedAt, r.UpdatedAt = FromMicros(sendAt), FromMicros(paced), FromMicros(created), FromMicros(updated)
	r.StartedAt, r.FinishedAt = FromMicros(started), FromMicros(finished)
	return r, nil
}

// InsertCampaign adds a campaign.
func InsertCampaign(ctx context.Context, tx *Tx, r CampaignRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO campaigns (`+campaignColumns+`) VALUES (?`+repeatPlaceholders(29)+`)`, campaignArgs(r)...)
	if err != nil {
		return fmt.Errorf("insert campaign: %w", err)
	}
	return nil
}

func repeatPlaceholders(n int) string {
	b := make([]byte, 0, n*3)
	for range n {
		b = append(b, ", ?"...)
	}
	return string(b)
}

// GetCampaign reads one campaign. Inside a transaction on PostgreSQL the row
// is locked until it ends, which orders every state change of a campaign
// (SQLite's single writer does the same).
func GetCampaign(ctx context.Context, q Querier, orgID, id string) (CampaignRow, error) {
	lock := ""
	if _, inTx := q.(*Tx); inTx && q.Driver() == Postgres {
		lock = " FOR UPDATE"
	}
	row := q.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE org_id = ? AND id = ?`+lock, orgID, id)
	r, err := scanCampaign(row.Scan)
	if err != nil {
		return CampaignRow{}, fmt.Errorf("read campaign %s: %w", id, err)
	}
	return r, nil
}

// ListCampaigns returns the organization's campaigns, newest first, at most
// limit, created before the campaign before (a cursor; "" for the first
// page).
func ListCampaigns(ctx context.Context, q Querier, orgID, before string, limit int) ([]CampaignRow, error) {
	query := `SELECT ` + campaignColumns + ` FROM campaigns WHERE org_id = ?`
	args := []any{orgID}
	if before != "" {
		query += ` AND id < ?`
		args = append(args, before)
	}
	rows, err := q.Query(ctx, query+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	defer rows.Close()
	var out []CampaignRow
	for rows.Next() {
		r, err := scanCampaign(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list campaigns: %w", err)
		}
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// UpdateCampaign writes a campaign's settings and state (everything but its
// identity, creator and progress counters, which have their own writers).
func UpdateCampaign(ctx context.Context, tx *Tx, r CampaignRow) error {
	res, err := tx.Exec(ctx, `UPDATE campaigns SET name = ?, state = ?, state_reason = ?, from_email = ?, from_name = ?, reply_to = ?, template_id = ?,
		template_version = ?, audience = ?, send_at = ?, timezone = ?, throttle = ?, paced_until = ?, security = ?, uses_phi = ?, epoch = ?,
		updated_at = ?, started_at = ?, finished_at = ? WHERE org_id = ? AND id = ?`,
		r.Name, r.State, r.StateReason, r.FromEmail, r.FromName, r.ReplyTo, r.TemplateID, r.TemplateVersion, r.Audience, Micros(r.SendAt),
		r.Timezone, r.Throttle, Micros(r.PacedUntil), r.Security, r.UsesPHI, r.Epoch, Micros(r.UpdatedAt), Micros(r.StartedAt), Micros(r.FinishedAt),
		r.OrgID, r.ID)
	return contactOne(res, err, "update campaign %s", r.ID)
}

// DeleteCampaign removes a campaign that never started (it has no
// recipients, batches or messages).
func DeleteCampaign(ctx context.Context, tx *Tx, orgID, id string) error {
	res, err := tx.Exec(ctx, `DELETE FROM campaigns WHERE org_id = ? AND id = ?`, orgID, id)
	return contactOne(res, err, "delete campaign %s", id)
}

// CampaignPage is what one page of the prepare step writes.
type CampaignPage struct {
	OrgID, CampaignID string
	ListID            string // the source list, "" for a segment
	ContactIDs        []string
	// Source and After are the cursor after this page.
	Source int
	After  string
	At     time.Time
	// DueAt is when the page's batch may start.
	DueAt time.Time
}

// PreparingCampaign is what the prepare step reads under the campaign's
// row lock before writing a page.
type PreparingCampaign struct {
	Epoch      int
	State      string
	NextBatch  int
	PacedUntil time.Time
}

// LockPreparingCampaign locks a campaign that is being prepared (sending
// or paused) and returns its epoch, state, next batch number and pace; ok
// is false when the campaign is in another state (cancelled), and
// preparing stops.
func LockPreparingCampaign(ctx context.Context, tx *Tx, orgID, id string) (PreparingCampaign, bool, error) {
	var p PreparingCampaign
	var paced int64
	err := Scan(tx.QueryRow(ctx, `UPDATE campaigns SET updated_at = updated_at WHERE org_id = ? AND id = ? AND state IN ('sending', 'paused')
		RETURNING epoch, state, batches, paced_until`, orgID, id), &p.Epoch, &p.State, &p.NextBatch, &paced)
	if errors.Is(err, ErrNotFound) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("lock campaign %s: %w", id, err)
	}
	p.PacedUntil = FromMicros(paced)
	return p, true, nil
}

// WriteCampaignPage writes one page of the audience as recipients of batch
// (skipping contacts the campaign already targets), records the batch when
// the page added anyone, and moves the cursor. It returns how many
// recipients the page added. Call it after LockPreparingCampaign in the
// same transaction.
func WriteCampaignPage(ctx context.Context, tx *Tx, p CampaignPage, batch int) (int64, error) {
	var added int64
	for start, end := range runs(len(p.ContactIDs), contactBatch) {
		part := p.ContactIDs[start:end]
		args := make([]any, 0, len(part)*7)
		at := Micros(p.At)
		for _, c := range part {
			args = append(args, p.OrgID, p.CampaignID, c, batch, p.ListID, "pending", at)
		}
		res, err := tx.Exec(ctx, `INSERT INTO campaign_recipients (org_id, campaign_id, contact_id, batch, list_id, state, updated_at)
			VALUES `+rowPlaceholders(len(part), 7)+` ON CONFLICT (org_id, campaign_id, contact_id) DO NOTHING`, args...)
		if err != nil {
			return 0, fmt.Errorf("insert campaign recipients: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("insert campaign recipients: %w", err)
		}
		added += n
	}
	if added > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO campaign_batches (org_id, campaign_id, batch, size, state, due_at, touched_at)
			VALUES (?, ?, ?, ?, 'pending', ?, ?)`, p.OrgID, p.CampaignID, batch, added, Micros(p.DueAt), Micros(p.At)); err != nil {
			return 0, fmt.Errorf("insert campaign batch: %w", err)
		}
	}
	newBatches := 0
	if added > 0 {
		newBatches = 1
	}
	paced := "paced_until"
	args := []any{p.Source, p.After, newBatches, added, Micros(p.At)}
	if added > 0 {
		paced = "?"
		args = append(args, Micros(p.DueAt))
	}
	_, err := tx.Exec(ctx, `UPDATE campaigns SET cursor_source = ?, cursor_after = ?, batches = batches + ?, targeted = targeted + ?,
		updated_at = ?, paced_until = `+paced+` WHERE org_id = ? AND id = ?`, append(args, p.OrgID, p.CampaignID)...)
	if err != nil {
		return 0, fmt.Errorf("advance campaign cursor: %w", err)
	}
	return added, nil
}

// MarkCampaignPrepared records that the whole audience is written.
func MarkCampaignPrepared(ctx context.Context, tx *Tx, orgID, id string, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE campaigns SET prepared = ?, updated_at = ? WHERE org_id = ? AND id = ?`, true, Micros(at), orgID, id)
	if err != nil {
		return fmt.Errorf("mark campaign prepared: %w", err)
	}
	return nil
}

// FinishCampaignBatch marks a batch done, once, counting it on the
// campaign; it reports whether this call did.
func FinishCampaignBatch(ctx context.Context, tx *Tx, orgID, id string, batch int, at time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE campaign_batches SET state = 'done' WHERE org_id = ? AND campaign_id = ? AND batch = ? AND state = 'pending'`,
		orgID, id, batch)
	if err != nil {
		return false, fmt.Errorf("finish campaign batch: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if _, err := tx.Exec(ctx, `UPDATE campaigns SET batches_done = batches_done + 1, updated_at = ? WHERE org_id = ? AND id = ?`,
		Micros(at), orgID, id); err != nil {
		return false, fmt.Errorf("count campaign batch: %w", err)
	}
	return true, nil
}

// CompleteCampaign moves a sending campaign whose audience is written and
// whose batches are all done to completed, and reports whether it did.
func CompleteCampaign(ctx context.Context, tx *Tx, orgID, id string, at time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE campaigns SET state = 'completed', finished_at = ?, updated_at = ?
		WHERE org_id = ? AND id = ? AND state = 'sending' AND prepared = ? AND batches_done = batches`, Micros(at), Micros(at), orgID, id, true)
	if err != nil {
		return false, fmt.Errorf("complete campaign: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PendingCampaignBatches lists the batches not yet done, in order.
func PendingCampaignBatches(ctx context.Context, q Querier, orgID, id string) ([]int, error) {
	rows, err := q.Query(ctx, `SELECT batch FROM campaign_batches WHERE org_id = ? AND campaign_id = ? AND state = 'pending' ORDER BY batch`, orgID, id)
	if err != nil {
		return nil, fmt.Errorf("pending campaign batches: %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var b int
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("pending campaign batches: %w", err)
		}
		out = append(out, b)
	}
	return out, mapError(rows.Err())
}

// RescheduleCampaignBatches sets the due times of a campaign's pending
// batches (resume spaces them again from now) and marks them touched.
func RescheduleCampaignBatches(ctx context.Context, tx *Tx, orgID, id string, due map[int]time.Time, at time.Time) error {
	for b, t := range due {
		if _, err := tx.Exec(ctx, `UPDATE campaign_batches SET due_at = ?, touched_at = ? WHERE org_id = ? AND campaign_id = ? AND batch = ?`,
			Micros(t), Micros(at), orgID, id, b); err != nil {
			return fmt.Errorf("reschedule campaign batch: %w", err)
		}
	}
	return nil
}

// TouchCampaignBatch records that a job is working on a batch (the sweep
// leaves it alone for a lease).
func TouchCampaignBatch(ctx context.Context, q Querier, orgID, id string, batch int, at time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE campaign_batches SET touched_at = ? WHERE org_id = ? AND campaign_id = ? AND batch = ?`,
		Micros(at), orgID, id, batch); err != nil {
		return fmt.Errorf("touch campaign batch: %w", err)
	}
	return nil
}

// StaleCampaignBatch is a pending batch of a sending campaign that no job
// touched since before the sweep's limit.
type StaleCampaignBatch struct {
	OrgID, CampaignID string
	Batch, Epoch      int
}

// StaleCampaignBatches lists up to limit pending batches of sending
// campaigns due and untouched before before.
func StaleCampaignBatches(ctx context.Context, q Querier, before time.Time, limit int) ([]StaleCampaignBatch, error) {
	rows, err := q.Query(ctx, `SELECT b.org_id, b.campaign_id, b.batch, c.epoch FROM campaigns c
		JOIN campaign_batches b ON b.org_id = c.org_id AND b.campaign_id = c.id
		WHERE c.state = 'sending' AND b.state = 'pending' AND b.due_at < ? AND b.touched_at < ?
		ORDER BY b.org_id, b.campaign_id, b.batch LIMIT ?`, Micros(before), Micros(before), limit)
	if err != nil {
		return nil, fmt.Errorf("stale campaign batches: %w", err)
	}
	defer rows.Close()
	var out []StaleCampaignBatch
	for rows.Next() {
		var b StaleCampaignBatch
		if err := rows.Scan(&b.OrgID, &b.CampaignID, &b.Batch, &b.Epoch); err != nil {
			return nil, fmt.Errorf("stale campaign batches: %w", err)
		}
		out = append(out, b)
	}
	return out, mapError(rows.Err())
}

// StalePreparingCampaigns lists sending or paused campaigns whose audience
// is not all written and whose row nothing changed since before (a prepare
// job killed with its node).
func StalePreparingCampaigns(ctx context.Context, q Querier, before time.Time, limit int) ([][2]string, error) {
	rows, err := q.Query(ctx, `SELECT org_id, id FROM campaigns WHERE state IN ('sending', 'paused') AND prepared = ? AND updated_at < ?
		ORDER BY org_id, id LIMIT ?`, false, Micros(before), limit)
	if err != nil {
		return nil, fmt.Errorf("stale campaigns: %w", err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var o, i string
		if err := rows.Scan(&o, &i); err != nil {
			return nil, fmt.Errorf("stale campaigns: %w", err)
		}
		out = append(out, [2]string{o, i})
	}
	return out, mapError(rows.Err())
}

// TouchCampaign marks a campaign's row changed now (the sweep leaves a
// prepare it just restarted alone for a lease).
func TouchCampaign(ctx context.Context, tx *Tx, orgID, id string, at time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE campaigns SET updated_at = ? WHERE org_id = ? AND id = ?`, Micros(at), orgID, id); err != nil {
		return fmt.Errorf("touch campaign: %w", err)
	}
	return nil
}
