-- The sending pipeline: sender domains, messages and their per-recipient
-- delivery state, events, suppressions, MTA-STS cache, partner TLS pins and
-- the demo capture inbox. Recipient addresses may identify patients, so they
-- are sealed; a keyed blind index finds them (suppression, lookups) and the
-- plaintext domain routes them.

CREATE TABLE sender_domains (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    domain        TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'verified')),
    rsa_selector  TEXT NOT NULL,
    ed_selector   TEXT NOT NULL,
    dkim_keys     BYTEA NOT NULL,
    dek_version   BIGINT NOT NULL,
    last_check    TEXT NOT NULL DEFAULT '',
    last_check_at BIGINT NOT NULL DEFAULT 0,
    verified_at   BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);
CREATE INDEX sender_domains_org ON sender_domains (org_id);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    source          TEXT NOT NULL,
    submitter_type  TEXT NOT NULL,
    submitter_id    TEXT NOT NULL,
    sender_user_id  TEXT NOT NULL DEFAULT '',
    mail_from       TEXT NOT NULL,
    from_domain     TEXT NOT NULL,
    security        TEXT NOT NULL,
    phi             BOOLEAN NOT NULL,
    requiretls      BOOLEAN NOT NULL DEFAULT false,
    dsn             BOOLEAN NOT NULL DEFAULT false,
    idempotency_key TEXT NOT NULL DEFAULT '',
    request_hash    BYTEA,
    size            BIGINT NOT NULL,
    content         BYTEA NOT NULL,
    dek_version     BIGINT NOT NULL,
    tags            TEXT NOT NULL DEFAULT '[]',
    metadata        TEXT NOT NULL DEFAULT '{}',
    recipients      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX messages_idempotency ON messages (org_id, idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX messages_org_created ON messages (org_id, created_at);

CREATE TABLE recipients (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL,
    message_id      TEXT NOT NULL REFERENCES messages (id),
    ord             BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    address         BYTEA NOT NULL,
    address_index   BYTEA NOT NULL,
    domain          TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'deferred', 'delivered', 'bounced', 'failed', 'held', 'portal')),
    level           TEXT NOT NULL,
    rule            TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    last_code       BIGINT NOT NULL DEFAULT 0,
    last_enhanced   TEXT NOT NULL DEFAULT '',
    last_reason     TEXT NOT NULL DEFAULT '',
    receipt         TEXT NOT NULL DEFAULT '',
    dek_version     BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    finished_at     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX recipients_due ON recipients (domain, next_attempt_at) WHERE state IN ('queued', 'deferred', 'sending');
CREATE INDEX recipients_message ON recipients (message_id);
CREATE INDEX recipients_org_state ON recipients (org_id, state);

-- Delivery and engagement events, for GET /events (cursor = id, which is
-- time-ordered) and webhooks. data holds ids, states and codes, never PHI.
CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL,
    type         TEXT NOT NULL,
    message_id   TEXT NOT NULL DEFAULT '',
    recipient_id TEXT NOT NULL DEFAULT '',
    at           BIGINT NOT NULL,
    data         TEXT NOT NULL
);
CREATE INDEX events_org ON events (org_id, id);

CREATE TABLE suppressions (
    org_id            TEXT NOT NULL,
    address_index     BYTEA NOT NULL,
    reason            TEXT NOT NULL,
    source_message_id TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (org_id, address_index)
);

CREATE TABLE mtasts_policies (
    domain     TEXT PRIMARY KEY,
    policy     TEXT NOT NULL,
    txt_id     TEXT NOT NULL,
    fetched_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Partner domains the organization pins to verified TLS (optionally to a
-- certificate or key fingerprint), for partners without MTA-STS or DANE.
CREATE TABLE transport_pins (
    org_id      TEXT NOT NULL,
    domain      TEXT NOT NULL,
    mx_pattern  TEXT NOT NULL DEFAULT '',
    cert_sha256 TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, domain)
);

-- Demo mode: outbound mail captured locally instead of sent.
CREATE TABLE demo_messages (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    content      BYTEA NOT NULL,
    dek_version  BIGINT NOT NULL,
    received_at  BIGINT NOT NULL
);
CREATE INDEX demo_messages_org ON demo_messages (org_id, received_at);
