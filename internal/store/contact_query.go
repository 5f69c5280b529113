package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AttrKind says how an attribute filter compares a value of attrs (the
// JSON object of a contact's fields not marked PHI).
type AttrKind string

// Attribute filter kinds.
const (
	AttrText    AttrKind = "text"    // a string (text, date as YYYY-MM-DD), equal
	AttrNumber  AttrKind = "number"  // a number, equal
	AttrBoolean AttrKind = "boolean" // true or false
	AttrList    AttrKind = "list"    // an array of strings that contains Value
)

// AttrFilter matches contacts whose attribute Key compares equal to Value
// (a string, float64 or bool by Kind). Key must be a field key
// ([a-z][a-z0-9_]*); it is bound as a parameter, never interpolated.
type AttrFilter struct {
	Key   string
	Kind  AttrKind
	Value any
}

// ContactQuery selects an organization's contacts by clear columns, in id
// order after After, at most Limit (default 100).
type ContactQuery struct {
	OrgID      string
	EmailIndex []byte // exact blind-index match
	Status     string
	ListID     string // subscribed members of this list only
	Timezone   string
	Locale     string
	Attrs      []AttrFilter
	After      string
	Limit      int
}

// SearchContacts runs q.
func SearchContacts(ctx context.Context, db Querier, q ContactQuery) ([]ContactRow, error) {
	where, args := contactWhere(db.Driver(), q)
	if q.Limit <= 0 {
		q.Limit = 100
	}
	query := contactSelect + where + ` ORDER BY c.id LIMIT ?`
	rows, err := queryContacts(ctx, db, query, append(args, q.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("search contacts: %w", err)
	}
	return rows, nil
}

// CountContacts counts what q selects, ignoring After and Limit.
func CountContacts(ctx context.Context, db Querier, q ContactQuery) (int64, error) {
	q.After = ""
	where, args := contactWhere(db.Driver(), q)
	var n int64
	err := Scan(db.QueryRow(ctx, `SELECT count(*) FROM contacts c
		LEFT JOIN suppressions s ON s.org_id = c.org_id AND s.address_index = c.email_index`+where, args...), &n)
	if err != nil {
		return 0, fmt.Errorf("count contacts: %w", err)
	}
	return n, nil
}

func contactWhere(d Driver, q ContactQuery) (string, []any) {
	var b strings.Builder
	args := []any{}
	if q.ListID != "" {
		b.WriteString(` JOIN contact_list_members m ON m.org_id = c.org_id AND m.contact_id = c.id AND m.list_id = ? AND m.state = 'subscribed'`)
		args = append(args, q.ListID)
	}
	b.WriteString(` WHERE c.org_id = ?`)
	args = append(args, q.OrgID)
	add := func(cond string, v ...any) {
		b.WriteString(" AND " + cond)
		args = append(args, v...)
	}
	if q.After != "" {
		add("c.id > ?", q.After)
	}
	if q.EmailIndex != nil {
		add("c.email_index = ?", q.EmailIndex)
	}
	if q.Status != "" {
		add("c.status = ?", q.Status)
	}
	if q.Timezone != "" {
		add("c.timezone = ?", q.Timezone)
	}
	if q.Locale != "" {
		add("c.locale = ?", q.Locale)
	}
	for _, f := range q.Attrs {
		add(attrCondition(d, f.Kind), attrArgs(d, f)...)
	}
	return b.String(), args
}

// attrCondition is the per-driver comparison of one JSON attribute: SQLite's
// json_extract and json_each, PostgreSQL's jsonb operators (jsonb_exists
// rather than the ? operator, which would read as a placeholder).
func attrCondition(d Driver, k AttrKind) string {
	if d == Postgres {
		switch k {
		case AttrNumber:
			return "(c.attrs::jsonb ->> ?)::double precision = ?"
		case AttrBoolean:
			return "(c.attrs::jsonb ->> ?)::boolean = ?"
		case AttrList:
			return "jsonb_exists(c.attrs::jsonb -> ?, ?)"
		default:
			return "(c.attrs::jsonb ->> ?) = ?"
		}
	}
	switch k {
	case AttrList:
		return "EXISTS (SELECT 1 FROM json_each(c.attrs, ?) WHERE value = ?)"
	default:
		return "json_extract(c.attrs, ?) = ?"
	}
}

func attrArgs(d Driver, f AttrFilter) []any {
	path := f.Key
	if d == SQLite {
		path = `$."` + f.Key + `"`
	}
	v := f.Value
	if b, ok := v.(bool); ok && d == SQLite {
		v = 0
		if b {
			v = 1 // json_extract reads JSON true as 1
		}
	}
	return []any{path, v}
}

// ScanContactsPage is one page of an organization's contacts (optionally a
// list's subscribed members) in id order after after: the hot path of
// contact.Scan, a short read each so no page holds a read transaction open.
func ScanContactsPage(ctx context.Context, db Querier, orgID, listID, after string, limit int) ([]ContactRow, error) {
	return SearchContacts(ctx, db, ContactQuery{OrgID: orgID, ListID: listID, After: after, Limit: limit})
}

// ContactConsent is the summary of a contact's current marketing
// authorization kept on the contact row.
type ContactConsent struct {
	ID                   string
	At, Expires, Revoked time.Time
}

// SetContactConsent records the contact's current authorization summary.
func SetContactConsent(ctx context.Context, tx *Tx, orgID, contactID string, c ContactConsent) error {
	res, err := tx.Exec(ctx, `UPDATE contacts SET consent_id = ?, consent_at = ?, consent_expires = ?, consent_revoked = ?
		WHERE org_id = ? AND id = ?`, c.ID, Micros(c.At), Micros(c.Expires), Micros(c.Revoked), orgID, contactID)
	return contactOne(res, err, "set contact consent %s/%s", orgID, contactID)
}

// SetContactStatus changes a contact's subscription status.
func SetContactStatus(ctx context.Context, tx *Tx, orgID, contactID, status string, at time.Time) error {
	res, err := tx.Exec(ctx, `UPDATE contacts SET status = ?, updated_at = ? WHERE org_id = ? AND id = ?`, status, Micros(at), orgID, contactID)
	return contactOne(res, err, "set contact status %s/%s", orgID, contactID)
}
