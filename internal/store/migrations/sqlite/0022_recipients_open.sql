-- recipients_org_state (org_id, state) indexed every recipient ever kept,
-- delivered or not, so the queue-depth gauge (QueueDepth, every metrics
-- scrape) walked all of them, and every delivery moved an entry within it.
-- Only open recipients — queued, sending, deferred, held — are looked up by
-- state (the gauge; undelivered mail of a sender domain): the index now
-- holds only those, and a recipient leaves it when its delivery ends.
-- Queries name the index's condition exactly (state IN (…), as below), so
-- SQLite can prove it covers them.
DROP INDEX recipients_org_state;
CREATE INDEX recipients_open ON recipients (org_id, state) WHERE state IN ('queued', 'sending', 'deferred', 'held');
