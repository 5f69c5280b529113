-- One message's events (GET /api/v1/events?message_id=…, the message view)
-- are found through their own index instead of a walk over every event of
-- the organization from the cursor on. Events without a message (workflow
-- steps, engagement) are left out of it. The index holds (org_id,
-- message_id, rowid), so the feed's rowid order comes with it.
--
-- events_org (org_id, id) served nothing since the feed moved to commit
-- order (0018): a cursor given as an event id is found by the primary key.
CREATE INDEX events_message ON events (org_id, message_id) WHERE message_id <> '';
DROP INDEX events_org;
