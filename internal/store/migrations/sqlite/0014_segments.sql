-- Segments (package segment, docs/SEGMENTS.md) and template deletion.
--
-- A dynamic segment is a filter expression over contacts; a static one is
-- a list of members added by the API or by workflows. The expression is
-- sealed: it is staff-written, but it may name a condition or even match
-- one person ("email == ..."). version counts expression changes, so
-- compiled programs are cached per version. The name is in clear, to list
-- segments.

CREATE TABLE segments (
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL CHECK (kind IN ('dynamic', 'static')),
    version     INTEGER NOT NULL,
    -- Sealed expression (dynamic); empty with dek_version 0 (static).
    expression  BLOB NOT NULL,
    dek_version INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX segments_name ON segments (org_id, name);
CREATE INDEX segments_dek ON segments (org_id, dek_version);

-- Static membership: ids only, no PHI. source says who added the member
-- ("api", "workflow:wfl_…").
CREATE TABLE segment_members (
    org_id     TEXT NOT NULL,
    segment_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    source     TEXT NOT NULL,
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (org_id, segment_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX segment_members_contact ON segment_members (org_id, contact_id);

-- A deleted template is hidden from the API; its versions stay for the
-- campaigns that reference them. 0: not deleted.
ALTER TABLE templates ADD COLUMN deleted_at INTEGER NOT NULL DEFAULT 0;
