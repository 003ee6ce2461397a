-- name: WebhookEndpointInsert :one
INSERT INTO webhook_endpoints (account_id, url, description, event_types, secret)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: WebhookEndpointGet :one
SELECT * FROM webhook_endpoints WHERE id = $1 AND account_id = $2;

-- name: WebhookEndpointList :many
SELECT * FROM webhook_endpoints WHERE account_id = $1 ORDER BY create_time, id;

-- name: WebhookEndpointUpdate :one
UPDATE webhook_endpoints SET
    url = coalesce(sqlc.narg('url'), url),
    description = coalesce(sqlc.narg('description'), description),
    event_types = CASE WHEN @set_event_types::boolean THEN @event_types::smallint[] ELSE event_types END,
    disabled = coalesce(sqlc.narg('disabled'), disabled),
    disabled_reason = CASE WHEN sqlc.narg('disabled')::boolean IS NULL THEN disabled_reason
                           WHEN sqlc.narg('disabled')::boolean THEN 'disabled by an admin' ELSE '' END,
    update_time = now()
WHERE id = @id AND account_id = @account_id
RETURNING *;

-- name: WebhookEndpointDelete :execrows
DELETE FROM webhook_endpoints WHERE id = $1 AND account_id = $2;

-- name: WebhookEndpointRotate :one
UPDATE webhook_endpoints SET
    previous_secret = secret,
    previous_secret_expire_time = @previous_secret_expire_time,
    secret = @secret,
    update_time = now()
WHERE id = @id AND account_id = @account_id
RETURNING *;

-- name: WebhookEndpointDisable :exec
UPDATE webhook_endpoints SET disabled = true, disabled_reason = @reason, update_time = now()
WHERE id = @id;

-- The enabled endpoints of some accounts, for the outbox.
-- name: WebhookEndpointsEnabledFor :many
SELECT id, account_id, event_types FROM webhook_endpoints
WHERE account_id = ANY(@account_ids::uuid[]) AND NOT disabled;

-- name: WebhookDeliveryInsertBatch :exec
INSERT INTO webhook_deliveries (endpoint_id, account_id, session_id, message_id, event_type, feed_pos, body)
SELECT unnest(@endpoint_ids::uuid[]), unnest(@account_ids::uuid[]), unnest(@session_ids::uuid[]),
       unnest(@message_ids::text[]), unnest(@event_types::smallint[]), unnest(@feed_positions::bigint[]),
       unnest(@bodies::bytea[]);

-- Lease endpoints with due deliveries that no live worker holds.
-- name: WebhookEndpointsClaim :many
UPDATE webhook_endpoints SET lease_owner = @owner, lease_until = now() + make_interval(secs => @lease_seconds::double precision)
WHERE id IN (
    SELECT e.id FROM webhook_endpoints e
    WHERE NOT e.disabled
      AND (e.lease_until IS NULL OR e.lease_until < now() OR e.lease_owner = @owner)
      AND EXISTS (
          SELECT 1 FROM webhook_deliveries d
          WHERE d.endpoint_id = e.id AND d.state = 1 AND d.next_attempt_time <= now()
      )
    ORDER BY e.id
    LIMIT @max_endpoints
    FOR UPDATE SKIP LOCKED
)
RETURNING id;

-- name: WebhookEndpointRenew :one
UPDATE webhook_endpoints SET lease_until = now() + make_interval(secs => @lease_seconds::double precision)
WHERE id = @id AND lease_owner = @owner AND NOT disabled
RETURNING id, url, secret, previous_secret, previous_secret_expire_time;

-- name: WebhookEndpointRelease :exec
UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = NULL
WHERE id = @id AND lease_owner = @owner;

-- name: WebhookEndpointsReleaseAll :exec
UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = NULL
WHERE lease_owner = @owner;

-- The endpoint's next pending delivery, in order.
-- name: WebhookDeliveryHead :one
SELECT * FROM webhook_deliveries
WHERE endpoint_id = $1 AND state = 1
ORDER BY id
LIMIT 1;

-- name: WebhookDeliveryFinish :exec
UPDATE webhook_deliveries SET state = @state, attempt_count = attempt_count + 1
WHERE id = @id;

-- name: WebhookDeliveryRetry :exec
UPDATE webhook_deliveries SET attempt_count = attempt_count + 1, next_attempt_time = @next_attempt_time
WHERE id = @id;

-- name: WebhookAttemptInsert :exec
INSERT INTO webhook_attempts (delivery_id, number, attempt_time, status_code, error, duration_ms)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: WebhookDeliveryList :many
SELECT * FROM webhook_deliveries
WHERE endpoint_id = @endpoint_id AND id < @before_id
ORDER BY id DESC
LIMIT @max_rows;

-- name: WebhookAttemptsFor :many
SELECT * FROM webhook_attempts WHERE delivery_id = ANY(@delivery_ids::bigint[])
ORDER BY delivery_id, number;

-- name: WebhookDeliveryGet :one
SELECT d.* FROM webhook_deliveries d
WHERE d.id = $1 AND d.account_id = $2;

-- name: WebhookDeliveryReplay :one
INSERT INTO webhook_deliveries (endpoint_id, account_id, session_id, message_id, event_type, feed_pos, body)
SELECT endpoint_id, account_id, session_id, message_id, event_type, feed_pos, body
FROM webhook_deliveries WHERE webhook_deliveries.id = $1
RETURNING *;
