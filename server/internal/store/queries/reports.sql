-- A page of an account's ended sessions, newest first, by keyset
-- (end_time, id). Every filter is optional; the account is not. Run it
-- with store.CustomPlan so that PostgreSQL plans it for the filters given
-- (a generic plan cannot use the trigram index for an optional search).
-- name: ReportList :many
SELECT sqlc.embed(s), p.slug AS portal_slug
FROM sessions s
JOIN portals p ON p.id = s.portal_id
WHERE s.account_id = @account_id::uuid
  AND s.state = 3
  AND (sqlc.narg('end_from')::timestamptz IS NULL OR s.end_time >= sqlc.narg('end_from')::timestamptz)
  AND (sqlc.narg('end_to')::timestamptz IS NULL OR s.end_time < sqlc.narg('end_to')::timestamptz)
  AND (sqlc.narg('portal_id')::uuid IS NULL OR s.portal_id = sqlc.narg('portal_id')::uuid)
  AND (sqlc.narg('advisor_id')::uuid IS NULL OR EXISTS (
        SELECT 1 FROM session_advisors sa
        WHERE sa.session_id = s.id AND sa.advisor_id = sqlc.narg('advisor_id')::uuid))
  AND (@outcome::smallint = 0 OR s.outcome = @outcome::smallint)
  AND (@kind::smallint = 0 OR s.kind = @kind::smallint)
  AND (@query_pattern::text = ''
       OR (s.customer_display_name || ' ' || s.customer_email) ILIKE @query_pattern::text)
  AND (sqlc.narg('session_id')::uuid IS NULL OR s.id = sqlc.narg('session_id')::uuid)
  AND (sqlc.narg('before_end_time')::timestamptz IS NULL
       OR (s.end_time, s.id) < (sqlc.narg('before_end_time')::timestamptz, @before_id::uuid))
ORDER BY s.end_time DESC, s.id DESC
LIMIT @page_limit;

-- One session of an account with its portal's slug.
-- name: ReportGet :one
SELECT sqlc.embed(s), p.slug AS portal_slug
FROM sessions s
JOIN portals p ON p.id = s.portal_id
WHERE s.id = @id::uuid AND s.account_id = @account_id::uuid;

-- The advisors of several sessions, lead first then by join time.
-- name: ReportSessionAdvisors :many
SELECT sa.session_id, sa.lead, sa.join_time, sqlc.embed(a)
FROM session_advisors sa
JOIN advisors a ON a.id = sa.advisor_id
WHERE sa.session_id = ANY(@session_ids::uuid[])
ORDER BY sa.session_id, sa.lead DESC, sa.join_time;

-- The log events of several sessions that are not chat messages (chat
-- messages always carry a client message id): joins, notices, upgrade
-- steps, transfers, the end. Reports take their milestones from these.
-- name: ReportMilestoneEvents :many
SELECT session_id, seq, event
FROM session_events
WHERE session_id = ANY(@session_ids::uuid[]) AND client_message_id IS NULL
ORDER BY session_id, seq;

-- Advisors of an account by id (earlier leads no longer in the session).
-- name: ReportAdvisorsByID :many
SELECT * FROM advisors
WHERE account_id = @account_id::uuid AND id = ANY(@ids::uuid[]);
