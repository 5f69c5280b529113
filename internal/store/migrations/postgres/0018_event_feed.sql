-- The event feed's cursor is the row's position in commit order, not its id.
-- Ids are time-ordered, but a transaction that took an id earlier can commit
-- after one that took a later id, and a poller past the later one would
-- never see it. On PostgreSQL each row records its (top-level) transaction
-- id, and the feed returns only rows of transactions older than every
-- transaction still in progress (pg_snapshot_xmin), ordered by (xid, seq):
-- no row can later appear before a position already returned.
ALTER TABLE events ADD COLUMN seq BIGSERIAL;
ALTER TABLE events ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX events_feed ON events (org_id, xid, seq);
