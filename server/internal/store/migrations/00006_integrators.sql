-- +goose Up

-- Retention: days a chat log is kept after the session ends (0: forever),
-- and when the job deleted a session's log.
ALTER TABLE accounts ADD COLUMN chat_log_retention_days integer NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN log_delete_time timestamptz;

-- The account feed: a total order over every session event of an account.
-- One sequencer (the holder of an advisory lock) assigns positions after the
-- events commit, so chat writes never wait on an account-wide lock, and
-- events that commit late simply get later positions.
CREATE TABLE feed_accounts (
    account_id uuid PRIMARY KEY REFERENCES accounts (id),
    -- The last position assigned; positions are 1, 2, 3 … with no gap.
    last_pos bigint NOT NULL DEFAULT 0,
    -- Retention deleted events at positions up to this one: a cursor
    -- below it would miss them, so it is refused.
    trimmed_pos bigint NOT NULL DEFAULT 0
);

-- The sequencer's periodic sweep looks only at open or recently ended
-- sessions.
CREATE INDEX sessions_open_idx ON sessions (id) WHERE end_time IS NULL;
CREATE INDEX sessions_end_time_idx ON sessions (end_time) WHERE end_time IS NOT NULL;

-- How far each session's log has been sequenced.
CREATE TABLE feed_sessions (
    session_id uuid PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    fed_seq bigint NOT NULL
);

CREATE TABLE account_feed (
    account_id uuid NOT NULL,
    pos bigint NOT NULL,
    session_id uuid NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (account_id, pos),
    CONSTRAINT account_feed_event_key UNIQUE (session_id, seq),
    CONSTRAINT account_feed_event_fkey FOREIGN KEY (session_id, seq)
        REFERENCES session_events (session_id, seq) ON DELETE CASCADE
);

-- Webhook endpoints. The secret signs deliveries, so it is stored as is;
-- the previous one keeps signing until its expiry after a rotation.
CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id),
    url text NOT NULL,
    description text NOT NULL DEFAULT '',
    -- AccountEventType values; empty: every type.
    event_types smallint[] NOT NULL DEFAULT '{}',
    disabled boolean NOT NULL DEFAULT false,
    disabled_reason text NOT NULL DEFAULT '',
    secret text NOT NULL,
    previous_secret text,
    previous_secret_expire_time timestamptz,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    -- The replica whose worker delivers to this endpoint, until when: one
    -- worker per endpoint across replicas, in order.
    lease_owner text,
    lease_until timestamptz
);
CREATE INDEX webhook_endpoints_account_idx ON webhook_endpoints (account_id, create_time);

-- The outbox: written in the transaction that sequences the event. id
-- orders deliveries per endpoint.
CREATE TABLE webhook_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    account_id uuid NOT NULL,
    session_id uuid,
    message_id text NOT NULL,
    event_type smallint NOT NULL,
    feed_pos bigint NOT NULL,
    body bytea NOT NULL,
    -- WebhookDeliveryState: 1 pending, 2 succeeded, 3 failed.
    state smallint NOT NULL DEFAULT 1,
    attempt_count integer NOT NULL DEFAULT 0,
    next_attempt_time timestamptz NOT NULL DEFAULT now(),
    create_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (endpoint_id, id) WHERE state = 1;
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id DESC);
CREATE INDEX webhook_deliveries_session_idx ON webhook_deliveries (session_id);

CREATE TABLE webhook_attempts (
    delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number integer NOT NULL,
    attempt_time timestamptz NOT NULL,
    status_code integer NOT NULL,
    error text NOT NULL DEFAULT '',
    duration_ms integer NOT NULL,
    PRIMARY KEY (delivery_id, number)
);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE account_feed;
DROP TABLE feed_sessions;
DROP TABLE feed_accounts;
DROP INDEX sessions_end_time_idx;
DROP INDEX sessions_open_idx;
ALTER TABLE sessions DROP COLUMN log_delete_time;
ALTER TABLE accounts DROP COLUMN chat_log_retention_days;
