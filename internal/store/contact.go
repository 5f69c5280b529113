package store

// Persistence for contacts (package contact, docs/CONTACTS.md). The rules
// — what is PHI, how it is sealed, who may read it — live there; these
// functions only move rows, always scoped by organization.

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ContactKeysTable describes contact_keys for the keyring: each contact's
// data key, wrapped by the organization's current data key. Rotation
// re-wraps these small rows; the contacts' sealed PHI, under their own
// keys, is not touched.
func ContactKeysTable() SealedTable {
	return SealedTable{Table: "contact_keys", ScopeColumn: "org_id", IDColumn: "contact_id", VersionColumn: "dek_version", Columns: []string{"wrapped_key"}}
}

// ContactRow is one contact as stored, with its wrapped key from
// contact_keys. PHI is ciphertext under the contact's key; Attrs is the JSON
// object of the values of fields not marked PHI.
type ContactRow struct {
	OrgID, ID      string
	EmailIndex     []byte
	Status         string
	Timezone       string
	Locale         string
	Attrs          string
	PHI            []byte
	ConsentID      string
	ConsentAt      time.Time
	ConsentExpires time.Time
	ConsentRevoked time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	KeyVersion     int
	WrappedKey     []byte
	// Suppression is the delivery suppression of the address ("" none),
	// filled by the reads that join suppressions.
	Suppression string
}

const contactInsertColumns = `org_id, id, email_index, status, timezone, locale, attrs, phi, consent_id, consent_at,
	consent_expires, consent_revoked, created_at, updated_at`

const contactSelect = `SELECT c.org_id, c.id, c.email_index, c.status, c.timezone, c.locale, c.attrs, c.phi, c.consent_id,
	c.consent_at, c.consent_expires, c.consent_revoked, c.created_at, c.updated_at, k.dek_version, k.wrapped_key,
	COALESCE(s.reason, '')
	FROM contacts c
	JOIN contact_keys k ON k.org_id = c.org_id AND k.contact_id = c.id
	LEFT JOIN suppressions s ON s.org_id = c.org_id AND s.address_index = c.email_index`

func scanContact(scan func(...any) error) (ContactRow, error) {
	var r ContactRow
	var cAt, cExp, cRev, created, updated int64
	if err := scan(&r.OrgID, &r.ID, &r.EmailIndex, &r.Status, &r.Timezone, &r.Locale, &r.Attrs, &r.PHI, &r.ConsentID,
		&cAt, &cExp, &cRev, &created, &updated, &r.KeyVersion, &r.WrappedKey, &r.Suppression); err != nil {
		return ContactRow{}, mapError(err)
	}
	r.ConsentAt, r.ConsentExpires, r.ConsentRevoked = FromMicros(cAt), FromMicros(cExp), FromMicros(cRev)
	r.CreatedAt, r.UpdatedAt = FromMicros(created), FromMicros(updated)
	return r, nil
}

