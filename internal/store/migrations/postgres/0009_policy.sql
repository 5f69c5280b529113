-- Encryption policy (package policy, docs/POLICY.md). See the SQLite
-- migration for the column notes.

CREATE TABLE policy_versions (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    version     INTEGER NOT NULL,
    document    BYTEA NOT NULL,
    dek_version INTEGER NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    UNIQUE (org_id, version)
);
CREATE INDEX policy_versions_dek ON policy_versions (org_id, dek_version);

ALTER TABLE recipients ADD COLUMN policy_methods TEXT NOT NULL DEFAULT '';
ALTER TABLE recipients ADD COLUMN policy_drop BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE recipients ADD COLUMN policy_reasons TEXT NOT NULL DEFAULT '[]';
ALTER TABLE recipients ADD COLUMN subject_flagged BOOLEAN NOT NULL DEFAULT false;
