package store

import (
	"context"
	"fmt"
	"time"
)

// SegmentWatchRow is one watched dynamic segment (migration 0019): the
// expression version its entries were taken with, when that baseline was
// taken, and the last sweep.
type SegmentWatchRow struct {
	OrgID, SegmentID string
	Version          int
	PrimedAt         time.Time
	SweptAt          time.Time
}

// GetSegmentWatch reads a segment's watch row: ErrNotFound when the
// segment is not watched yet.
func GetSegmentWatch(ctx context.Context, q Querier, orgID, segmentID string) (SegmentWatchRow, error) {
	r := SegmentWatchRow{OrgID: orgID, SegmentID: segmentID}
	var primed, swept int64
	err := Scan(q.QueryRow(ctx, `SELECT version, primed_at, swept_at FROM segment_watches WHERE org_id = ? AND segment_id = ?`,
		orgID, segmentID), &r.Version, &primed, &swept)
	if err != nil {
		return r, fmt.Errorf("segment watch %s/%s: %w", orgID, segmentID, err)
	}
	r.PrimedAt, r.SweptAt = FromMicros(primed), FromMicros(swept)
	return r, nil
}

// PutSegmentWatch inserts or replaces a segment's watch row.
func PutSegmentWatch(ctx context.Context, tx *Tx, r SegmentWatchRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO segment_watches (org_id, segment_id, version, primed_at, swept_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (org_id, segment_id) DO UPDATE SET version = excluded.version, primed_at = excluded.primed_at,
		swept_at = excluded.swept_at`,
		r.OrgID, r.SegmentID, r.Version, Micros(r.PrimedAt), Micros(r.SweptAt))
	if err != nil {
		return fmt.Errorf("put segment watch %s/%s: %w", r.OrgID, r.SegmentID, err)
	}
	return nil
}

// SegmentWatches lists every watched segment of the installation.
func SegmentWatches(ctx context.Context, q Querier) ([]SegmentWatchRow, error) {
	rows, err := q.Query(ctx, `SELECT org_id, segment_id, version, primed_at, swept_at FROM segment_watches ORDER BY org_id, segment_id`)
	if err != nil {
		return nil, fmt.Errorf("list segment watches: %w", err)
	}
	defer rows.Close()
	var out []SegmentWatchRow
	for rows.Next() {
		var r SegmentWatchRow
		var primed, swept int64
		if err := rows.Scan(&r.OrgID, &r.SegmentID, &r.Version, &primed, &swept); err != nil {
			return nil, mapError(err)
		}
		r.PrimedAt, r.SweptAt = FromMicros(primed), FromMicros(swept)
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// DeleteSegmentWatch forgets a segment's watch and the members seen: a
// later watch starts from a new baseline.
func DeleteSegmentWatch(ctx context.Context, tx *Tx, orgID, segmentID string) error {
	for _, stmt := range []string{
		`DELETE FROM segment_entries WHERE org_id = ? AND segment_id = ?`,
		`DELETE FROM segment_watches WHERE org_id = ? AND segment_id = ?`,
	} {
		if _, err := tx.Exec(ctx, stmt, orgID, segmentID); err != nil {
			return fmt.Errorf("delete segment watch %s/%s: %w", orgID, segmentID, err)
		}
	}
	return nil
}

// SegmentEntriesPage returns a page of the members last seen in a watched
// segment, in id order after after.
func SegmentEntriesPage(ctx context.Context, q Querier, orgID, segmentID, after string, limit int) ([]string, error) {
	ids, err := queryIDs(ctx, q, `SELECT contact_id FROM segment_entries WHERE org_id = ? AND segment_id = ? AND contact_id > ?
		ORDER BY contact_id LIMIT ?`, orgID, segmentID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("segment entries %s/%s: %w", orgID, segmentID, err)
	}
	return ids, nil
}

// AddSegmentEntries records contacts seen in a watched segment and
// returns the ids that were not recorded yet, so two sweeps racing each
// report a contact once at most.
func AddSegmentEntries(ctx context.Context, tx *Tx, orgID, segmentID string, contactIDs []string, at time.Time) ([]string, error) {
	var added []string
	for start, end := range runs(len(contactIDs), contactBatch) {
		part := contactIDs[start:end]
		args := make([]any, 0, len(part)*4)
		for _, id := range part {
			args = append(args, orgID, segmentID, id, Micros(at))
		}
		ids, err := queryIDs(ctx, tx, `INSERT INTO segment_entries (org_id, segment_id, contact_id, entered_at) VALUES `+
			rowPlaceholders(len(part), 4)+` ON CONFLICT (org_id, segment_id, contact_id) DO NOTHING RETURNING contact_id`, args...)
		if err != nil {
			return added, fmt.Errorf("add segment entries: %w", err)
		}
		added = append(added, ids...)
	}
	return added, nil
}

// RemoveSegmentEntries forgets contacts no longer in a watched segment.
func RemoveSegmentEntries(ctx context.Context, tx *Tx, orgID, segmentID string, contactIDs []string) error {
	for start := 0; start < len(contactIDs); start += contactBatch {
		part := contactIDs[start:min(start+contactBatch, len(contactIDs))]
		args, list := inList([]any{orgID, segmentID}, part)
		if _, err := tx.Exec(ctx, `DELETE FROM segment_entries WHERE org_id = ? AND segment_id = ? AND contact_id IN `+list, args...); err != nil {
			return fmt.Errorf("remove segment entries: %w", err)
		}
	}
	return nil
}
