-- Delivery scheduling (package delivery). One row per destination domain and
-- parallel slot. armed_at says a delivery job for the slot has been inserted
-- and has not yet started claiming (0: none), so a burst of submissions to
-- one domain inserts one job, and a submission that commits after the job
-- started arms the slot again. busy_until is the lease of the batch the slot
-- is delivering (0: idle), which bounds parallel batches per domain. The
-- window columns of slot 0 count claims per minute for the per-domain rate
-- limit.
CREATE TABLE delivery_slots (
    domain       TEXT NOT NULL,
    slot         INTEGER NOT NULL,
    armed_at     INTEGER NOT NULL DEFAULT 0,
    busy_until   INTEGER NOT NULL DEFAULT 0,
    window_start INTEGER NOT NULL DEFAULT 0,
    window_count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (domain, slot)
);
CREATE INDEX delivery_slots_armed ON delivery_slots (armed_at) WHERE armed_at > 0;

-- The sweep finds retries that came due and leases that expired without
-- walking the queued backlog.
CREATE INDEX recipients_retry ON recipients (state, next_attempt_at) WHERE state IN ('deferred', 'sending');

-- Key rotation re-encrypts the demo inbox like any sealed table.
CREATE INDEX demo_messages_dek ON demo_messages (org_id, dek_version);
