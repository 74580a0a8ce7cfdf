-- The PostgreSQL store's queries, loaded once by name (`-- name: <name>` starts each one).
-- Statuses are passed as parameters, so the Python enums stay the one source of truth.

-- name: ingest
-- A whole group of events in one statement (group commit): claim each event's dedup key,
-- store the events whose key was free (or that have none) with their deliveries, and wake
-- the workers in every process. One row per input event: whether it was stored and, for a
-- duplicate of a key committed before this statement began, the event it duplicates.
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                         $6::text[], $7::json[], $8::json[], $9::bytea[])
        AS t (id, source, external_id, type, received_at, content_type, headers, query, body)
), claimed AS (
    INSERT INTO dedup_keys (source, external_id, event_id, created_at)
    SELECT source, external_id, id, received_at FROM input WHERE external_id IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING event_id
), stored AS (
    INSERT INTO events (id, source, external_id, type, received_at, content_type, headers,
                        query, body)
    SELECT id, source, external_id, type, received_at, content_type, headers, query, body
    FROM input WHERE external_id IS NULL OR id IN (SELECT event_id FROM claimed)
    RETURNING id
), owed AS (
    INSERT INTO deliveries (id, event_id, route, action_index, action, status, due_at,
                            last_error, created_at, updated_at)
    SELECT d.id, d.event_id, d.route, d.action_index, d.action, d.status, d.due_at,
           d.last_error, d.created_at, d.created_at
    FROM unnest($10::text[], $11::text[], $12::text[], $13::int[], $14::text[], $15::text[],
                $16::timestamptz[], $17::text[], $18::timestamptz[])
        AS d (id, event_id, route, action_index, action, status, due_at, last_error, created_at)
    WHERE d.event_id IN (SELECT id FROM stored)
    RETURNING due_at
), woken AS (
    SELECT pg_notify('hookline_work', '') WHERE EXISTS (SELECT FROM owed WHERE due_at IS NOT NULL)
)
SELECT i.id, s.id IS NOT NULL AS stored, k.event_id AS existing,
       (SELECT count(*) FROM woken) AS woken
FROM input i
LEFT JOIN stored s ON s.id = i.id
LEFT JOIN dedup_keys k ON s.id IS NULL AND k.source = i.source AND k.external_id = i.external_id;

-- name: find_keys
-- The events that hold these dedup keys (for duplicates of a key committed concurrently).
SELECT source, external_id, event_id FROM dedup_keys
WHERE (source, external_id) IN (SELECT * FROM unnest($1::text[], $2::text[]));

