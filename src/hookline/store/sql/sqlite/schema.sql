-- The current schema in one piece: what a new database is created from. Every change here
-- comes with a migration (NNNN_*.sql) that brings an existing database to the same shape;
-- tests/integration/test_migrations.py checks that both roads lead to the same schema.

-- Events are immutable: the raw request as received, plus what the provider said it is.
CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    source       TEXT NOT NULL,
    external_id  TEXT,
    type         TEXT,
    received_at  INTEGER NOT NULL,          -- unix milliseconds, UTC
    content_type TEXT,
    headers      TEXT NOT NULL,             -- JSON object, lower-case names
    query        TEXT NOT NULL,             -- JSON object
    body         BLOB NOT NULL
);
CREATE INDEX events_source_received ON events (source, id);
CREATE INDEX events_received ON events (received_at);

-- Duplicates collapse: one event per provider id and source, remembered for the dedup
-- retention period (independently of how long the event itself is kept).
CREATE TABLE dedup_keys (
    source      TEXT NOT NULL,
    external_id TEXT NOT NULL,
    event_id    TEXT NOT NULL,              -- the first event with this id (may be pruned)
    created_at  INTEGER NOT NULL,           -- unix milliseconds, UTC
    PRIMARY KEY (source, external_id)
) WITHOUT ROWID;
CREATE INDEX dedup_keys_created ON dedup_keys (created_at);

-- One (event, route, action) to perform. `due_at` is the queue key: when a pending or
-- retrying delivery may be tried, or when an in-flight delivery's lease runs out; NULL once
-- the delivery has ended (succeeded or dead) and nothing is owed.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events (id),
    route           TEXT NOT NULL,
    action_index    INTEGER NOT NULL,
    action          TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,  -- all attempts ever
    series_attempts INTEGER NOT NULL DEFAULT 0,  -- attempts since creation or last replay
    progress        INTEGER NOT NULL DEFAULT 0,  -- sends done in this series (multi-part)
    due_at          INTEGER,
    lease_owner     TEXT,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_status ON deliveries (status, event_id);

CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id      TEXT NOT NULL REFERENCES deliveries (id),
    number           INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_ms      REAL NOT NULL,
    outcome          TEXT NOT NULL,
    status_code      INTEGER,
    response_excerpt TEXT,
    error            TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, number);

-- Small settings Hookline keeps for itself (e.g. the generated API token's hash).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
