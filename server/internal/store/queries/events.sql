-- name: EventInsert :exec
INSERT INTO session_events (session_id, seq, client_message_id, event)
VALUES ($1, $2, $3, $4);

-- name: EventGetByClientMessageID :one
SELECT * FROM session_events WHERE session_id = $1 AND client_message_id = $2;

-- name: EventListAfter :many
SELECT * FROM session_events
WHERE session_id = $1 AND seq > $2
ORDER BY seq
LIMIT $3;
