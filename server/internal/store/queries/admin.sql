-- Admin changes of one account are serialised on its row, so audit ids
-- grow in commit order within the account.
-- name: AdminAccountLock :one
SELECT id FROM accounts WHERE id = $1 FOR UPDATE;

-- name: AuditInsert :one
INSERT INTO audit_events (account_id, actor_advisor_id, actor_display_name, action, target_type, target_id, details)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: AuditList :many
SELECT * FROM audit_events
WHERE account_id = @account_id::uuid AND (@before_id::bigint = 0 OR id < @before_id::bigint)
ORDER BY id DESC
LIMIT @page_limit;

-- name: AdvisorGetInAccountForUpdate :one
SELECT * FROM advisors WHERE id = @id::uuid AND account_id = @account_id::uuid FOR UPDATE;

-- name: AdvisorUpdate :one
UPDATE advisors
SET display_name = @display_name, report_access = @report_access, admin = @admin,
    disabled = @disabled, password_hash = @password_hash
WHERE id = @id
RETURNING *;

-- Admins able to log in, other than one advisor: the account must keep one.
-- name: AdvisorCountOtherActiveAdmins :one
SELECT count(*) FROM advisors
WHERE account_id = @account_id::uuid AND admin AND NOT disabled AND id <> @id::uuid;

-- name: AccessTokenRevokeByAdvisor :execrows
UPDATE access_tokens SET revoke_time = now()
WHERE advisor_id = $1 AND revoke_time IS NULL;

-- name: AdvisorIDsInAccount :many
SELECT id FROM advisors WHERE account_id = @account_id::uuid AND id = ANY(@ids::uuid[]);

-- name: PortalListByAccount :many
SELECT * FROM portals WHERE account_id = $1 ORDER BY slug;

-- name: PortalAdvisorsByPortals :many
SELECT portal_id, advisor_id FROM portal_advisors
WHERE portal_id = ANY(@portal_ids::uuid[])
ORDER BY portal_id, advisor_id;

-- name: PortalGetInAccountForUpdate :one
SELECT * FROM portals WHERE id = @id::uuid AND account_id = @account_id::uuid FOR UPDATE;

-- name: PortalUpdate :one
UPDATE portals SET display_name = @display_name, mode = @mode
WHERE id = @id
RETURNING *;

-- name: PortalAdvisorDeleteAll :exec
DELETE FROM portal_advisors WHERE portal_id = $1;

-- name: ApiKeyInsert :one
INSERT INTO api_keys (account_id, name, scopes, prefix, secret_hash)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: ApiKeyListByAccount :many
SELECT * FROM api_keys WHERE account_id = $1 ORDER BY create_time DESC, id DESC;

-- Revoking twice keeps the first revocation time; revoked_now tells
-- whether this call revoked it (now() is the transaction's start).
-- name: ApiKeyRevoke :one
UPDATE api_keys SET revoke_time = coalesce(revoke_time, now())
WHERE id = @id::uuid AND account_id = @account_id::uuid
RETURNING sqlc.embed(api_keys), revoke_time = now() AS revoked_now;

-- Records a key's use at most once a minute: the condition makes most
-- calls a no-op that writes nothing.
-- name: ApiKeyTouch :exec
UPDATE api_keys SET last_use_time = now()
WHERE id = $1 AND (last_use_time IS NULL OR last_use_time < now() - interval '1 minute');
