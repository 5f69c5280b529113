-- Gateway connectors (package smtpd/connector, docs/GATEWAY.md). See the
-- SQLite migration for the column notes.

CREATE TABLE gateway_connectors (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    name        TEXT NOT NULL,
    ip_ranges   TEXT NOT NULL DEFAULT '',
    cert_sha256 TEXT NOT NULL DEFAULT '',
    client_ca   TEXT NOT NULL DEFAULT '',
    cert_names  TEXT NOT NULL DEFAULT '',
    tenant_id   TEXT NOT NULL DEFAULT '',
    require_tls BOOLEAN NOT NULL,
    enabled     BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX gateway_connectors_org ON gateway_connectors (org_id, id);
CREATE UNIQUE INDEX gateway_connectors_name ON gateway_connectors (org_id, name);