func queryContacts(ctx context.Context, q Querier, query string, args ...any) ([]ContactRow, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ContactRow
	for rows.Next() {
		r, err := scanContact(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// lockContacts locks the selected contacts until the transaction ends on
// PostgreSQL, so a read-modify-write of a contact's sealed PHI is not lost
// to a concurrent one; SQLite's single writer gives the same guarantee.
func lockContacts(q Querier) string {
	if _, inTx := q.(*Tx); inTx && q.Driver() == Postgres {
		return " FOR UPDATE OF c"
	}
	return ""
}

// contactBatch is how many rows one multi-row INSERT carries: well inside
// both drivers' limits on bound parameters.
const contactBatch = 400

// rowPlaceholders is a multi-row VALUES list: n rows of cols "?" each.
func rowPlaceholders(n, cols int) string {
	one := "(?" + strings.Repeat(", ?", cols-1) + ")"
	return one + strings.Repeat(", "+one, n-1)
}

// InsertContacts adds contacts and their keys. ErrConflict when an e-mail
// index or id is taken in the organization.
func InsertContacts(ctx context.Context, tx *Tx, rows []ContactRow) error {
	for start, end := range runs(len(rows), contactBatch) {
		part := rows[start:end]
		cArgs := make([]any, 0, len(part)*14)
		kArgs := make([]any, 0, len(part)*4)
		for _, r := range part {
			cArgs = append(cArgs, r.OrgID, r.ID, r.EmailIndex, r.Status, r.Timezone, r.Locale, r.Attrs, r.PHI, r.ConsentID,
				Micros(r.ConsentAt), Micros(r.ConsentExpires), Micros(r.ConsentRevoked), Micros(r.CreatedAt), Micros(r.UpdatedAt))
			kArgs = append(kArgs, r.OrgID, r.ID, r.KeyVersion, r.WrappedKey)
		}
		if _, err := tx.Exec(ctx, insertVerb(tx)+` INTO contacts (`+contactInsertColumns+`) VALUES `+rowPlaceholders(len(part), 14), cArgs...); err != nil {
			return fmt.Errorf("insert contacts: %w", err)
		}
		if _, err := tx.Exec(ctx, insertVerb(tx)+` INTO contact_keys (org_id, contact_id, dek_version, wrapped_key) VALUES `+rowPlaceholders(len(part), 4), kArgs...); err != nil {
			return fmt.Errorf("insert contact keys: %w", err)
		}
	}
	return nil
}

// UpdateContact replaces a contact's mutable columns (not its key, id or
// creation time). ErrNotFound when the organization has no such contact.
func UpdateContact(ctx context.Context, tx *Tx, r ContactRow) error {
	res, err := tx.Exec(ctx, `UPDATE contacts SET email_index = ?, status = ?, timezone = ?, locale = ?, attrs = ?, phi = ?,
		updated_at = ? WHERE org_id = ? AND id = ?`,
		r.EmailIndex, r.Status, r.Timezone, r.Locale, r.Attrs, r.PHI, Micros(r.UpdatedAt), r.OrgID, r.ID)
	return contactOne(res, err, "update contact %s/%s", r.OrgID, r.ID)
}

// GetContact reads one contact with its key and suppression. Inside a
// transaction on PostgreSQL the row is locked until it ends.
func GetContact(ctx context.Context, q Querier, orgID, id string) (ContactRow, error) {
	rows, err := queryContacts(ctx, q, contactSelect+` WHERE c.org_id = ? AND c.id = ?`+lockContacts(q), orgID, id)
	if err != nil {
		return ContactRow{}, fmt.Errorf("read contact %s/%s: %w", orgID, id, err)
	}
	if len(rows) == 0 {
		return ContactRow{}, fmt.Errorf("read contact %s/%s: %w", orgID, id, ErrNotFound)
	}
	return rows[0], nil
}

// contactIDsByEmailSQL selects the ids of an organization's contacts
// among n e-mail indexes (TestHotQueryPlans checks its plan).
func contactIDsByEmailSQL(n int) string {
	return `SELECT id FROM contacts WHERE org_id = ? AND email_index IN (?` + strings.Repeat(", ?", n-1) + `)`
}

// ContactsByEmailIndex returns the organization's contacts with any of the
// given e-mail indexes, keyed by string(index); locked like GetContact.
func ContactsByEmailIndex(ctx context.Context, q Querier, orgID string, indexes [][]byte) (map[string]ContactRow, error) {
	out := make(map[string]ContactRow, len(indexes))
	for start := 0; start < len(indexes); start += contactBatch {
		part := indexes[start:min(start+contactBatch, len(indexes))]
		args, _ := inList([]any{orgID}, part)
		// QUIRK: two steps. Asked for the whole row with "email_index IN
		// (…)", SQLite (no statistics) walks the organization's every
		// contact by primary key and tests each against the list — the 1M
		// import fell to 894 rows/s on it. The ids come from the covering
		// email index; the rows by primary key.
		ids, err := queryIDs(ctx, q, contactIDsByEmailSQL(inSize(len(part))), args...)
		if err != nil {
			return nil, fmt.Errorf("find contacts by address: %w", err)
		}
		if len(ids) == 0 {
			continue
		}
		rows, err := ContactsByID(ctx, q, orgID, ids)
		if err != nil {
			return nil, fmt.Errorf("find contacts by address: %w", err)
		}
		for _, r := range rows {
			out[string(r.EmailIndex)] = r
		}
	}
	return out, nil
}

// ContactsByID returns the organization's contacts among ids, in id order.
// Ids of other organizations are simply absent.
func ContactsByID(ctx context.Context, q Querier, orgID string, ids []string) ([]ContactRow, error) {
	var out []ContactRow
	for start := 0; start < len(ids); start += contactBatch {
		part := ids[start:min(start+contactBatch, len(ids))]
		args, list := inList([]any{orgID}, part)
		rows, err := queryContacts(ctx, q, contactSelect+` WHERE c.org_id = ? AND c.id IN `+list+` ORDER BY c.id`+lockContacts(q), args...)
		if err != nil {
			return nil, fmt.Errorf("read contacts: %w", err)
		}
		out = append(out, rows...)
	}
	return out, nil
}

// ShredContact deletes a contact, its list and segment memberships (and
// what segment watches saw of it) and events, and
// its key. The wrapped key is overwritten before its row is deleted, so the
// freed page does not keep it. Consent records stay (see the migration).
func ShredContact(ctx context.Context, tx *Tx, orgID, id string) error {
	res, err := tx.Exec(ctx, `UPDATE contact_keys SET wrapped_key = ? WHERE org_id = ? AND contact_id = ?`, make([]byte, 65), orgID, id)
	if err := contactOne(res, err, "shred contact key %s/%s", orgID, id); err != nil {
		return err
	}
	for _, stmt := range []string{
		`DELETE FROM contact_keys WHERE org_id = ? AND contact_id = ?`,
		`DELETE FROM contact_list_members WHERE org_id = ? AND contact_id = ?`,
		`DELETE FROM contact_events WHERE org_id = ? AND contact_id = ?`,
		`DELETE FROM segment_members WHERE org_id = ? AND contact_id = ?`,
		`DELETE FROM segment_entries WHERE org_id = ? AND contact_id = ?`,
		`DELETE FROM contacts WHERE org_id = ? AND id = ?`,
	} {
		if _, err := tx.Exec(ctx, stmt, orgID, id); err != nil {
			return fmt.Errorf("delete contact %s/%s: %w", orgID, id, err)
		}
	}
	return nil
}

// contactOne turns an Exec result into ErrNotFound when no row changed.
func contactOne(res interface{ RowsAffected() (int64, error) }, err error, format string, args ...any) error {
	if err != nil {
		return fmt.Errorf(format+": %w", append(args, err)...)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf(format+": %w", append(args, err)...)
	}
	if n == 0 {
		return fmt.Errorf(format+": %w", append(args, ErrNotFound)...)
	}
	return nil
}

// CountContactKeys counts the contacts among ids (distinct) that are the
// organization's and not deleted (their key is there): an existence check
// that locks and decrypts nothing.
func CountContactKeys(ctx context.Context, q Querier, orgID string, ids []string) (int, error) {
	total := 0
	for start := 0; start < len(ids); start += contactBatch {
		part := ids[start:min(start+contactBatch, len(ids))]
		args, list := inList([]any{orgID}, part)
		var n int
		if err := Scan(q.QueryRow(ctx, `SELECT count(*) FROM contact_keys WHERE org_id = ? AND contact_id IN `+list, args...), &n); err != nil {
			return 0, fmt.Errorf("count contact keys: %w", err)
		}
		total += n
	}
	return total, nil
}

// ContactKey reads a contact's wrapped key; ErrNotFound once the contact
// is deleted (its key destroyed).
func ContactKey(ctx context.Context, q Querier, orgID, contactID string) ([]byte, error) {
	var wrapped []byte
	if err := Scan(q.QueryRow(ctx, `SELECT wrapped_key FROM contact_keys WHERE org_id = ? AND contact_id = ?`, orgID, contactID), &wrapped); err != nil {
		return nil, fmt.Errorf("read contact key %s/%s: %w", orgID, contactID, err)
	}
	return wrapped, nil
}
