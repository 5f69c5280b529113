-- Automated workflows (package workflow, docs/WORKFLOWS.md).
--
-- A workflow's definition is versioned: every save adds a row to
-- workflow_versions, sealed (it may name conditions in its branches), and
-- versions never change. A contact's journey is one workflow_runs row,
-- pinned to the version it entered with: waiting contacts cost a row and
-- index entries, never a goroutine or a job. The engine claims due rows
-- through workflow_runs_due (priority, then due time); events find
-- waiting rows through workflow_runs_wait (organization, contact, what
-- they wait for). No re-entry: one row per workflow, contact and
-- occurrence ('' except for yearly date triggers, whose occurrence is the
-- year), kept after the run ends.

CREATE TABLE workflows (
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    id              TEXT NOT NULL,
    name            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('draft', 'active', 'stopped')),
    current_version INTEGER NOT NULL,
    trigger_type    TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE TABLE workflow_versions (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    version     INTEGER NOT NULL,
    definition  BLOB NOT NULL,
    dek_version INTEGER NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX workflow_versions_number ON workflow_versions (org_id, workflow_id, version);
CREATE INDEX workflow_versions_dek ON workflow_versions (org_id, dek_version);

-- What starts an active workflow, for lookup when something happens:
-- (list_join, list id), (segment_in, segment id), (form, form id),
-- (event, event name), (date, field key). Rows exist only while the
-- workflow is active.
CREATE TABLE workflow_triggers (
    org_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    PRIMARY KEY (org_id, kind, key, workflow_id)
) WITHOUT ROWID;

CREATE TABLE workflow_runs (
    org_id      TEXT NOT NULL,
    id          TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    occurrence  TEXT NOT NULL DEFAULT '',
    version     INTEGER NOT NULL,
    contact_id  TEXT NOT NULL,
    priority    INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('active', 'waiting', 'completed', 'exited')),
    step_id     TEXT NOT NULL,
    step_at     INTEGER NOT NULL,
    -- 0: not due (finished, or waiting for an event without a timeout).
    due_at      INTEGER NOT NULL DEFAULT 0,
    wait_key    TEXT NOT NULL DEFAULT '',
    wake        TEXT NOT NULL DEFAULT '',
    visited     TEXT NOT NULL DEFAULT '',
    engaged     TEXT NOT NULL DEFAULT '',
    seq         INTEGER NOT NULL DEFAULT 0,
    outcome     TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    entered_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX workflow_runs_contact ON workflow_runs (org_id, workflow_id, contact_id, occurrence);
CREATE INDEX workflow_runs_due ON workflow_runs (priority, due_at) WHERE due_at > 0;
CREATE INDEX workflow_runs_wait ON workflow_runs (org_id, contact_id, wait_key) WHERE wait_key <> '';
CREATE INDEX workflow_runs_step ON workflow_runs (org_id, workflow_id, state, step_id);

-- The path each contact took: one row per step left, with its times and
-- outcome (the branch taken, the message sent, why it exited).
CREATE TABLE workflow_history (
    org_id     TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    step_id    TEXT NOT NULL,
    step_type  TEXT NOT NULL,
    entered_at INTEGER NOT NULL,
    left_at    INTEGER NOT NULL,
    outcome    TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (org_id, run_id, seq)
) WITHOUT ROWID;

-- Per step counters, added to in each batch's transaction: current =
-- entered - left.
CREATE TABLE workflow_step_stats (
    org_id      TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    entered     INTEGER NOT NULL DEFAULT 0,
    left_step   INTEGER NOT NULL DEFAULT 0,
    sends       INTEGER NOT NULL DEFAULT 0,
    opens       INTEGER NOT NULL DEFAULT 0,
    clicks      INTEGER NOT NULL DEFAULT 0,
    dropoffs    INTEGER NOT NULL DEFAULT 0,
    completed   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, workflow_id, step_id)
) WITHOUT ROWID;

-- Bulk enrolments (list and segment triggers) in progress: a cursor
-- committed with each page.
CREATE TABLE workflow_enrolments (
    org_id      TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    source      TEXT NOT NULL,
    cursor      TEXT NOT NULL DEFAULT '',
    done        INTEGER NOT NULL DEFAULT 0,
    enrolled    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, workflow_id, source)
);