-- name: claim
-- Lease up to $4 due deliveries. SKIP LOCKED lets any number of workers claim side by side,
-- each taking rows no other transaction holds; the event comes along in the same statement.
WITH claimed AS (
    UPDATE deliveries SET status = $5, lease_owner = $1, due_at = $2, updated_at = $3
    WHERE id IN (
        SELECT id FROM deliveries WHERE due_at <= $3 ORDER BY due_at LIMIT $4
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, event_id, route, action_index, action, status, attempts, series_attempts,
              progress, due_at, last_error, created_at, updated_at
)
SELECT c.*, e.source, e.external_id, e.type, e.received_at, e.content_type, e.headers,
       e.query, e.body
FROM claimed c JOIN events e ON e.id = c.event_id
ORDER BY c.id;

-- name: record_attempt
-- Move the delivery on if this worker still holds its lease, and keep the attempt either
-- way (a late attempt from a lost lease is history too). Returns whether the lease was held;
-- no row when the delivery does not exist.
WITH moved AS (
    UPDATE deliveries SET status = $3, attempts = attempts + 1,
        series_attempts = series_attempts + 1, due_at = $4, lease_owner = NULL,
        last_error = $5, updated_at = $6, progress = coalesce($13::int, progress)
    WHERE id = $1 AND lease_owner = $2
    RETURNING attempts
), numbered AS (
    SELECT attempts AS number, true AS owned FROM moved
    UNION ALL
    SELECT attempts + 1, false FROM deliveries
    WHERE id = $1 AND NOT EXISTS (SELECT FROM moved)
), kept AS (
    INSERT INTO attempts (delivery_id, number, started_at, duration_ms, outcome, status_code,
                          response_excerpt, error)
    SELECT $1::text, number, $7::timestamptz, $8::float8, $9::text, $10::int, $11::text,
           $12::text
    FROM numbered
)
SELECT owned FROM numbered;

-- name: renew_leases
UPDATE deliveries SET due_at = $3, updated_at = $4
WHERE id = ANY($1::text[]) AND lease_owner = $2 AND status = $5
RETURNING id;

-- name: next_due_at
SELECT min(due_at) FROM deliveries;

-- name: event
SELECT id, source, external_id, type, received_at, content_type, headers, query, body
FROM events WHERE id = $1;

-- name: deliveries_of_event
SELECT id, event_id, route, action_index, action, status, attempts, series_attempts, due_at,
       last_error, created_at, updated_at
FROM deliveries WHERE event_id = $1 ORDER BY id;

-- name: delivery
SELECT id, event_id, route, action_index, action, status, attempts, series_attempts, due_at,
       last_error, created_at, updated_at
FROM deliveries WHERE id = $1;

-- name: attempts_of
SELECT delivery_id, number, started_at, duration_ms, outcome, status_code, response_excerpt,
       error
FROM attempts WHERE delivery_id = ANY($1::text[]) ORDER BY delivery_id, number;

-- name: lock_event
SELECT true FROM events WHERE id = $1 FOR KEY SHARE;

-- name: add_deliveries
-- The same columns as `ingest`'s deliveries; wakes the workers when any is due.
WITH owed AS (
    INSERT INTO deliveries (id, event_id, route, action_index, action, status, due_at,
                            last_error, created_at, updated_at)
    SELECT d.id, d.event_id, d.route, d.action_index, d.action, d.status, d.due_at,
           d.last_error, d.created_at, d.created_at
    FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[],
                $7::timestamptz[], $8::text[], $9::timestamptz[])
        AS d (id, event_id, route, action_index, action, status, due_at, last_error, created_at)
    RETURNING due_at
)
SELECT pg_notify('hookline_work', '') WHERE EXISTS (SELECT FROM owed WHERE due_at IS NOT NULL);

-- name: lock_delivery
SELECT status FROM deliveries WHERE id = $1 FOR UPDATE;

-- name: replay_delivery
UPDATE deliveries SET status = $2, series_attempts = 0, progress = 0, due_at = $3,
    lease_owner = NULL, updated_at = $3
WHERE id = $1;

-- name: notify
SELECT pg_notify('hookline_work', '');

-- name: get_meta
SELECT value FROM meta WHERE key = $1;

-- name: put_meta
INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING;

-- name: try_prune_lock
-- One pruner at a time across all processes; the others skip this round.
SELECT pg_try_advisory_xact_lock(4741236501);

-- name: prune_events
-- Up to $2 events received before $1 whose deliveries all succeeded before $1 (or that owe
-- none), with their deliveries and attempts. The deletes re-check the delivery's status, so
-- one replayed meanwhile makes the statement fail (foreign key) rather than vanish.
WITH doomed AS (
    SELECT e.id FROM events e
    WHERE e.received_at < $1
      AND NOT EXISTS (
          SELECT FROM deliveries d
          WHERE d.event_id = e.id AND (d.status <> $3 OR d.updated_at >= $1)
      )
    ORDER BY e.received_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), gone_attempts AS (
    DELETE FROM attempts a USING deliveries d
    WHERE a.delivery_id = d.id AND d.event_id IN (SELECT id FROM doomed)
      AND d.status = $3 AND d.updated_at < $1
), gone_deliveries AS (
    DELETE FROM deliveries d
    WHERE d.event_id IN (SELECT id FROM doomed) AND d.status = $3 AND d.updated_at < $1
)
DELETE FROM events WHERE id IN (SELECT id FROM doomed);

-- name: prune_dedup
DELETE FROM dedup_keys WHERE (source, external_id) IN (
    SELECT source, external_id FROM dedup_keys WHERE created_at < $1
    ORDER BY created_at LIMIT $2
    FOR UPDATE SKIP LOCKED
);
