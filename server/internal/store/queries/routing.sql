-- Code and web mode: session codes, and advisors online.

-- Serializes one advisor's code creations, so that the bound on live codes
-- holds under concurrent calls.
-- name: AdvisorLockForCodes :one
SELECT id FROM advisors WHERE id = $1 FOR NO KEY UPDATE;

-- name: SessionCodeDeleteExpired :exec
DELETE FROM session_codes
WHERE expire_time <= now() AND (advisor_id = @advisor_id OR portal_id = @portal_id);

-- name: SessionCodeCountLive :one
SELECT count(*) FROM session_codes WHERE advisor_id = $1 AND expire_time > now();

-- No row when the code is taken (live) on this portal.
-- name: SessionCodeInsert :one
INSERT INTO session_codes (portal_id, code, advisor_id, customer_display_name, expire_time)
VALUES (@portal_id, @code, @advisor_id, @customer_display_name, now() + make_interval(secs => @ttl_seconds::float8))
ON CONFLICT (portal_id, code) DO NOTHING
RETURNING *;

-- Use a live code: it is deleted, so it works once. No row when the code
-- is unknown, expired, or its advisor no longer serves the portal.
-- name: SessionCodeUse :one
DELETE FROM session_codes c
WHERE c.portal_id = @portal_id AND c.code = @code AND c.expire_time > now()
  AND EXISTS (
      SELECT 1 FROM advisors a
      JOIN portal_advisors pa ON pa.advisor_id = a.id AND pa.portal_id = c.portal_id
      WHERE a.id = c.advisor_id AND NOT a.disabled
  )
RETURNING c.advisor_id, c.customer_display_name;

-- name: SessionCodeListByAdvisor :many
SELECT * FROM session_codes
WHERE advisor_id = $1 AND expire_time > now()
ORDER BY expire_time, code;

-- name: AdvisorPresenceInsert :exec
INSERT INTO advisor_presence (watch_id, advisor_id, expire_time)
VALUES (@watch_id, @advisor_id, now() + make_interval(secs => @ttl_seconds::float8));

-- Refresh a replica's watches, putting back any whose row went (expired
-- while the database was out of reach, say).
-- name: AdvisorPresenceRefresh :exec
INSERT INTO advisor_presence (watch_id, advisor_id, expire_time)
SELECT unnest(@watch_ids::uuid[]), unnest(@advisor_ids::uuid[]), now() + make_interval(secs => @ttl_seconds::float8)
ON CONFLICT (watch_id) DO UPDATE SET expire_time = excluded.expire_time;

-- name: AdvisorPresenceDelete :exec
DELETE FROM advisor_presence WHERE watch_id = ANY(@watch_ids::uuid[]);

-- name: AdvisorPresenceDeleteExpired :exec
DELETE FROM advisor_presence WHERE expire_time <= now();

-- The enabled advisors of a portal who are online, by name; available
-- when they lead no active session.
-- name: PortalOnlineAdvisors :many
SELECT a.id, a.display_name,
    NOT EXISTS (SELECT 1 FROM sessions s WHERE s.advisor_id = a.id AND s.state = 2) AS available
FROM advisors a
JOIN portal_advisors pa ON pa.advisor_id = a.id AND pa.portal_id = @portal_id
WHERE NOT a.disabled
  AND EXISTS (SELECT 1 FROM advisor_presence p WHERE p.advisor_id = a.id AND p.expire_time > now())
ORDER BY a.display_name, a.id
LIMIT 200;

-- One advisor as a web-mode portal sees them; no row when the advisor is
-- not an enabled advisor of the portal.
-- name: PortalAdvisorStatus :one
SELECT a.id, a.display_name,
    EXISTS (SELECT 1 FROM advisor_presence p WHERE p.advisor_id = a.id AND p.expire_time > now()) AS online
FROM advisors a
JOIN portal_advisors pa ON pa.advisor_id = a.id AND pa.portal_id = @portal_id
WHERE a.id = @advisor_id AND NOT a.disabled;

-- The online advisor of a portal a "first available" customer goes to: a
-- free one, else the one with the fewest sessions (active, then waiting
-- for them); ties go at random, so that customers spread.
-- name: PortalFirstAvailableAdvisor :one
SELECT a.id, a.display_name
FROM advisors a
JOIN portal_advisors pa ON pa.advisor_id = a.id AND pa.portal_id = @portal_id
WHERE NOT a.disabled
  AND EXISTS (SELECT 1 FROM advisor_presence p WHERE p.advisor_id = a.id AND p.expire_time > now())
ORDER BY
    (SELECT count(*) FROM sessions s WHERE s.advisor_id = a.id AND s.state = 2),
    (SELECT count(*) FROM sessions s WHERE s.waiting_for_advisor_id = a.id AND s.state = 1),
    random()
LIMIT 1;

-- name: PortalListByAdvisor :many
SELECT p.* FROM portals p
JOIN portal_advisors pa ON pa.portal_id = p.id AND pa.advisor_id = $1
ORDER BY p.display_name, p.id;

-- Withdraw one of an advisor's live codes; no row when there is none.
-- name: SessionCodeRevoke :execrows
DELETE FROM session_codes
WHERE portal_id = @portal_id AND code = @code AND advisor_id = @advisor_id AND expire_time > now();

-- Sessions waiting for an advisor who is not online.
-- name: SessionListWaitingForOfflineAdvisors :many
SELECT s.id, s.waiting_for_advisor_id::uuid AS advisor_id FROM sessions s
WHERE s.state = 1 AND s.waiting_for_advisor_id IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM advisor_presence p
      WHERE p.advisor_id = s.waiting_for_advisor_id AND p.expire_time > now()
  )
ORDER BY s.create_time
LIMIT 500;

-- Send a session waiting for an advisor who is still offline back to its
-- portal's queue; no row if it was picked up, or the advisor came back.
-- name: SessionReleaseToQueue :one
UPDATE sessions s SET waiting_for_advisor_id = NULL
WHERE s.id = @id AND s.state = 1 AND s.waiting_for_advisor_id = @advisor_id::uuid
  AND NOT EXISTS (
      SELECT 1 FROM advisor_presence p
      WHERE p.advisor_id = @advisor_id::uuid AND p.expire_time > now()
  )
RETURNING *;
