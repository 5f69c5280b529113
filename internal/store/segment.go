package store

// Persistence for segments (package segment, docs/SEGMENTS.md): the
// definitions, static membership, and the organization-wide look-ups a
// segment evaluation makes once (events, engagement, list membership).
// Every query is scoped by organization.

import (
	"context"
	"fmt"
	"time"
)

// SegmentRow is one segment. Expression is keyring ciphertext (empty with
// DEKVersion 0 for a static segment).
type SegmentRow struct {
	OrgID, ID            string
	Name, Description    string
	Kind                 string
	Version              int
	Expression           []byte
	DEKVersion           int
	CreatedAt, UpdatedAt time.Time
}

// SegmentsTable describes segments for the keyring's rotation.
func SegmentsTable() SealedTable {
	return SealedTable{Table: "segments", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version", Columns: []string{"expression"}}
}

const segmentColumns = `org_id, id, name, description, kind, version, expression, dek_version, created_at, updated_at`

func scanSegment(scan func(...any) error) (SegmentRow, error) {
	var r SegmentRow
	var created, updated int64
	if err := scan(&r.OrgID, &r.ID, &r.Name, &r.Description, &r.Kind, &r.Version, &r.Expression, &r.DEKVersion, &created, &updated); err != nil {
		return SegmentRow{}, mapError(err)
	}
	r.CreatedAt, r.UpdatedAt = FromMicros(created), FromMicros(updated)
	return r, nil
}

// InsertSegment adds a segment; ErrConflict when the name is taken.
func InsertSegment(ctx context.Context, tx *Tx, r SegmentRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO segments (`+segmentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.OrgID, r.ID, r.Name, r.Description, r.Kind, r.Version, r.Expression, r.DEKVersion, Micros(r.CreatedAt), Micros(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert segment: %w", err)
	}
	return nil
}

// GetSegment reads one of the organization's segments.
func GetSegment(ctx context.Context, q Querier, orgID, id string) (SegmentRow, error) {
	r, err := scanSegment(q.QueryRow(ctx, `SELECT `+segmentColumns+` FROM segments WHERE org_id = ? AND id = ?`, orgID, id).Scan)
	if err != nil {
		return SegmentRow{}, fmt.Errorf("read segment %s/%s: %w", orgID, id, err)
	}
	return r, nil
}

// ListSegments returns the organization's segments by name.
func ListSegments(ctx context.Context, q Querier, orgID string) ([]SegmentRow, error) {
	rows, err := q.Query(ctx, `SELECT `+segmentColumns+` FROM segments WHERE org_id = ? ORDER BY name`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	defer rows.Close()
	var out []SegmentRow
	for rows.Next() {
		r, err := scanSegment(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list segments: %w", err)
		}
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// UpdateSegment replaces a segment's name and description and, when
// r.Version differs from from, its version and expression — if its
// version is still from (ErrNotFound otherwise).
func UpdateSegment(ctx context.Context, tx *Tx, r SegmentRow, from int) error {
	if r.Version == from {
		res, err := tx.Exec(ctx, `UPDATE segments SET name = ?, description = ?, updated_at = ? WHERE org_id = ? AND id = ? AND version = ?`,
			r.Name, r.Description, Micros(r.UpdatedAt), r.OrgID, r.ID, from)
		return contactOne(res, err, "update segment %s/%s", r.OrgID, r.ID)
	}
	res, err := tx.Exec(ctx, `UPDATE segments SET name = ?, description = ?, version = ?, expression = ?, dek_version = ?, updated_at = ?
		WHERE org_id = ? AND id = ? AND version = ?`, r.Name, r.Description, r.Version, r.Expression, r.DEKVersion, Micros(r.UpdatedAt),
		r.OrgID, r.ID, from)
	return contactOne(res, err, "update segment %s/%s", r.OrgID, r.ID)
}

// DeleteSegment removes a segment, its static members and its watch.
func DeleteSegment(ctx context.Context, tx *Tx, orgID, id string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM segment_members WHERE org_id = ? AND segment_id = ?`, orgID, id); err != nil {
		return fmt.Errorf("delete segment members: %w", err)
	}
	if err := DeleteSegmentWatch(ctx, tx, orgID, id); err != nil {
		return err
	}
	res, err := tx.Exec(ctx, `DELETE FROM segments WHERE org_id = ? AND id = ?`, orgID, id)
	return contactOne(res, err, "delete segment %s/%s", orgID, id)
}

// AddSegmentMembers adds contacts to a static segment (already members
// stay as they were) and returns how many were new. Callers check that the
// contacts belong to orgID.
func AddSegmentMembers(ctx context.Context, tx *Tx, orgID, segmentID string, contactIDs []string, source string, at time.Time) (int64, error) {
	var added int64
	for start, end := range runs(len(contactIDs), contactBatch) {
		part := contactIDs[start:end]
		args := make([]any, 0, len(part)*5)
		for _, id := range part {
			args = append(args, orgID, segmentID, id, source, Micros(at))
		}
		res, err := tx.Exec(ctx, `INSERT INTO segment_members (org_id, segment_id, contact_id, source, added_at) VALUES `+
			rowPlaceholders(len(part), 5)+` ON CONFLICT (org_id, segment_id, contact_id) DO NOTHING`, args...)
		if err != nil {
			return added, fmt.Errorf("add segment members: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return added, fmt.Errorf("add segment members: %w", err)
		}
		added += n
	}
	return added, nil
}

// RemoveSegmentMembers removes contacts from a static segment and returns
// how many were members.
func RemoveSegmentMembers(ctx context.Context, tx *Tx, orgID, segmentID string, contactIDs []string) (int64, error) {
	var removed int64
	for start := 0; start < len(contactIDs); start += contactBatch {
		part := contactIDs[start:min(start+contactBatch, len(contactIDs))]
		args, list := inList([]any{orgID, segmentID}, part)
		res, err := tx.Exec(ctx, `DELETE FROM segment_members WHERE org_id = ? AND segment_id = ? AND contact_id IN `+list, args...)
		if err != nil {
			return removed, fmt.Errorf("remove segment members: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return removed, fmt.Errorf("remove segment members: %w", err)
		}
		removed += n
	}
	return removed, nil
}

// SegmentMembersPage returns a page of a static segment's member ids, in
// id order after after, of contacts that still exist.
func SegmentMembersPage(ctx context.Context, q Querier, orgID, segmentID, after string, limit int) ([]string, error) {
	return queryIDs(ctx, q, `SELECT m.contact_id FROM segment_members m JOIN contacts c ON c.org_id = m.org_id AND c.id = m.contact_id
		WHERE m.org_id = ? AND m.segment_id = ? AND m.contact_id > ? ORDER BY m.contact_id LIMIT ?`, orgID, segmentID, after, limit)
}

// IsSegmentMember reports whether a contact is a member of a static segment.
func IsSegmentMember(ctx context.Context, q Querier, orgID, segmentID, contactID string) (bool, error) {
	var n int
	err := Scan(q.QueryRow(ctx, `SELECT count(*) FROM segment_members WHERE org_id = ? AND segment_id = ? AND contact_id = ?`,
		orgID, segmentID, contactID), &n)
	if err != nil {
		return false, fmt.Errorf("segment membership: %w", err)
	}
	return n > 0, nil
}

func queryIDs(ctx context.Context, q Querier, query string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, mapError(err)
		}
		out = append(out, id)
	}
	return out, mapError(rows.Err())
}

// idSet reads the contact ids a query selects as a set.
func idSet(ctx context.Context, q Querier, what, query string, args ...any) (map[string]struct{}, error) {
	ids, err := queryIDs(ctx, q, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		out[id] = struct{}{}
	}
	return out, nil
}

// SegmentEventCounts counts, per contact, the organization's events named
// name at or after since (zero: ever); contactID, when set, narrows it to
// one contact.
func SegmentEventCounts(ctx context.Context, q Querier, orgID, name string, since time.Time, contactID string) (map[string]int, error) {
	if contactID == "" {
		return CountContactEvents(ctx, q, orgID, name, since, time.Time{})
	}
	var n int
	err := Scan(q.QueryRow(ctx, `SELECT count(*) FROM contact_events WHERE org_id = ? AND contact_id = ? AND name = ? AND at >= ?`,
		orgID, contactID, name, Micros(since)), &n)
	if err != nil {
		return nil, fmt.Errorf("count contact events: %w", err)
	}
	out := map[string]int{}
	if n > 0 {
		out[contactID] = n
	}
	return out, nil
}

// EngagedContacts returns the contacts that opened (click false) or
// clicked campaign mail as a person (machine fetches are not counted): of
// one campaign when campaignID is set, first at or after since when it is
// not zero; contactID narrows it to one contact.
func EngagedContacts(ctx context.Context, q Querier, orgID string, click bool, campaignID string, since time.Time, contactID string) (map[string]struct{}, error) {
	count, first := "opens", "first_open_at"
	if click {
		count, first = "clicks", "first_click_at"
	}
	query := `SELECT DISTINCT contact_id FROM tracking_recipients WHERE org_id = ? AND ` + count + ` > 0`
	args := []any{orgID}
	if campaignID != "" {
		query += ` AND campaign_id = ?`
		args = append(args, campaignID)
	}
	if !since.IsZero() {
		query += ` AND ` + first + ` >= ?`
		args = append(args, Micros(since))
	}
	if contactID != "" {
		query += ` AND contact_id = ?`
		args = append(args, contactID)
	}
	return idSet(ctx, q, "engaged contacts", query, args...)
}

// ListMemberSet returns the subscribed members of a list; contactID
// narrows it to one contact.
func ListMemberSet(ctx context.Context, q Querier, orgID, listID, contactID string) (map[string]struct{}, error) {
	query := `SELECT contact_id FROM contact_list_members WHERE org_id = ? AND list_id = ? AND state = 'subscribed'`
	args := []any{orgID, listID}
	if contactID != "" {
		query += ` AND contact_id = ?`
		args = append(args, contactID)
	}
	return idSet(ctx, q, "list members", query, args...)
}
