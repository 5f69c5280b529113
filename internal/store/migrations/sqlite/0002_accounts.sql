-- Accounts and access control: organization settings, users, roles, MFA,
-- sessions, API keys, login throttling, alerts, break-glass, OIDC SSO.

ALTER TABLE organizations ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
-- HIPAA 164.312(a)(2)(iii) automatic logoff: idle timeout, at most 30 minutes.
ALTER TABLE organizations ADD COLUMN idle_timeout_s INTEGER NOT NULL DEFAULT 900;
ALTER TABLE organizations ADD COLUMN session_lifetime_s INTEGER NOT NULL DEFAULT 43200;
ALTER TABLE organizations ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    org_id               TEXT NOT NULL REFERENCES organizations (id),
    email                TEXT NOT NULL,
    -- lower-cased e-mail: sign-in is by address, unique across the install
    email_key            TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    -- argon2id PHC string; empty for accounts that sign in only by SSO
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    password_changed_at  INTEGER NOT NULL DEFAULT 0,
    -- TOTP secret sealed by the keyring; NULL until enrolment starts
    totp_secret          BLOB,
    totp_confirmed_at    INTEGER NOT NULL DEFAULT 0,
    -- last accepted TOTP time step: a code is never accepted twice
    totp_last_step       INTEGER NOT NULL DEFAULT 0,
    dek_version          INTEGER NOT NULL DEFAULT 0,
    webauthn_handle      BLOB NOT NULL,
    sso_issuer           TEXT NOT NULL DEFAULT '',
    sso_subject          TEXT NOT NULL DEFAULT '',
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    last_login_at        INTEGER NOT NULL DEFAULT 0,
    disabled_at          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX users_org ON users (org_id);
CREATE UNIQUE INDEX users_sso ON users (sso_issuer, sso_subject) WHERE sso_subject <> '';

-- Custom roles; built-in roles are defined in code (package access).
CREATE TABLE roles (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (org_id, name)
);

-- role is a built-in role name or a custom role id
CREATE TABLE user_roles (
    org_id  TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id),
    code_hash  BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE webauthn_credentials (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id),
    credential_id BLOB NOT NULL UNIQUE,
    credential    TEXT NOT NULL,
    name          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id);

-- A sign-in between the password and the second factor. It grants nothing
-- but finishing the sign-in (change password, enrol MFA, answer the
-- challenge): a password alone never yields a session.
CREATE TABLE login_flows (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    org_id       TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id),
    stage        TEXT NOT NULL,
    amr          TEXT NOT NULL,
    ceremony     TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    client_ip    TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    token_hash     BLOB NOT NULL UNIQUE,
    org_id         TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id),
    amr            TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    idle_timeout_s INTEGER NOT NULL,
    reauth_at      INTEGER NOT NULL,
    ceremony       TEXT NOT NULL DEFAULT '',
    client_ip      TEXT NOT NULL,
    user_agent     TEXT NOT NULL,
    ended_at       INTEGER NOT NULL DEFAULT 0,
    end_reason     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id, ended_at);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    secret_hash  BLOB NOT NULL,
    scopes       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL DEFAULT 0,
    revoked_at   INTEGER NOT NULL DEFAULT 0,
    last_used_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_org ON api_keys (org_id);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- Failed sign-ins per account ("acct:<email key>") and per client address
-- ("ip:<address>"), for growing delays.
CREATE TABLE login_throttle (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    blocked_until   INTEGER NOT NULL
);

-- Alert events; delivering them (mail, webhook) is the alerting feature's.
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    severity        TEXT NOT NULL,
    details         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    acknowledged_at INTEGER NOT NULL DEFAULT 0,
    acknowledged_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_org ON alerts (org_id, created_at);

-- Emergency access (HIPAA 164.312(a)(2)(ii)). The written reason may name a
-- patient, so it is sealed.
CREATE TABLE break_glass (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    reason      BLOB NOT NULL,
    dek_version INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    ended_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX break_glass_user ON break_glass (user_id, expires_at);

CREATE TABLE oidc_providers (
    org_id        TEXT PRIMARY KEY REFERENCES organizations (id),
    issuer        TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_secret BLOB NOT NULL,
    dek_version   INTEGER NOT NULL,
    scopes        TEXT NOT NULL,
    groups_claim  TEXT NOT NULL,
    role_map      TEXT NOT NULL,
    default_role  TEXT NOT NULL,
    trust_amr     INTEGER NOT NULL,
    enabled       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE oidc_states (
    state_hash BLOB PRIMARY KEY,
    org_id     TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    verifier   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
