-- The secure portal (package portal, docs/PORTAL.md). A portal delivery
-- keeps the message's content where it already is — messages.content,
-- sealed — and binds one recipient of it to a link token. Nothing here
-- holds content or addresses in clear: tokens, one-time codes and session
-- tokens are stored as SHA-256 hashes, passphrases and account passwords
-- as argon2id hashes, the phone number an SMS code goes to and a portal
-- account's TOTP secret are sealed, and a recipient's account is found by
-- the keyed blind index of their address (package blindindex).

CREATE TABLE portal_items (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    message_id      TEXT NOT NULL REFERENCES messages (id),
    recipient_id    TEXT NOT NULL UNIQUE REFERENCES recipients (id),
    token_hash      BLOB NOT NULL UNIQUE,
    address_index   BLOB NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('active', 'revoked', 'expired')),
    notice_id       TEXT NOT NULL DEFAULT '',
    passphrase_hash TEXT NOT NULL DEFAULT '',
    -- sealed; NULL when no number is known
    phone           BLOB,
    -- 0: nothing sealed in the row
    dek_version     INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER NOT NULL DEFAULT 0,
    opened_at       INTEGER NOT NULL DEFAULT 0,
    replies         INTEGER NOT NULL DEFAULT 0,
    revoked_at      INTEGER NOT NULL DEFAULT 0,
    revoked_by      TEXT NOT NULL DEFAULT '',
    expired_at      INTEGER NOT NULL DEFAULT 0,
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX portal_items_org ON portal_items (org_id, id);
CREATE INDEX portal_items_message ON portal_items (message_id);
CREATE INDEX portal_items_due ON portal_items (expires_at) WHERE state = 'active';
CREATE INDEX portal_items_dek ON portal_items (org_id, dek_version);

-- One-time codes sent to prove identity (email, or SMS when a number is
-- known): single use, a short life, a bounded number of tries.
CREATE TABLE portal_codes (
    id         TEXT PRIMARY KEY,
    item_id    TEXT NOT NULL REFERENCES portal_items (id),
    org_id     TEXT NOT NULL,
    channel    TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    code_hash  BLOB NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX portal_codes_item ON portal_codes (item_id, created_at);

-- Recipients' portal accounts: separate from staff users in every way
-- (table, cookie, session store, permissions: none).
CREATE TABLE portal_accounts (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    address_index   BLOB NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'active')),
    password_hash   TEXT NOT NULL,
    -- sealed
    totp_secret     BLOB NOT NULL,
    dek_version     INTEGER NOT NULL,
    totp_last_step  INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX portal_accounts_address ON portal_accounts (org_id, address_index);
CREATE INDEX portal_accounts_dek ON portal_accounts (org_id, dek_version);

-- Server-side portal sessions: each grants one portal item, after a proof.
CREATE TABLE portal_sessions (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    org_id       TEXT NOT NULL,
    item_id      TEXT NOT NULL REFERENCES portal_items (id),
    recipient_id TEXT NOT NULL,
    account_id   TEXT NOT NULL DEFAULT '',
    proof        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ended_at     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX portal_sessions_item ON portal_sessions (item_id);

-- Per-organization portal settings; an organization without a row uses
-- the [portal] defaults.
CREATE TABLE portal_settings (
    org_id            TEXT PRIMARY KEY REFERENCES organizations (id),
    expiry            INTEGER NOT NULL,
    notification_text TEXT NOT NULL,
    show_subject      INTEGER NOT NULL DEFAULT 0,
    updated_at        INTEGER NOT NULL
);
