-- The current schema in one piece: what a new database is created from. Every change here
-- comes with a migration (NNNN_*.sql) that brings an existing database to the same shape;
-- tests/integration/test_migrations.py checks that both roads lead to the same schema.

-- Events are immutable: the raw request as received, plus what the provider said it is.
-- Headers and query are `json`, not `jsonb`: kept as received, never queried into, and
-- `json` accepts every string (jsonb refuses \u0000, which a query string can carry).
CREATE TABLE events (
    id           text PRIMARY KEY,
    source       text NOT NULL,
    external_id  text,
    type         text,
    received_at  timestamptz NOT NULL,
    content_type text,
    headers      json NOT NULL,
    query        json NOT NULL,
    body         bytea NOT NULL
);
CREATE INDEX events_source_received ON events (source, id);
CREATE INDEX events_received ON events (received_at);

-- Duplicates collapse: one event per provider id and source, remembered for the dedup
-- retention period (independently of how long the event itself is kept).
CREATE TABLE dedup_keys (
    source      text NOT NULL,
    external_id text NOT NULL,
    event_id    text NOT NULL,              -- the first event with this id (may be pruned)
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (source, external_id)
);
CREATE INDEX dedup_keys_created ON dedup_keys (created_at);

-- One (event, route, action) to perform. `due_at` is the queue key: when a pending or
-- retrying delivery may be tried, or when an in-flight delivery's lease runs out; NULL once
-- the delivery has ended (succeeded or dead) and nothing is owed. Workers claim with
-- `FOR UPDATE SKIP LOCKED` over `deliveries_due`.
CREATE TABLE deliveries (
    id              text PRIMARY KEY,
    event_id        text NOT NULL REFERENCES events (id),
    route           text NOT NULL,
    action_index    integer NOT NULL,
    action          text NOT NULL,
    status          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    series_attempts integer NOT NULL DEFAULT 0,
    progress        integer NOT NULL DEFAULT 0,  -- sends done in this series (multi-part)
    due_at          timestamptz,
    lease_owner     text,
    last_error      text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_status ON deliveries (status, event_id);

CREATE TABLE attempts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id      text NOT NULL REFERENCES deliveries (id),
    number           integer NOT NULL,
    started_at       timestamptz NOT NULL,
    duration_ms      double precision NOT NULL,
    outcome          text NOT NULL,
    status_code      integer,
    response_excerpt text,
    error            text
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, number);

-- Small settings Hookline keeps for itself (e.g. the generated API token's hash).
CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
