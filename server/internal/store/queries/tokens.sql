-- name: AccessTokenInsert :exec
INSERT INTO access_tokens (token_hash, kind, account_id, advisor_id, session_id, expire_time)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: AccessTokenGet :one
SELECT * FROM access_tokens
WHERE token_hash = $1 AND revoke_time IS NULL AND expire_time > now();

-- name: AccessTokenRevoke :exec
UPDATE access_tokens SET revoke_time = now()
WHERE token_hash = $1 AND revoke_time IS NULL;

-- name: ApiKeyGetBySecret :one
SELECT * FROM api_keys WHERE secret_hash = $1 AND revoke_time IS NULL;

-- A live token with what its caller needs, in one round trip.
-- name: AccessTokenResolve :one
SELECT t.kind, t.account_id, t.advisor_id, t.session_id, t.expire_time,
    a.display_name AS advisor_name, a.report_access, a.admin, a.disabled,
    s.customer_display_name
FROM access_tokens t
LEFT JOIN advisors a ON a.id = t.advisor_id
LEFT JOIN sessions s ON s.id = t.session_id
WHERE t.token_hash = $1 AND t.revoke_time IS NULL AND t.expire_time > now();

-- Revoke every live token of one kind reaching a session.
-- name: AccessTokenRevokeBySession :exec
UPDATE access_tokens SET revoke_time = now()
WHERE session_id = @session_id AND kind = @kind AND revoke_time IS NULL;
