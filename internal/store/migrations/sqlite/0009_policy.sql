-- Encryption policy (package policy, docs/POLICY.md). Each organization's
-- policy document is versioned: every save is a new row, the highest
-- version is current. The document is sealed (dek_version): overrides can
-- name recipients' addresses.

CREATE TABLE policy_versions (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    version     INTEGER NOT NULL,
    document    BLOB NOT NULL,
    dek_version INTEGER NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    UNIQUE (org_id, version)
);
CREATE INDEX policy_versions_dek ON policy_versions (org_id, dek_version);

-- Each recipient's decision beyond level and rule: the methods delivery
-- walks in order ("verified-tls,e2e,portal"; empty when none is
-- acceptable), whether running out of them drops the recipient instead of
-- using the portal (TLS-only sources), every reason as a JSON array of
-- {rule, level, detail} (no PHI), and whether PHI was found in the subject.
ALTER TABLE recipients ADD COLUMN policy_methods TEXT NOT NULL DEFAULT '';
ALTER TABLE recipients ADD COLUMN policy_drop INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recipients ADD COLUMN policy_reasons TEXT NOT NULL DEFAULT '[]';
ALTER TABLE recipients ADD COLUMN subject_flagged INTEGER NOT NULL DEFAULT 0;
