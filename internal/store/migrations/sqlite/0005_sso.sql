-- Passkeys and SSO with OpenID Connect, second step (package auth).
--
-- webauthn_credentials.sign_count mirrors the signature counter inside the
-- credential JSON, so a sign-in advances it with a conditional UPDATE
-- (WebAuthn Level 3 section 7.2 step 22): two sign-ins racing with one
-- counter value cannot both succeed.
ALTER TABLE webauthn_credentials ADD COLUMN sign_count INTEGER NOT NULL DEFAULT 0;
CREATE INDEX webauthn_credentials_org ON webauthn_credentials (org_id, user_id);

-- oidc_providers.id names the row for the keyring: client_secret is sealed
-- and bound to (org_id, 'oidc_providers', 'client_secret', id). slug is an
-- optional short name people type on the SSO sign-in page instead of the
-- organization id; unique across the install when set.
ALTER TABLE oidc_providers ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE oidc_providers ADD COLUMN slug TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX oidc_providers_slug ON oidc_providers (slug) WHERE slug <> '';
CREATE INDEX oidc_providers_dek_version ON oidc_providers (org_id, dek_version);

-- Expired sign-in states are swept by expiry.
CREATE INDEX oidc_states_expires ON oidc_states (expires_at);
