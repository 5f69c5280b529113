package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ContactListRow is one of an organization's lists, with its subscribed
// member count when read by ListContactLists or GetContactList.
type ContactListRow struct {
	OrgID, ID   string
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Subscribed  int64
}

// InsertContactList adds a list; ErrConflict when the name is taken.
func InsertContactList(ctx context.Context, tx *Tx, r ContactListRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO contact_lists (org_id, id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.OrgID, r.ID, r.Name, r.Description, Micros(r.CreatedAt), Micros(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("insert contact list: %w", err)
	}
	return nil
}

const contactListSelect = `SELECT l.org_id, l.id, l.name, l.description, l.created_at, l.updated_at,
	(SELECT count(*) FROM contact_list_members m WHERE m.org_id = l.org_id AND m.list_id = l.id AND m.state = 'subscribed')
	FROM contact_lists l`

func scanContactList(scan func(...any) error) (ContactListRow, error) {
	var r ContactListRow
	var created, updated int64
	if err := scan(&r.OrgID, &r.ID, &r.Name, &r.Description, &created, &updated, &r.Subscribed); err != nil {
		return ContactListRow{}, mapError(err)
	}
	r.CreatedAt, r.UpdatedAt = FromMicros(created), FromMicros(updated)
	return r, nil
}

// GetContactList reads one list; ErrNotFound when the organization has none
// with that id.
func GetContactList(ctx context.Context, q Querier, orgID, id string) (ContactListRow, error) {
	r, err := scanContactList(q.QueryRow(ctx, contactListSelect+` WHERE l.org_id = ? AND l.id = ?`, orgID, id).Scan)
	if err != nil {
		return ContactListRow{}, fmt.Errorf("read contact list %s/%s: %w", orgID, id, err)
	}
	return r, nil
}

// ContactListExists reports, as nil or ErrNotFound (also for another
// organization's list), whether the organization has the list. It reads
// the list's row alone: GetContactList also counts the list's subscribed
// members, a walk over every membership row that took 60 ms for a list of
// a million inside the write transactions that only needed to know the
// list was there (adding members, an unsubscribe, starting an import).
func ContactListExists(ctx context.Context, q Querier, orgID, id string) error {
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM contact_lists WHERE org_id = ? AND id = ?`, orgID, id).Scan(&one)
	if err != nil {
		return fmt.Errorf("read contact list %s/%s: %w", orgID, id, mapError(err))
	}
	return nil
}

// ListContactLists returns the organization's lists by name.
func ListContactLists(ctx context.Context, q Querier, orgID string) ([]ContactListRow, error) {
	rows, err := q.Query(ctx, contactListSelect+` WHERE l.org_id = ? ORDER BY l.name`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list contact lists: %w", err)
	}
	defer rows.Close()
	var out []ContactListRow
	for rows.Next() {
		r, err := scanContactList(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list contact lists: %w", err)
		}
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// UpdateContactList renames or re-describes a list.
func UpdateContactList(ctx context.Context, tx *Tx, r ContactListRow) error {
	res, err := tx.Exec(ctx, `UPDATE contact_lists SET name = ?, description = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
		r.Name, r.Description, Micros(r.UpdatedAt), r.OrgID, r.ID)
	return contactOne(res, err, "update contact list %s/%s", r.OrgID, r.ID)
}

// DeleteContactList removes a list and its memberships (not the contacts).
func DeleteContactList(ctx context.Context, tx *Tx, orgID, id string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM contact_list_members WHERE org_id = ? AND list_id = ?`, orgID, id); err != nil {
		return fmt.Errorf("delete contact list members: %w", err)
	}
	res, err := tx.Exec(ctx, `DELETE FROM contact_lists WHERE org_id = ? AND id = ?`, orgID, id)
	return contactOne(res, err, "delete contact list %s/%s", orgID, id)
}

// SetListMembers sets the membership state of contacts in a list
// (inserting or updating). Callers check the contacts belong to orgID.
func SetListMembers(ctx context.Context, tx *Tx, orgID, listID string, contactIDs []string, state string, at time.Time) error {
	for start, end := range runs(len(contactIDs), contactBatch) {
		part := contactIDs[start:end]
		args := make([]any, 0, len(part)*5)
		for _, id := range part {
			args = append(args, orgID, listID, id, state, Micros(at))
		}
		_, err := tx.Exec(ctx, `INSERT INTO contact_list_members (org_id, list_id, contact_id, state, updated_at) VALUES `+
			rowPlaceholders(len(part), 5)+` ON CONFLICT (org_id, list_id, contact_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
			args...)
		if err != nil {
			return fmt.Errorf("set list members: %w", err)
		}
	}
	return nil
}

// ListMember is one membership.
type ListMember struct {
	ContactID string
	State     string
	UpdatedAt time.Time
}

// ListMembers returns a page of a list's memberships in contact id order.
func ListMembers(ctx context.Context, q Querier, orgID, listID, after string, limit int) ([]ListMember, error) {
	rows, err := q.Query(ctx, `SELECT contact_id, state, updated_at FROM contact_list_members
		WHERE org_id = ? AND list_id = ? AND contact_id > ? ORDER BY contact_id LIMIT ?`, orgID, listID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	var out []ListMember
	for rows.Next() {
		var m ListMember
		var at int64
		if err := rows.Scan(&m.ContactID, &m.State, &at); err != nil {
			return nil, fmt.Errorf("list members: %w", mapError(err))
		}
		m.UpdatedAt = FromMicros(at)
		out = append(out, m)
	}
	return out, mapError(rows.Err())
}

// membershipsSQL selects the list memberships of n contacts. QUIRK: on
// SQLite it names contact_list_members_contact: without statistics SQLite
// prefers the primary key's organization prefix for "contact_id IN (…)"
// and walks every membership of the organization for a page of contacts
// (TestHotQueryPlans checks the plan). PostgreSQL plans it by itself.
func membershipsSQL(d Driver, n int) string {
	from := "contact_list_members"
	if d == SQLite {
		from += " INDEXED BY contact_list_members_contact"
	}
	return `SELECT contact_id, list_id, state FROM ` + from + ` WHERE org_id = ? AND contact_id IN (?` + strings.Repeat(", ?", n-1) + `)`
}

// ContactMemberships returns each contact's list memberships, keyed by
// contact id.
func ContactMemberships(ctx context.Context, q Querier, orgID string, contactIDs []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for start := 0; start < len(contactIDs); start += contactBatch {
		part := contactIDs[start:min(start+contactBatch, len(contactIDs))]
		args, _ := inList([]any{orgID}, part)
		rows, err := q.Query(ctx, membershipsSQL(q.Driver(), inSize(len(part))), args...)
		if err != nil {
			return nil, fmt.Errorf("read memberships: %w", err)
		}
		for rows.Next() {
			var c, l, s string
			if err := rows.Scan(&c, &l, &s); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read memberships: %w", mapError(err))
			}
			if out[c] == nil {
				out[c] = map[string]string{}
			}
			out[c][l] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, mapError(err)
		}
	}
	return out, nil
}
