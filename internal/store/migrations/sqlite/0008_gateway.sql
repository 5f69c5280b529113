-- Gateway connectors: the Microsoft 365, Google Workspace and on-premises
-- servers an organization routes outbound mail through carepost from (see
-- package smtpd/connector and docs/GATEWAY.md). A connector is trusted by
-- the source address of the connection and/or the client certificate it
-- presents; everything here is configuration, not PHI, so it is stored in
-- clear.

CREATE TABLE gateway_connectors (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    name        TEXT NOT NULL,
    -- allowed source ranges, space-separated CIDRs; empty: any address
    ip_ranges   TEXT NOT NULL DEFAULT '',
    -- pinned client certificates: SHA-256 of the DER, lower-case hex,
    -- space-separated
    cert_sha256 TEXT NOT NULL DEFAULT '',
    -- PEM bundle of CA certificates a client certificate may chain to
    client_ca   TEXT NOT NULL DEFAULT '',
    -- DNS names a CA-verified client certificate must be valid for,
    -- space-separated; empty: any certificate the CA issued
    cert_names  TEXT NOT NULL DEFAULT '',
    -- Microsoft 365 tenant id the message's X-MS-Exchange-CrossTenant-Id
    -- must carry; empty: not checked
    tenant_id   TEXT NOT NULL DEFAULT '',
    require_tls INTEGER NOT NULL,
    enabled     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX gateway_connectors_org ON gateway_connectors (org_id, id);
CREATE UNIQUE INDEX gateway_connectors_name ON gateway_connectors (org_id, name);
