-- name: SessionInsert :one
INSERT INTO sessions (
    account_id, portal_id, portal_mode, kind, state,
    customer_display_name, customer_email, customer_problem,
    customer_device, customer_os, customer_user_agent, start_request_id,
    start_request_hash, waiting_for_advisor_id
) VALUES (
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14
)
ON CONFLICT (portal_id, start_request_id) DO NOTHING
RETURNING *;

-- name: SessionGetByStartRequest :one
SELECT * FROM sessions WHERE portal_id = $1 AND start_request_id = $2;

-- name: SessionGet :one
SELECT * FROM sessions WHERE id = $1;

-- name: SessionGetForUpdate :one
SELECT * FROM sessions WHERE id = $1 FOR UPDATE;

-- The waiting sessions an advisor may pick up: those of the portals'
-- queues, and those waiting for this advisor.
-- name: SessionListWaiting :many
SELECT * FROM sessions
WHERE state = 1 AND portal_id = ANY(@portal_ids::uuid[])
  AND (waiting_for_advisor_id IS NULL OR waiting_for_advisor_id = @advisor_id::uuid)
ORDER BY create_time, id
LIMIT @page_limit;

-- name: SessionCountWaiting :one
SELECT count(*) FROM sessions
WHERE state = 1 AND portal_id = ANY(@portal_ids::uuid[])
  AND (waiting_for_advisor_id IS NULL OR waiting_for_advisor_id = @advisor_id::uuid);

-- name: SessionGetMany :many
SELECT * FROM sessions WHERE id = ANY(@ids::uuid[]);

-- name: SessionListByAdvisor :many
SELECT s.* FROM sessions s
JOIN session_advisors sa ON sa.session_id = s.id
WHERE sa.advisor_id = @advisor_id
  AND (@state::smallint = 0 OR s.state = @state::smallint)
  AND (sqlc.narg('before_create_time')::timestamptz IS NULL
       OR (s.create_time, s.id) < (sqlc.narg('before_create_time')::timestamptz, @before_id::uuid))
ORDER BY s.create_time DESC, s.id DESC
LIMIT @page_limit;

-- Claim a waiting session: the conditional update lets exactly one advisor
-- win a pick-up race, and no one but the advisor a session waits for take
-- it.
-- name: SessionPickUp :one
UPDATE sessions
SET state = 2, advisor_id = @advisor_id, pick_up_time = now(), kind = @kind
WHERE id = @id AND state = 1
  AND (waiting_for_advisor_id IS NULL OR waiting_for_advisor_id = @advisor_id)
RETURNING *;

-- name: SessionEnd :one
UPDATE sessions
SET state = 3, end_time = now(), outcome = @outcome, notes = @notes
WHERE id = @id AND state <> 3
RETURNING *;

-- name: SessionAdvisorInsert :exec
INSERT INTO session_advisors (session_id, advisor_id, lead) VALUES ($1, $2, $3)
ON CONFLICT (session_id, advisor_id) DO UPDATE SET lead = excluded.lead;

-- An invitation adds an advisor who does not take part yet; none is
-- inserted (0 rows) for one who does.
-- name: SessionAdvisorInvite :execrows
INSERT INTO session_advisors (session_id, advisor_id, lead) VALUES ($1, $2, false)
ON CONFLICT (session_id, advisor_id) DO NOTHING;

-- name: SessionAdvisorDelete :exec
DELETE FROM session_advisors WHERE session_id = $1 AND advisor_id = $2;

-- Hand an active session over: the conditional update lets only its
-- current lead do it, and only once when two transfers race.
-- name: SessionTransfer :one
UPDATE sessions SET advisor_id = @to_advisor_id::uuid
WHERE id = @id AND state = 2 AND advisor_id = @from_advisor_id::uuid
RETURNING *;

-- name: SessionAdvisorList :many
SELECT * FROM session_advisors WHERE session_id = $1 ORDER BY lead DESC, join_time;

-- A session with one advisor's relation to it, in one round trip: every
-- session RPC and stream asks this first. participant_lead is NULL when the
-- advisor does not take part.
-- name: SessionAccessGet :one
SELECT sqlc.embed(s),
    sa.lead AS participant_lead,
    EXISTS (
        SELECT 1 FROM portal_advisors pa
        WHERE pa.portal_id = s.portal_id AND pa.advisor_id = @advisor_id::uuid
    ) AS serves_portal
FROM sessions s
LEFT JOIN session_advisors sa ON sa.session_id = s.id AND sa.advisor_id = @advisor_id::uuid
WHERE s.id = @id::uuid;

-- The invited (non-lead) advisors of several sessions, for a page of them.
-- name: SessionInvitedAdvisors :many
SELECT session_id, advisor_id FROM session_advisors
WHERE session_id = ANY(@session_ids::uuid[]) AND NOT lead
ORDER BY session_id, join_time;

-- Where a waiting session stands in its portal's queue: how many waited
-- before it, and how many wait in all.
-- name: SessionQueuePosition :one
SELECT
    count(*) FILTER (WHERE (s.create_time, s.id) < (@create_time::timestamptz, @id::uuid)) AS ahead,
    count(*) AS waiting
FROM sessions s
WHERE s.portal_id = @portal_id AND s.state = 1 AND s.waiting_for_advisor_id IS NULL;

-- The same for a session waiting for one advisor, in that advisor's queue.
-- name: SessionQueuePositionForAdvisor :one
SELECT
    count(*) FILTER (WHERE (s.create_time, s.id) < (@create_time::timestamptz, @id::uuid)) AS ahead,
    count(*) AS waiting
FROM sessions s
WHERE s.waiting_for_advisor_id = @advisor_id AND s.state = 1;
