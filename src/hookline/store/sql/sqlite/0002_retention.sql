-- Retention: succeeded events are pruned after a while, but their provider ids must be
-- remembered for the dedup period, which may be longer or shorter. So the dedup key moves
-- out of `events` into its own small table, pruned on its own schedule.
CREATE TABLE dedup_keys (
    source      TEXT NOT NULL,
    external_id TEXT NOT NULL,
    event_id    TEXT NOT NULL,              -- the first event with this id (may be pruned)
    created_at  INTEGER NOT NULL,           -- unix milliseconds, UTC
    PRIMARY KEY (source, external_id)
) WITHOUT ROWID;
CREATE INDEX dedup_keys_created ON dedup_keys (created_at);
INSERT INTO dedup_keys (source, external_id, event_id, created_at)
    SELECT source, external_id, id, received_at FROM events WHERE external_id IS NOT NULL;
DROP INDEX events_dedup;
CREATE INDEX events_received ON events (received_at);
