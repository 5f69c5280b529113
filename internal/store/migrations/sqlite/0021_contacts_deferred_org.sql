-- contacts' reference to its organization is checked at commit instead of
-- at each statement. An immediate foreign key makes SQLite open a
-- statement journal for every statement that writes several rows, and
-- copy into it each page the statement changes before changing it
-- (https://www.sqlite.org/tempfiles.html#stmtjrnl): for a batch of new
-- contacts that is one page of the random blind email index per contact,
-- about a tenth of a million-row import's writer time. The store's
-- multi-row inserts say OR FAIL (store.insertVerb), which needs no
-- statement journal either; a failed statement's rows are undone with
-- its transaction or savepoint. The table is rebuilt as SQLite changes a
-- constraint (https://www.sqlite.org/lang_altertable.html#otheralter); no
-- table refers to contacts.
CREATE TABLE contacts_rebuilt (
    org_id          TEXT NOT NULL REFERENCES organizations (id) DEFERRABLE INITIALLY DEFERRED,
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
INSERT INTO contacts_rebuilt (org_id, id, email_index, status, timezone, locale, attrs, phi, consent_id,
    consent_at, consent_expires, consent_revoked, created_at, updated_at)
SELECT org_id, id, email_index, status, timezone, locale, attrs, phi, consent_id,
    consent_at, consent_expires, consent_revoked, created_at, updated_at FROM contacts;
DROP TABLE contacts;
ALTER TABLE contacts_rebuilt RENAME TO contacts;
CREATE UNIQUE INDEX contacts_email ON contacts (org_id, email_index);
