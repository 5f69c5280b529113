-- The event feed's cursor is the row's position in commit order, not its id.
-- Ids are time-ordered, but a transaction that took an id earlier can commit
-- after one that took a later id, and a poller past the later one would
-- never see it. On SQLite every write goes through one writer, so rowid
-- order is commit order; an index on org_id holds (org_id, rowid).
CREATE INDEX events_feed ON events (org_id);
