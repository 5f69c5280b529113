-- The recipient key directory (package keydir, docs/E2E.md). See the
-- SQLite migration for what is sealed and why.

CREATE TABLE recipient_keys (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id),
    kind              TEXT NOT NULL CHECK (kind IN ('pgp', 'smime')),
    fingerprint_index BYTEA NOT NULL,
    algorithm         TEXT NOT NULL,
    key_created_at    BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    content           BYTEA NOT NULL,
    dek_version       INTEGER NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX recipient_keys_fingerprint ON recipient_keys (org_id, fingerprint_index);
CREATE INDEX recipient_keys_dek ON recipient_keys (org_id, dek_version);

CREATE TABLE recipient_key_addresses (
    key_id        TEXT NOT NULL REFERENCES recipient_keys (id),
    org_id        TEXT NOT NULL,
    address_index BYTEA NOT NULL,
    PRIMARY KEY (key_id, address_index)
);
CREATE INDEX recipient_key_addresses_lookup ON recipient_key_addresses (org_id, address_index);
