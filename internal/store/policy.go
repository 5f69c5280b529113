package store

import (
	"context"
	"fmt"
	"time"
)

// PolicyVersionRow is one saved version of an organization's policy
// document. Document is sealed.
type PolicyVersionRow struct {
	ID, OrgID          string
	Version            int
	Document           []byte
	DEKVersion         int
	ActorType, ActorID string
	CreatedAt          time.Time
}

// PolicyVersionsTable is the sealed-table descriptor for key rotation.
func PolicyVersionsTable() SealedTable {
	return SealedTable{Table: "policy_versions", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version", Columns: []string{"document"}}
}

// InsertPolicyVersion stores a new version; a version number already taken
// (two saves racing) is ErrConflict.
func InsertPolicyVersion(ctx context.Context, tx *Tx, r PolicyVersionRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO policy_versions (id, org_id, version, document, dek_version, actor_type, actor_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.OrgID, r.Version, r.Document, r.DEKVersion, r.ActorType, r.ActorID, Micros(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert policy version: %w", mapError(err))
	}
	return nil
}

// CurrentPolicy reads the organization's highest policy version;
// ErrNotFound when it has saved none.
func CurrentPolicy(ctx context.Context, q Querier, orgID string) (PolicyVersionRow, error) {
	r := PolicyVersionRow{OrgID: orgID}
	var created int64
	err := Scan(q.QueryRow(ctx, `SELECT id, version, document, dek_version, actor_type, actor_id, created_at FROM policy_versions
		WHERE org_id = ? ORDER BY version DESC LIMIT 1`, orgID), &r.ID, &r.Version, &r.Document, &r.DEKVersion, &r.ActorType, &r.ActorID, &created)
	r.CreatedAt = FromMicros(created)
	return r, err
}

// TransportPinsOf lists an organization's transport pins by domain (the
// rows package delivery reads one at a time with GetTransportPin).
func TransportPinsOf(ctx context.Context, q Querier, orgID string) ([]TransportPin, error) {
	rows, err := q.Query(ctx, `SELECT domain, mx_pattern, cert_sha256, created_at FROM transport_pins WHERE org_id = ? ORDER BY domain`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list transport pins: %w", err)
	}
	defer rows.Close()
	var out []TransportPin
	for rows.Next() {
		p := TransportPin{OrgID: orgID}
		var created int64
		if err := rows.Scan(&p.Domain, &p.MXPattern, &p.CertSHA256, &created); err != nil {
			return nil, fmt.Errorf("list transport pins: %w", err)
		}
		p.CreatedAt = FromMicros(created)
		out = append(out, p)
	}
	return out, rows.Err()
}

// RecipientPolicy is the part of a recipient's policy decision stored
// beside its level and rule: the methods delivery walks
// ("verified-tls,e2e,portal"), whether running out of them drops the
// recipient, the reasons (a JSON array, no PHI) and whether PHI was found
// in the subject.
type RecipientPolicy struct {
	ID             string
	Methods        string
	Drop           bool
	Reasons        string
	SubjectFlagged bool
}

// RecipientPolicies reads the policy decisions of a message's recipients,
// by recipient id.
func RecipientPolicies(ctx context.Context, q Querier, orgID, messageID string) (map[string]RecipientPolicy, error) {
	rows, err := q.Query(ctx, `SELECT id, policy_methods, policy_drop, policy_reasons, subject_flagged FROM recipients
		WHERE org_id = ? AND message_id = ?`, orgID, messageID)
	if err != nil {
		return nil, fmt.Errorf("read recipient policy: %w", err)
	}
	defer rows.Close()
	out := map[string]RecipientPolicy{}
	for rows.Next() {
		var p RecipientPolicy
		if err := rows.Scan(&p.ID, &p.Methods, &p.Drop, &p.Reasons, &p.SubjectFlagged); err != nil {
			return nil, fmt.Errorf("read recipient policy: %w", err)
		}
		out[p.ID] = p
	}
	return out, rows.Err()
}
