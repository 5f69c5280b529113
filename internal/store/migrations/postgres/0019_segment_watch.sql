-- Watched dynamic segments (package segment, watch.go; docs/SEGMENTS.md,
-- "Entering a dynamic segment").
--
-- A dynamic segment's membership follows from its expression and the
-- clock, so "a contact entered it" is seen by comparing its members now
-- with the members seen last time, for the segments an active workflow's
-- segment_in trigger names. segment_entries holds what was seen (ids
-- only, no PHI); segment_watches holds, per watched segment, the
-- expression version the entries were taken with. The first sweep of a
-- segment (or of a new expression version) only records its members: a
-- baseline, not entries.

CREATE TABLE segment_watches (
    org_id     TEXT NOT NULL,
    segment_id TEXT NOT NULL,
    version    INTEGER NOT NULL,
    primed_at  BIGINT NOT NULL,
    swept_at   BIGINT NOT NULL,
    PRIMARY KEY (org_id, segment_id)
);

CREATE TABLE segment_entries (
    org_id     TEXT NOT NULL,
    segment_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    entered_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, segment_id, contact_id)
);
CREATE INDEX segment_entries_contact ON segment_entries (org_id, contact_id);
