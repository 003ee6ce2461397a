-- Sessions whose log grew past what the sequencer fed, among ids.
-- name: FeedDirtySessionsByID :many
SELECT s.id, s.account_id, s.portal_id, s.last_seq, coalesce(f.fed_seq, 0)::bigint AS fed_seq
FROM sessions s
LEFT JOIN feed_sessions f ON f.session_id = s.id
WHERE s.id = ANY(@ids::uuid[]) AND s.last_seq > coalesce(f.fed_seq, 0);

-- Every session whose log grew past what the sequencer fed (the sweep).
-- name: FeedDirtySessions :many
SELECT s.id, s.account_id, s.portal_id, s.last_seq, coalesce(f.fed_seq, 0)::bigint AS fed_seq
FROM sessions s
LEFT JOIN feed_sessions f ON f.session_id = s.id
WHERE s.last_seq > coalesce(f.fed_seq, 0)
LIMIT @max_sessions;

-- The periodic sweep: only sessions that can still grow or just ended (a
-- new leader sweeps everything once with FeedDirtySessions).
-- name: FeedDirtySessionsRecent :many
SELECT s.id, s.account_id, s.portal_id, s.last_seq, coalesce(f.fed_seq, 0)::bigint AS fed_seq
FROM sessions s
LEFT JOIN feed_sessions f ON f.session_id = s.id
WHERE (s.end_time IS NULL OR s.end_time > now() - interval '1 hour')
  AND s.last_seq > coalesce(f.fed_seq, 0)
LIMIT @max_sessions;

-- The events of several sessions in seq ranges (from, to].
-- name: FeedEventsInRanges :many
SELECT e.session_id, e.seq, e.event, e.create_time
FROM session_events e
JOIN (
    SELECT unnest(@session_ids::uuid[]) AS session_id,
           unnest(@from_seqs::bigint[]) AS from_seq,
           unnest(@to_seqs::bigint[]) AS to_seq
) AS r ON e.session_id = r.session_id AND e.seq > r.from_seq AND e.seq <= r.to_seq
ORDER BY e.session_id, e.seq;

-- name: FeedAccountsEnsure :exec
INSERT INTO feed_accounts (account_id)
SELECT unnest(@account_ids::uuid[])
ON CONFLICT DO NOTHING;

-- name: FeedAccountsLock :many
SELECT account_id, last_pos FROM feed_accounts
WHERE account_id = ANY(@account_ids::uuid[])
ORDER BY account_id
FOR UPDATE;

-- name: FeedAccountsSetLastPos :exec
UPDATE feed_accounts SET last_pos = v.last_pos
FROM (
    SELECT unnest(@account_ids::uuid[]) AS account_id, unnest(@last_pos::bigint[]) AS last_pos
) AS v
WHERE feed_accounts.account_id = v.account_id;

-- name: FeedInsertBatch :exec
INSERT INTO account_feed (account_id, pos, session_id, seq)
SELECT unnest(@account_ids::uuid[]), unnest(@positions::bigint[]),
       unnest(@session_ids::uuid[]), unnest(@seqs::bigint[]);

-- name: FeedSessionsAdvance :exec
INSERT INTO feed_sessions (session_id, fed_seq)
SELECT unnest(@session_ids::uuid[]), unnest(@fed_seqs::bigint[])
ON CONFLICT (session_id) DO UPDATE SET fed_seq = excluded.fed_seq;

-- One page of an account's feed after a position, with the retention
-- watermark read in the same statement (the same snapshot), so a page is
-- never silently missing deleted events.
-- name: FeedListAfter :many
SELECT f.pos, s.portal_id, e.event,
    (SELECT fa.trimmed_pos FROM feed_accounts fa WHERE fa.account_id = @account_id)::bigint AS trimmed_pos
FROM account_feed f
JOIN session_events e ON e.session_id = f.session_id AND e.seq = f.seq
JOIN sessions s ON s.id = f.session_id
WHERE f.account_id = @account_id AND f.pos > @after_pos
ORDER BY f.pos
LIMIT @max_rows;

-- name: FeedAccountGet :one
SELECT * FROM feed_accounts WHERE account_id = $1;

-- Retention: ended sessions whose log is older than their account keeps
-- and fully sequenced (so positions are never handed to deleted events).
-- name: RetentionExpiredSessions :many
SELECT s.id, s.account_id
FROM sessions s
JOIN accounts a ON a.id = s.account_id
JOIN feed_sessions f ON f.session_id = s.id AND f.fed_seq = s.last_seq
WHERE a.chat_log_retention_days > 0
  AND s.end_time IS NOT NULL
  AND s.end_time < now() - make_interval(days => a.chat_log_retention_days)
  AND s.log_delete_time IS NULL
LIMIT @max_sessions;

-- name: RetentionMaxPositions :many
SELECT account_id, max(pos)::bigint AS max_pos FROM account_feed
WHERE session_id = ANY(@session_ids::uuid[])
GROUP BY account_id;

-- name: RetentionRaiseTrimmed :exec
UPDATE feed_accounts SET trimmed_pos = greatest(trimmed_pos, @trimmed_pos::bigint)
WHERE account_id = @account_id;

-- A session's events and their feed rows (no foreign key ties them: see
-- migration 00007). Counts the events.
-- name: RetentionDeleteEvents :execrows
WITH feed AS (
    DELETE FROM account_feed WHERE session_id = ANY(@session_ids::uuid[])
)
DELETE FROM session_events WHERE session_id = ANY(@session_ids::uuid[]);

-- name: RetentionDeleteDeliveries :exec
DELETE FROM webhook_deliveries
WHERE session_id = ANY(@session_ids::uuid[]) AND state <> 1;

-- name: RetentionMarkDeleted :exec
UPDATE sessions SET log_delete_time = now() WHERE id = ANY(@session_ids::uuid[]);

-- name: AccountSetRetention :exec
UPDATE accounts SET chat_log_retention_days = $2 WHERE id = $1;
