package store

import (
	"context"
	"fmt"
	"time"
)

// Sender-domain states (sender_domains.status).
const (
	SenderDomainPending  = "pending"
	SenderDomainVerified = "verified"
)

// SenderDomainRow is one row of sender_domains as stored. DKIMKeys is
// keyring ciphertext sealed with data-key version DEKVersion; LastCheck is
// the JSON of the last verification check ("" before the first).
type SenderDomainRow struct {
	ID          string
	OrgID       string
	Domain      string // lower-case A-labels, unique across organizations
	Status      string // SenderDomainPending or SenderDomainVerified
	RSASelector string
	EdSelector  string
	DKIMKeys    []byte
	DEKVersion  int
	LastCheck   string
	LastCheckAt time.Time
	VerifiedAt  time.Time
	CreatedAt   time.Time
}

// SenderDomainsTable describes sender_domains for the keyring's
// re-encryption and status.
func SenderDomainsTable() SealedTable {
	return SealedTable{Table: "sender_domains", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version", Columns: []string{"dkim_keys"}}
}

const senderDomainColumns = `id, org_id, domain, status, rsa_selector, ed_selector, dkim_keys, dek_version,
	last_check, last_check_at, verified_at, created_at`

func scanSenderDomain(scan func(...any) error) (SenderDomainRow, error) {
	var r SenderDomainRow
	var checked, verified, created int64
	err := scan(&r.ID, &r.OrgID, &r.Domain, &r.Status, &r.RSASelector, &r.EdSelector, &r.DKIMKeys, &r.DEKVersion,
		&r.LastCheck, &checked, &verified, &created)
	if err != nil {
		return SenderDomainRow{}, mapError(err)
	}
	r.LastCheckAt, r.VerifiedAt, r.CreatedAt = FromMicros(checked), FromMicros(verified), FromMicros(created)
	return r, nil
}

// InsertSenderDomain adds a sender domain; ErrConflict if the id or the
// domain exists (in any organization).
func InsertSenderDomain(ctx context.Context, tx *Tx, r SenderDomainRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO sender_domains (`+senderDomainColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OrgID, r.Domain, r.Status, r.RSASelector, r.EdSelector, r.DKIMKeys, r.DEKVersion,
		r.LastCheck, Micros(r.LastCheckAt), Micros(r.VerifiedAt), Micros(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert sender domain %s/%s: %w", r.OrgID, r.ID, err)
	}
	return nil
}

// GetSenderDomain reads one of org's sender domains by id; ErrNotFound if
// org has none with that id (also when another organization has it).
func GetSenderDomain(ctx context.Context, q Querier, org, id string) (SenderDomainRow, error) {
	r, err := scanSenderDomain(q.QueryRow(ctx, `SELECT `+senderDomainColumns+` FROM sender_domains WHERE org_id = ? AND id = ?`, org, id).Scan)
	if err != nil {
		return SenderDomainRow{}, fmt.Errorf("read sender domain %s/%s: %w", org, id, err)
	}
	return r, nil
}

// SenderDomainByName reads org's sender domain by name; ErrNotFound if org
// has not registered it (also when another organization has).
func SenderDomainByName(ctx context.Context, q Querier, org, domain string) (SenderDomainRow, error) {
	r, err := scanSenderDomain(q.QueryRow(ctx, `SELECT `+senderDomainColumns+` FROM sender_domains WHERE org_id = ? AND domain = ?`, org, domain).Scan)
	if err != nil {
		return SenderDomainRow{}, fmt.Errorf("read sender domain of %s: %w", org, err)
	}
	return r, nil
}

// SenderDomainStatus reads only the status and last check of org's sender
// domain: what deciding whether it may send needs, on every submission,
// without the sealed DKIM keys. ErrNotFound as SenderDomainByName.
func SenderDomainStatus(ctx context.Context, q Querier, org, domain string) (status, lastCheck string, err error) {
	err = q.QueryRow(ctx, `SELECT status, last_check FROM sender_domains WHERE org_id = ? AND domain = ?`, org, domain).Scan(&status, &lastCheck)
	if err != nil {
		return "", "", fmt.Errorf("read sender domain status of %s: %w", org, mapError(err))
	}
	return status, lastCheck, nil
}

// SenderDomainClaim reads the registration of domain whichever organization
// holds it, for the uniqueness check; ErrNotFound if nobody has it. Its
// result must not be shown to the caller (it names another tenant).
func SenderDomainClaim(ctx context.Context, q Querier, domain string) (SenderDomainRow, error) {
	r, err := scanSenderDomain(q.QueryRow(ctx, `SELECT `+senderDomainColumns+` FROM sender_domains WHERE domain = ?`, domain).Scan)
	if err != nil {
		return SenderDomainRow{}, fmt.Errorf("read sender domain claim: %w", err)
	}
	return r, nil
}

// ListSenderDomains returns org's sender domains by name.
func ListSenderDomains(ctx context.Context, q Querier, org string) ([]SenderDomainRow, error) {
	rows, err := q.Query(ctx, `SELECT `+senderDomainColumns+` FROM sender_domains WHERE org_id = ? ORDER BY domain`, org)
	if err != nil {
		return nil, fmt.Errorf("list sender domains of %s: %w", org, err)
	}
	defer rows.Close()
	var out []SenderDomainRow
	for rows.Next() {
		r, err := scanSenderDomain(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("list sender domains of %s: %w", org, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpdateSenderDomainCheck records a verification check: the status, the
// check's JSON and time, and when the domain was verified. ErrNotFound if
// org has no such domain.
func UpdateSenderDomainCheck(ctx context.Context, tx *Tx, r SenderDomainRow) error {
	res, err := tx.Exec(ctx, `UPDATE sender_domains SET status = ?, last_check = ?, last_check_at = ?, verified_at = ?
		WHERE org_id = ? AND id = ?`,
		r.Status, r.LastCheck, Micros(r.LastCheckAt), Micros(r.VerifiedAt), r.OrgID, r.ID)
	if err != nil {
		return fmt.Errorf("update sender domain %s/%s: %w", r.OrgID, r.ID, err)
	}
	return authOneRow(res, "sender domain")
}

// DeleteSenderDomain removes one of org's sender domains; ErrNotFound if
// org has none with that id.
func DeleteSenderDomain(ctx context.Context, tx *Tx, org, id string) error {
	res, err := tx.Exec(ctx, `DELETE FROM sender_domains WHERE org_id = ? AND id = ?`, org, id)
	if err != nil {
		return fmt.Errorf("delete sender domain %s/%s: %w", org, id, err)
	}
	return authOneRow(res, "sender domain")
}

// undeliveredFromSQL counts an organization's queued, sending and
// deferred recipients of mail from one domain, through recipients_open.
const undeliveredFromSQL = `SELECT COUNT(*) FROM recipients r JOIN messages m ON m.id = r.message_id
	WHERE m.org_id = ? AND m.from_domain = ? AND r.org_id = ? AND r.` + openStates + ` AND r.state <> 'held'`

// CountUndeliveredFrom counts org's recipients still waiting for delivery
// (queued, sending or deferred) on messages whose From domain is domain.
func CountUndeliveredFrom(ctx context.Context, q Querier, org, domain string) (int, error) {
	var n int
	err := q.QueryRow(ctx, undeliveredFromSQL, org, domain, org).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count undelivered mail from a sender domain of %s: %w", org, mapError(err))
	}
	return n, nil
}
