-- name: EventInsert :exec
INSERT INTO session_events (session_id, seq, sender, client_message_id, event)
VALUES ($1, $2, $3, $4, $5);

-- name: EventListAfter :many
SELECT * FROM session_events
WHERE session_id = $1 AND seq > $2
ORDER BY seq
LIMIT $3;

-- Lock the sessions a batch appends to, in id order so that concurrent
-- batches never deadlock. NO KEY UPDATE, the lock the update of last_seq
-- takes anyway: appends to a session still wait for each other, but rows
-- that merely reference the session (the account feed's, checked with KEY
-- SHARE) are not held up by an append, nor an append by them.
-- name: SessionLockForAppend :many
SELECT id, state, last_seq FROM sessions
WHERE id = ANY(@ids::uuid[])
ORDER BY id
FOR NO KEY UPDATE;

-- name: EventListByClientMessageIDs :many
SELECT e.* FROM session_events e
JOIN (
    SELECT unnest(@session_ids::uuid[]) AS session_id,
           unnest(@senders::text[]) AS sender,
           unnest(@client_message_ids::text[]) AS client_message_id
) AS k ON e.session_id = k.session_id AND e.sender = k.sender
      AND e.client_message_id = k.client_message_id;

-- name: EventInsertBatch :exec
INSERT INTO session_events (session_id, seq, sender, client_message_id, event)
SELECT unnest(@session_ids::uuid[]), unnest(@seqs::bigint[]), unnest(@senders::text[]),
       nullif(unnest(@client_message_ids::text[]), ''), unnest(@events::bytea[]);

-- One round trip for every notification of a transaction.
-- name: NotifyAll :exec
SELECT pg_notify(@channel::text, p) FROM unnest(@payloads::text[]) AS p;

-- name: SessionSetLastSeqBatch :exec
UPDATE sessions SET last_seq = v.last_seq
FROM (
    SELECT unnest(@ids::uuid[]) AS id, unnest(@last_seqs::bigint[]) AS last_seq
) AS v
WHERE sessions.id = v.id;
