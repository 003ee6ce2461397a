-- +goose Up

-- Session reports: the list of an account's ended sessions, newest first,
-- pages by keyset (end_time, id), filtered by portal, outcome, kind or a
-- text search over the customer's name and e-mail.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX sessions_report_idx ON sessions (account_id, end_time DESC, id DESC)
    WHERE state = 3;
CREATE INDEX sessions_report_portal_idx ON sessions (portal_id, end_time DESC, id DESC)
    WHERE state = 3;
-- "contains, ignoring case" over name and e-mail: trigrams make ILIKE
-- '%text%' an index search (queries of 3 characters or more).
CREATE INDEX sessions_report_customer_trgm_idx ON sessions
    USING gin ((customer_display_name || ' ' || customer_email) gin_trgm_ops)
    WHERE state = 3;

-- When an API key last authenticated a call (to the minute).
ALTER TABLE api_keys ADD COLUMN last_use_time timestamptz;
CREATE INDEX api_keys_account_idx ON api_keys (account_id, create_time DESC);

-- Revoking every token of a disabled advisor.
CREATE INDEX access_tokens_advisor_idx ON access_tokens (advisor_id) WHERE revoke_time IS NULL;

-- The audit log of administrative changes. Writers lock the account row
-- first, so ids grow in commit order within an account and keyset pages
-- by id never skip a late commit.
CREATE TABLE audit_events (
    id bigserial PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id),
    actor_advisor_id uuid REFERENCES advisors (id),
    actor_display_name text NOT NULL,
    action text NOT NULL,
    target_type text NOT NULL,
    target_id text NOT NULL,
    details text NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_account_idx ON audit_events (account_id, id DESC);

-- +goose Down
DROP TABLE audit_events;
DROP INDEX access_tokens_advisor_idx;
DROP INDEX api_keys_account_idx;
ALTER TABLE api_keys DROP COLUMN last_use_time;
DROP INDEX sessions_report_customer_trgm_idx;
DROP INDEX sessions_report_portal_idx;
DROP INDEX sessions_report_idx;
