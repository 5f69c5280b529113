-- Foundation: organizations, the keyring's data keys, sealed blobs and the
-- tamper-evident audit log. Times are microseconds since the Unix epoch (UTC).

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Data-encryption keys, one series of versions per scope (an organization id,
-- or 'system' for install-wide secrets), each wrapped by the key-encryption key.
CREATE TABLE data_keys (
    scope       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('active', 'retired')),
    kek_id      TEXT NOT NULL,
    wrapped     BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, version)
);

-- Sealed objects: message bodies, attachments, private keys. content is
-- keyring ciphertext bound to (scope, 'blobs', 'content', id).
CREATE TABLE blobs (
    scope       TEXT NOT NULL,
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    dek_version INTEGER NOT NULL,
    content     BLOB NOT NULL,
    size        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (scope, id)
);
CREATE INDEX blobs_dek_version ON blobs (scope, dek_version);

-- One hash chain per organization plus 'system'. The head row is the
-- serialization point for appends.
CREATE TABLE audit_heads (
    chain       TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    hash        BLOB NOT NULL
);

CREATE TABLE audit_entries (
    chain       TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    client_ip   TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    details     TEXT NOT NULL,
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_entries_at ON audit_entries (at);

CREATE TABLE audit_signing_keys (
    key_id      TEXT PRIMARY KEY,
    public_key  BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE audit_checkpoints (
    chain       TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    hash        BLOB NOT NULL,
    at          INTEGER NOT NULL,
    key_id      TEXT NOT NULL,
    signature   BLOB NOT NULL,
    PRIMARY KEY (chain, seq)
);

-- HIPAA 164.316(b)(2): six-year retention. The application never edits an
-- entry and never deletes one younger than six years; these triggers make the
-- database refuse it too (an attacker with raw access can drop them, which is
-- what the hash chain and signed checkpoints are for).
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;
CREATE TRIGGER audit_entries_retention BEFORE DELETE ON audit_entries
WHEN OLD.at > (CAST(strftime('%s', 'now') AS INTEGER) - 189345600) * 1000000
BEGIN
    SELECT RAISE(ABORT, 'audit entries younger than six years cannot be deleted');
END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;
