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
-- Duplicates collapse: one event per provider id and source.
CREATE UNIQUE INDEX events_dedup ON events (source, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX events_source_received ON events (source, id);

-- One (event, route, action) to perform. `due_at` is the queue key: when a pending or
-- retrying delivery may be tried, or when an in-flight delivery's lease runs out; NULL once
-- the delivery has ended (succeeded or dead) and nothing is owed.
CREATE TABLE deliveries (
    id              text PRIMARY KEY,
    event_id        text NOT NULL REFERENCES events (id),
    route           text NOT NULL,
    action_index    integer NOT NULL,
    action          text NOT NULL,
    status          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    series_attempts integer NOT NULL DEFAULT 0,
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
