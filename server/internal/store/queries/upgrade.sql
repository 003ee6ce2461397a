-- name: SigningKeyInsert :exec
INSERT INTO signing_keys (id, public_key, private_key, encrypted)
VALUES ($1, $2, $3, $4);

-- The current signing key: the newest.
-- name: SigningKeyCurrent :one
SELECT * FROM signing_keys ORDER BY create_time DESC, id DESC LIMIT 1;

-- name: SigningKeyGet :one
SELECT * FROM signing_keys WHERE id = $1;

-- name: SigningKeyCount :one
SELECT count(*) FROM signing_keys;

-- name: OpenerInsert :exec
INSERT INTO openers (id, session_id, key_id, device, os, handoff, offer_seq, create_time, expire_time)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: OpenerGet :one
SELECT * FROM openers WHERE id = $1;

-- The session's newest opener.
-- name: OpenerLatest :one
SELECT * FROM openers WHERE session_id = $1 ORDER BY offer_seq DESC LIMIT 1;

-- Redeem an opener: the conditional update lets exactly one of concurrent
-- redemptions win.
-- name: OpenerRedeem :one
UPDATE openers SET redeem_time = now()
WHERE id = @id AND session_id = @session_id AND redeem_time IS NULL AND expire_time > @now
RETURNING *;

-- name: SessionSetUpgrade :one
UPDATE sessions SET upgrade_state = @upgrade_state, kind = @kind, handoff = @handoff
WHERE id = @id
RETURNING *;

-- name: AccountSettingsUpdate :one
UPDATE accounts SET
    web_chat_enabled = @web_chat_enabled,
    upgrade_handoff = @upgrade_handoff,
    opener_lifetime_seconds = @opener_lifetime_seconds,
    session_code_lifetime_seconds = @session_code_lifetime_seconds,
    max_live_session_codes = @max_live_session_codes,
    fast_chat_enabled = @fast_chat_enabled,
    language = @language,
    chat_log_retention_days = @chat_log_retention_days
WHERE id = @id
RETURNING *;
