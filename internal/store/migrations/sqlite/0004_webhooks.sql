-- Outbound webhooks (package webhook): endpoints per organization, the
-- events sent to them, one delivery per (event, endpoint) and one row per
-- attempt. Payloads carry ids, states and times, never PHI (see package
-- webhook), so they are stored in clear; endpoint secrets are sealed.

CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    url             TEXT NOT NULL,
    description     TEXT NOT NULL,
    -- subscribed event types, space-separated; empty means all
    event_types     TEXT NOT NULL,
    -- signing secret ("whsec_…") sealed by the keyring, bound to
    -- (org_id, 'webhook_endpoints', 'secret', id)
    secret          BLOB NOT NULL,
    -- the secret before the last rotation, also sealed; deliveries are
    -- signed with it too until previous_until (0: none)
    previous_secret BLOB,
    previous_until  INTEGER NOT NULL DEFAULT 0,
    dek_version     INTEGER NOT NULL,
    enabled         INTEGER NOT NULL,
    -- why the endpoint is disabled: '' (enabled or by its owner) or 'gone'
    -- (the receiver answered 410)
    disabled_reason TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id, id);
CREATE INDEX webhook_endpoints_dek_version ON webhook_endpoints (org_id, dek_version);

-- One row per event that at least one endpoint subscribed to. payload is the
-- exact request body, so every attempt signs the same bytes.
CREATE TABLE webhook_events (
    org_id      TEXT NOT NULL,
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    payload     BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);

-- The delivery log: one row per (event, endpoint). id is the webhook-id
-- header, the same on every attempt.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed', 'exhausted')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    -- a short generic reason ("http status 500", "timeout"); never a
    -- response body
    last_error       TEXT NOT NULL DEFAULT '',
    last_duration_us INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    FOREIGN KEY (org_id, event_id) REFERENCES webhook_events (org_id, id)
);
-- the delivery log of an endpoint, newest first; also serves the cascade
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status_code INTEGER NOT NULL,
    error       TEXT NOT NULL,
    duration_us INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
