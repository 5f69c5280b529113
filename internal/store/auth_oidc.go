package store

// Persistence for package auth: SSO with OpenID Connect. One provider per
// organization (oidc_providers, client secret sealed by the keyring and
// bound to (org_id, 'oidc_providers', 'client_secret', id)); sign-ins in
// progress (oidc_states, found by the SHA-256 of their state, taken once);
// and the link of a user to the provider's subject (users.sso_issuer,
// users.sso_subject, unique across the install).

import (
	"context"
	"fmt"
	"time"
)

// OIDCProviderRow is one row of oidc_providers. Scopes is space-separated;
// RoleMap is a JSON object from group name to role list.
type OIDCProviderRow struct {
	OrgID        string
	ID           string
	Slug         string
	Issuer       string
	ClientID     string
	ClientSecret []byte
	DEKVersion   int
	Scopes       string
	GroupsClaim  string
	RoleMap      string
	DefaultRole  string
	TrustAMR     bool
	Enabled      bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// OIDCProvidersTable describes the sealed client secret for the keyring.
func OIDCProvidersTable() SealedTable {
	return SealedTable{Table: "oidc_providers", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version",
		Columns: []string{"client_secret"}}
}

const oidcProviderColumns = `org_id, id, slug, issuer, client_id, client_secret, dek_version, scopes, groups_claim,
	role_map, default_role, trust_amr, enabled, created_at, updated_at`

func scanOIDCProvider(scan func(...any) error) (OIDCProviderRow, error) {
	var r OIDCProviderRow
	var created, updated int64
	err := scan(&r.OrgID, &r.ID, &r.Slug, &r.Issuer, &r.ClientID, &r.ClientSecret, &r.DEKVersion, &r.Scopes,
		&r.GroupsClaim, &r.RoleMap, &r.DefaultRole, &r.TrustAMR, &r.Enabled, &created, &updated)
	if err != nil {
		return OIDCProviderRow{}, mapError(err)
	}
	r.CreatedAt, r.UpdatedAt = FromMicros(created), FromMicros(updated)
	return r, nil
}

// PutOIDCProvider creates or replaces the provider of r.OrgID; ErrConflict
// if the slug belongs to another organization.
func PutOIDCProvider(ctx context.Context, tx *Tx, r OIDCProviderRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO oidc_providers (`+oidcProviderColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id) DO UPDATE SET id = excluded.id, slug = excluded.slug, issuer = excluded.issuer,
		client_id = excluded.client_id, client_secret = excluded.client_secret, dek_version = excluded.dek_version,
		scopes = excluded.scopes, groups_claim = excluded.groups_claim, role_map = excluded.role_map,
		default_role = excluded.default_role, trust_amr = excluded.trust_amr, enabled = excluded.enabled,
		updated_at = excluded.updated_at`,
		r.OrgID, r.ID, r.Slug, r.Issuer, r.ClientID, r.ClientSecret, r.DEKVersion, r.Scopes, r.GroupsClaim,
		r.RoleMap, r.DefaultRole, r.TrustAMR, r.Enabled, Micros(r.CreatedAt), Micros(r.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store SSO provider of organization %s: %w", r.OrgID, err)
	}
	return nil
}

// GetOIDCProvider reads the provider of orgID; ErrNotFound if none.
func GetOIDCProvider(ctx context.Context, q Querier, orgID string) (OIDCProviderRow, error) {
	r, err := scanOIDCProvider(q.QueryRow(ctx, `SELECT `+oidcProviderColumns+` FROM oidc_providers WHERE org_id = ?`, orgID).Scan)
	if err != nil {
		return OIDCProviderRow{}, fmt.Errorf("read SSO provider of organization %s: %w", orgID, err)
	}
	return r, nil
}

// GetOIDCProviderBySlug reads the provider with this slug; ErrNotFound if
// none.
func GetOIDCProviderBySlug(ctx context.Context, q Querier, slug string) (OIDCProviderRow, error) {
	if slug == "" {
		return OIDCProviderRow{}, fmt.Errorf("read SSO provider by slug: %w", ErrNotFound)
	}
	r, err := scanOIDCProvider(q.QueryRow(ctx, `SELECT `+oidcProviderColumns+` FROM oidc_providers WHERE slug = ?`, slug).Scan)
	if err != nil {
		return OIDCProviderRow{}, fmt.Errorf("read SSO provider by slug: %w", err)
	}
	return r, nil
}

// DeleteOIDCProvider removes the provider of orgID and its sign-ins in
// progress, and reports whether there was one.
func DeleteOIDCProvider(ctx context.Context, tx *Tx, orgID string) (bool, error) {
	if _, err := tx.Exec(ctx, `DELETE FROM oidc_states WHERE org_id = ?`, orgID); err != nil {
		return false, fmt.Errorf("delete SSO sign-ins of organization %s: %w", orgID, err)
	}
	res, err := tx.Exec(ctx, `DELETE FROM oidc_providers WHERE org_id = ?`, orgID)
	if err != nil {
		return false, fmt.Errorf("delete SSO provider of organization %s: %w", orgID, err)
	}
	n, err := authAffected(res, "delete SSO provider of organization "+orgID)
	return n == 1, err
}

// OIDCStateRow is one row of oidc_states: a sign-in sent to the provider.
// Nonce and Verifier (the PKCE code verifier) are needed in clear to finish
// it; the state itself is stored only as its SHA-256.
type OIDCStateRow struct {
	StateHash []byte
	OrgID     string
	Nonce     string
	Verifier  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// InsertOIDCState records a sign-in sent to the provider.
func InsertOIDCState(ctx context.Context, tx *Tx, r OIDCStateRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO oidc_states (state_hash, org_id, nonce, verifier, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.StateHash, r.OrgID, r.Nonce, r.Verifier, Micros(r.CreatedAt), Micros(r.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert SSO state: %w", err)
	}
	return nil
}

// TakeOIDCState reads and deletes the state with this hash, so each works
// once; ErrNotFound if there is none (never issued, or used already).
func TakeOIDCState(ctx context.Context, tx *Tx, hash []byte) (OIDCStateRow, error) {
	var r OIDCStateRow
	var created, expires int64
	err := Scan(tx.QueryRow(ctx, `SELECT state_hash, org_id, nonce, verifier, created_at, expires_at FROM oidc_states WHERE state_hash = ?`, hash),
		&r.StateHash, &r.OrgID, &r.Nonce, &r.Verifier, &created, &expires)
	if err != nil {
		return OIDCStateRow{}, fmt.Errorf("take SSO state: %w", err)
	}
	res, err := tx.Exec(ctx, `DELETE FROM oidc_states WHERE state_hash = ?`, hash)
	if err != nil {
		return OIDCStateRow{}, fmt.Errorf("take SSO state: %w", err)
	}
	if err := authOneRow(res, "take SSO state"); err != nil {
		return OIDCStateRow{}, err // a concurrent request took it first
	}
	r.CreatedAt, r.ExpiresAt = FromMicros(created), FromMicros(expires)
	return r, nil
}

// DeleteExpiredOIDCStates removes states that expired before now and
// returns how many.
func DeleteExpiredOIDCStates(ctx context.Context, tx *Tx, now time.Time) (int, error) {
	res, err := tx.Exec(ctx, `DELETE FROM oidc_states WHERE expires_at <= ?`, Micros(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired SSO states: %w", err)
	}
	return authAffected(res, "delete expired SSO states")
}

// GetUserBySSO finds the user linked to a provider's subject anywhere in the
// install; ErrNotFound if none.
func GetUserBySSO(ctx context.Context, q Querier, issuer, subject string) (UserRow, error) {
	if subject == "" {
		return UserRow{}, fmt.Errorf("read user by SSO subject: %w", ErrNotFound)
	}
	u, err := scanUser(q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE sso_issuer = ? AND sso_subject = ?`, issuer, subject).Scan)
	if err != nil {
		return UserRow{}, fmt.Errorf("read user by SSO subject: %w", err)
	}
	return u, nil
}

// SetUserSSO links a user of orgID to a provider's subject; ErrConflict if
// the subject is linked to someone else.
func SetUserSSO(ctx context.Context, tx *Tx, orgID, id, issuer, subject string) error {
	res, err := tx.Exec(ctx, `UPDATE users SET sso_issuer = ?, sso_subject = ? WHERE org_id = ? AND id = ?`, issuer, subject, orgID, id)
	if err != nil {
		return fmt.Errorf("link user %s to SSO: %w", id, err)
	}
	return authOneRow(res, "link user "+id+" to SSO")
}
