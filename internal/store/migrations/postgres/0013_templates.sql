-- Templates and engagement tracking (packages template and tracking,
-- docs/TEMPLATES.md and docs/TRACKING.md).
--
-- Templates are per organization and versioned: an edit adds a version,
-- campaigns reference (template, version), and versions never change. A
-- version's content (subject, preheader, HTML, text) is sealed: it is
-- staff-written text that may name conditions or programs. The name is in
-- clear, to list templates.

CREATE TABLE templates (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    name            TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX templates_org ON templates (org_id, updated_at);

CREATE TABLE template_versions (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL,
    template_id    TEXT NOT NULL REFERENCES templates (id),
    version        INTEGER NOT NULL,
    content        BYTEA NOT NULL,
    dek_version    INTEGER NOT NULL,
    text_generated BOOLEAN NOT NULL,
    actor_type     TEXT NOT NULL,
    actor_id       TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX template_versions_number ON template_versions (template_id, version);
CREATE INDEX template_versions_dek ON template_versions (org_id, dek_version);

-- A campaign's (or message's) link table: tracked links are referenced by
-- index from signed tokens, so no URL travels in a tracking link. URLs are
-- sealed. idx is unique per campaign.
CREATE TABLE tracking_links (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    campaign_id TEXT NOT NULL,
    idx         INTEGER NOT NULL,
    url         BYTEA NOT NULL,
    dek_version INTEGER NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX tracking_links_idx ON tracking_links (org_id, campaign_id, idx);
CREATE INDEX tracking_links_dek ON tracking_links (org_id, dek_version);

-- Engagement per recipient of a campaign: what makes opens and clicks
-- unique. Machine opens (privacy proxies, scanners) are counted apart.
CREATE TABLE tracking_recipients (
    org_id          TEXT NOT NULL,
    campaign_id     TEXT NOT NULL,
    contact_id      TEXT NOT NULL,
    opens           BIGINT NOT NULL DEFAULT 0,
    machine_opens   BIGINT NOT NULL DEFAULT 0,
    clicks          BIGINT NOT NULL DEFAULT 0,
    machine_clicks  BIGINT NOT NULL DEFAULT 0,
    first_open_at   BIGINT NOT NULL DEFAULT 0,
    first_click_at  BIGINT NOT NULL DEFAULT 0,
    unsubscribed_at BIGINT NOT NULL DEFAULT 0,
    complained_at   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, campaign_id, contact_id)
);

-- Clicks per recipient and link, for unique clicks per link.
CREATE TABLE tracking_clicks (
    org_id         TEXT NOT NULL,
    campaign_id    TEXT NOT NULL,
    contact_id     TEXT NOT NULL,
    idx            INTEGER NOT NULL,
    clicks         BIGINT NOT NULL DEFAULT 0,
    machine_clicks BIGINT NOT NULL DEFAULT 0,
    first_at       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, campaign_id, contact_id, idx)
);

-- Report counters per campaign, kind (open, click, unsubscribe,
-- complaint) and link (-1 when the kind has none): read in one query.
CREATE TABLE tracking_counters (
    org_id      TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    idx         INTEGER NOT NULL,
    total       BIGINT NOT NULL DEFAULT 0,
    machine     BIGINT NOT NULL DEFAULT 0,
    uniq        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, campaign_id, kind, idx)
);

-- Subscription state per contact and list ('' = all marketing mail),
-- kept here until package contact owns it (tracking.Subscriptions).
CREATE TABLE tracking_subscriptions (
    org_id     TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    list_id    TEXT NOT NULL,
    subscribed BOOLEAN NOT NULL,
    source     TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, contact_id, list_id)
);
