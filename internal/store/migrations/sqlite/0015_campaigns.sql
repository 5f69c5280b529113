-- Campaigns (package campaign, docs/CAMPAIGNS.md).
--
-- A campaign names a template version and an audience (lists and/or
-- segments). Sending runs in two steps on the job engine: a prepare job
-- streams the audience and writes one campaign_recipients row per contact
-- (the primary key makes a contact targeted once per campaign, whatever
-- lists or segments it is in), a page at a time, each page a batch with its
-- job; batch jobs render, check and submit their contacts through the
-- outbox. A recipient row moves from pending to sent (with the message id)
-- in the same transaction as the message it names, or to skipped with a
-- reason, so a batch run twice sends nobody twice. No PHI is stored here:
-- ids, states, counts and reasons.

CREATE TABLE campaigns (
    org_id           TEXT NOT NULL REFERENCES organizations (id),
    id               TEXT NOT NULL,
    name             TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('draft', 'scheduled', 'sending', 'paused', 'completed', 'cancelled')),
    -- Why the engine paused the campaign by itself ('' otherwise); ids and
    -- settings only, never PHI.
    state_reason     TEXT NOT NULL DEFAULT '',
    from_email       TEXT NOT NULL,
    from_name        TEXT NOT NULL DEFAULT '',
    reply_to         TEXT NOT NULL DEFAULT '',
    template_id      TEXT NOT NULL,
    template_version INTEGER NOT NULL,
    -- JSON: {"lists": ["lst_…"], "segments": ["seg_…"]}
    audience         TEXT NOT NULL,
    -- The scheduled instant (UTC) and the zone the marketer chose it in.
    send_at          INTEGER NOT NULL DEFAULT 0,
    timezone         TEXT NOT NULL DEFAULT '',
    -- Messages per minute; 0 is as fast as the pipeline goes.
    throttle         INTEGER NOT NULL DEFAULT 0,
    -- The due time of the last batch given one, so a throttled campaign's
    -- batches stay spaced across pauses and a prepare still writing.
    paced_until      INTEGER NOT NULL DEFAULT 0,
    security         TEXT NOT NULL CHECK (security IN ('auto', 'tls_only')),
    uses_phi         INTEGER NOT NULL,
    -- epoch names the current generation of jobs: scheduling, resuming and
    -- cancelling move it on, and a job of an older epoch does nothing.
    epoch            INTEGER NOT NULL DEFAULT 0,
    -- The prepare step's durable progress: the audience source being read
    -- and the last contact id written from it; prepared once it is done.
    cursor_source    INTEGER NOT NULL DEFAULT 0,
    cursor_after     TEXT NOT NULL DEFAULT '',
    prepared         INTEGER NOT NULL DEFAULT 0,
    batches          INTEGER NOT NULL DEFAULT 0,
    batches_done     INTEGER NOT NULL DEFAULT 0,
    targeted         INTEGER NOT NULL DEFAULT 0,
    created_by_type  TEXT NOT NULL,
    created_by_id    TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    started_at       INTEGER NOT NULL DEFAULT 0,
    finished_at      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX campaigns_org ON campaigns (org_id, created_at);
CREATE INDEX campaigns_active ON campaigns (state) WHERE state IN ('sending', 'paused');

CREATE TABLE campaign_batches (
    org_id      TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    batch       INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    -- due_at is when the batch may start (throttled campaigns space their
    -- batches); touched_at when a job last worked on it. The sweep gives
    -- a pending batch of a sending campaign that nothing touched for a
    -- lease past its due time a new job (a node killed mid-batch).
    due_at      INTEGER NOT NULL,
    touched_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, campaign_id, batch)
) WITHOUT ROWID;
CREATE INDEX campaign_batches_pending ON campaign_batches (org_id, campaign_id, state, batch);

CREATE TABLE campaign_recipients (
    org_id      TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    contact_id  TEXT NOT NULL,
    batch       INTEGER NOT NULL,
    -- The list the contact was targeted through ('' for a segment): its
    -- membership is checked again at send time and its unsubscribe link
    -- leaves that list.
    list_id     TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'skipped')),
    reason      TEXT NOT NULL DEFAULT '',
    message_id  TEXT NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, campaign_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX campaign_recipients_batch ON campaign_recipients (org_id, campaign_id, batch, state, list_id);
