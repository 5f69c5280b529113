-- Contacts for secure marketing (package contact, docs/CONTACTS.md).
--
-- What is sealed: every PHI value of a contact (e-mail address, phone,
-- names, and each custom field marked PHI) is packed into one small
-- encoded map and sealed in contacts.phi under the contact's own data key,
-- so reading a contact is one AES-GCM open. The contact key lives in
-- contact_keys, wrapped by the organization's keyring data key: deleting
-- that row crypto-shreds the contact (its phi and its events' properties
-- no longer open, wherever their bytes were copied). The e-mail address
-- is found and deduplicated by a keyed blind index (email_index), the same
-- index the delivery suppressions table uses. In clear, for querying:
-- status, timezone, locale, the values of custom fields not marked PHI
-- (attrs, a JSON object), the current marketing authorization's times,
-- and event names and times.

CREATE TABLE contact_fields (
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    tag        INTEGER NOT NULL,
    key        TEXT NOT NULL,
    label      TEXT NOT NULL,
    type       TEXT NOT NULL CHECK (type IN ('text', 'number', 'date', 'boolean', 'list')),
    phi        INTEGER NOT NULL,
    options    TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    -- 0: in use. A deleted field keeps its row so its tag is never reused.
    deleted_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, tag)
);
CREATE UNIQUE INDEX contact_fields_key ON contact_fields (org_id, key) WHERE deleted_at = 0;

CREATE TABLE contacts (
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    id              TEXT NOT NULL,
    email_index     BLOB NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('subscribed', 'unsubscribed', 'bounced', 'complained')),
    timezone        TEXT NOT NULL DEFAULT '',
    locale          TEXT NOT NULL DEFAULT '',
    attrs           TEXT NOT NULL DEFAULT '{}',
    phi             BLOB NOT NULL,
    consent_id      TEXT NOT NULL DEFAULT '',
    consent_at      INTEGER NOT NULL DEFAULT 0,
    consent_expires INTEGER NOT NULL DEFAULT 0,
    consent_revoked INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX contacts_email ON contacts (org_id, email_index);

CREATE TABLE contact_keys (
    org_id      TEXT NOT NULL,
    contact_id  TEXT NOT NULL,
    dek_version INTEGER NOT NULL,
    wrapped_key BLOB NOT NULL,
    PRIMARY KEY (org_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX contact_keys_dek ON contact_keys (org_id, dek_version);

CREATE TABLE contact_lists (
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX contact_lists_name ON contact_lists (org_id, name);

CREATE TABLE contact_list_members (
    org_id     TEXT NOT NULL,
    list_id    TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('subscribed', 'unsubscribed')),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, list_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX contact_list_members_contact ON contact_list_members (org_id, contact_id);

-- HIPAA 164.508: marketing authorizations. Kept after the contact is
-- deleted (164.530(j): documentation is retained six years); they hold
-- ids, times, the method, the text's version and the source, no PHI.
CREATE TABLE contact_consents (
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    id            TEXT NOT NULL,
    contact_id    TEXT NOT NULL,
    granted_at    INTEGER NOT NULL,
    method        TEXT NOT NULL CHECK (method IN ('written', 'electronic')),
    text_version  TEXT NOT NULL,
    source        TEXT NOT NULL,
    expires_at    INTEGER NOT NULL DEFAULT 0,
    expiry_event  TEXT NOT NULL DEFAULT '',
    revoked_at    INTEGER NOT NULL DEFAULT 0,
    revoke_source TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX contact_consents_contact ON contact_consents (org_id, contact_id, granted_at);

-- The authorization texts an organization's consents name by version.
CREATE TABLE contact_consent_texts (
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    version    TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, version)
);

-- Custom events from a CDP or EHR. The name and time are in clear for
-- segments and workflows; properties are sealed under the contact's key.
CREATE TABLE contact_events (
    org_id     TEXT NOT NULL,
    id         TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    at         INTEGER NOT NULL,
    properties BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX contact_events_contact ON contact_events (org_id, contact_id, name, at);
CREATE INDEX contact_events_name ON contact_events (org_id, name, at);

-- CSV imports: the uploaded file staged in sealed chunks, the import's
-- durable progress (a cursor committed with each applied batch), and its
-- validation report (row, column and reason; never a value).
CREATE TABLE contact_imports (
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    id            TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('uploading', 'queued', 'validating', 'applying', 'completed', 'failed', 'cancelled')),
    actor_type    TEXT NOT NULL,
    actor_id      TEXT NOT NULL,
    settings      TEXT NOT NULL,
    bytes         INTEGER NOT NULL DEFAULT 0,
    chunks        INTEGER NOT NULL DEFAULT 0,
    rows_total    INTEGER NOT NULL DEFAULT 0,
    rows_invalid  INTEGER NOT NULL DEFAULT 0,
    rows_applied  INTEGER NOT NULL DEFAULT 0,
    created       INTEGER NOT NULL DEFAULT 0,
    updated       INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    cursor_offset INTEGER NOT NULL DEFAULT 0,
    cursor_row    INTEGER NOT NULL DEFAULT 0,
    failure       TEXT NOT NULL DEFAULT '',
    lease_token   TEXT NOT NULL DEFAULT '',
    lease_until   INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER NOT NULL DEFAULT 0,
    finished_at   INTEGER NOT NULL DEFAULT 0,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX contact_imports_active ON contact_imports (state, lease_until);

CREATE TABLE contact_import_chunks (
    org_id       TEXT NOT NULL,
    id           TEXT NOT NULL,
    import_id    TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    start_offset INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    dek_version  INTEGER NOT NULL,
    data         BLOB NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX contact_import_chunks_seq ON contact_import_chunks (org_id, import_id, seq);
CREATE INDEX contact_import_chunks_dek ON contact_import_chunks (org_id, dek_version);

CREATE TABLE contact_import_errors (
    org_id    TEXT NOT NULL,
    import_id TEXT NOT NULL,
    row_no    INTEGER NOT NULL,
    line_no   INTEGER NOT NULL,
    col_name  TEXT NOT NULL,
    reason    TEXT NOT NULL,
    PRIMARY KEY (org_id, import_id, row_no, col_name)
);
