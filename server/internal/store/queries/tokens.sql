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
