-- name: AccountGet :one
SELECT * FROM accounts WHERE id = $1;

-- name: AccountGetByName :one
SELECT * FROM accounts WHERE name = $1;

-- name: AccountInsert :one
INSERT INTO accounts (name) VALUES ($1) RETURNING *;

-- name: AdvisorGet :one
SELECT * FROM advisors WHERE id = $1;

-- name: AdvisorGetByEmail :one
SELECT * FROM advisors WHERE lower(email) = lower(@email::text);

-- name: AdvisorInsert :one
INSERT INTO advisors (account_id, email, display_name, password_hash, report_access, admin)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- The other enabled advisors of an account, as their colleagues see them.
-- name: AdvisorListColleagues :many
SELECT id, display_name FROM advisors
WHERE account_id = @account_id AND id <> @advisor_id AND NOT disabled
ORDER BY lower(display_name), id
LIMIT 1000;

-- name: AdvisorListByAccount :many
SELECT * FROM advisors WHERE account_id = $1 ORDER BY lower(email);

-- name: PortalGet :one
SELECT * FROM portals WHERE id = $1;

-- name: PortalGetBySlug :one
SELECT * FROM portals WHERE slug = $1;

-- name: PortalInsert :one
INSERT INTO portals (account_id, slug, display_name, mode)
VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: PortalAdvisorInsert :exec
INSERT INTO portal_advisors (portal_id, advisor_id) VALUES ($1, $2)
ON CONFLICT DO NOTHING;

-- name: PortalAdvisorIDs :many
SELECT advisor_id FROM portal_advisors WHERE portal_id = $1 ORDER BY advisor_id;

-- name: PortalIDsByAdvisor :many
SELECT portal_id FROM portal_advisors WHERE advisor_id = $1 ORDER BY portal_id;
