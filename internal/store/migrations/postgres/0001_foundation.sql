-- Foundation: organizations, the keyring's data keys, sealed blobs and the
-- tamper-evident audit log. Times are microseconds since the Unix epoch (UTC).

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE data_keys (
    scope       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('active', 'retired')),
    kek_id      TEXT NOT NULL,
    wrapped     BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, version)
);

CREATE TABLE blobs (
    scope       TEXT NOT NULL,
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    dek_version INTEGER NOT NULL,
    content     BYTEA NOT NULL,
    size        BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (scope, id)
);
-- Sealed content is random bytes: keep it out of TOAST compression attempts.
ALTER TABLE blobs ALTER COLUMN content SET STORAGE EXTERNAL;
CREATE INDEX blobs_dek_version ON blobs (scope, dek_version);

CREATE TABLE audit_heads (
    chain       TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL,
    hash        BYTEA NOT NULL
);

CREATE TABLE audit_entries (
    chain       TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    client_ip   TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    details     TEXT NOT NULL,
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_entries_at ON audit_entries (at);

CREATE TABLE audit_signing_keys (
    key_id      TEXT PRIMARY KEY,
    public_key  BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE audit_checkpoints (
    chain       TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    hash        BYTEA NOT NULL,
    at          BIGINT NOT NULL,
    key_id      TEXT NOT NULL,
    signature   BYTEA NOT NULL,
    PRIMARY KEY (chain, seq)
);

-- HIPAA 164.316(b)(2): six-year retention, enforced by the database as well as
-- the application (see the SQLite migration for the reasoning).
CREATE FUNCTION audit_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only';
END $$;
CREATE FUNCTION audit_refuse_young_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.at > (EXTRACT(EPOCH FROM now())::BIGINT - 189345600) * 1000000 THEN
        RAISE EXCEPTION 'audit entries younger than six years cannot be deleted';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_update();
CREATE TRIGGER audit_entries_retention BEFORE DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_young_delete();
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_update();
