-- +goose Up

-- Enumerations are stored as the numeric values of the assist.v1 proto
-- enums, so the contract stays the single definition of what they mean.

CREATE TABLE accounts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    web_chat_enabled boolean NOT NULL DEFAULT true,
    upgrade_handoff smallint NOT NULL DEFAULT 1,
    opener_lifetime_seconds integer NOT NULL DEFAULT 600,
    session_code_lifetime_seconds integer NOT NULL DEFAULT 1200,
    max_live_session_codes integer NOT NULL DEFAULT 10,
    fast_chat_enabled boolean NOT NULL DEFAULT true,
    create_time timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE advisors (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id),
    email text NOT NULL,
    display_name text NOT NULL,
    password_hash text NOT NULL,
    report_access boolean NOT NULL DEFAULT false,
    admin boolean NOT NULL DEFAULT false,
    disabled boolean NOT NULL DEFAULT false,
    create_time timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX advisors_email_key ON advisors (lower(email));
CREATE INDEX advisors_account_idx ON advisors (account_id);

CREATE TABLE portals (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id),
    slug text NOT NULL,
    display_name text NOT NULL,
    mode smallint NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT portals_slug_key UNIQUE (slug)
);

CREATE TABLE portal_advisors (
    portal_id uuid NOT NULL REFERENCES portals (id) ON DELETE CASCADE,
    advisor_id uuid NOT NULL REFERENCES advisors (id) ON DELETE CASCADE,
    PRIMARY KEY (portal_id, advisor_id)
);
CREATE INDEX portal_advisors_advisor_idx ON portal_advisors (advisor_id);

CREATE TABLE sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id),
    portal_id uuid NOT NULL REFERENCES portals (id),
    portal_mode smallint NOT NULL,
    kind smallint NOT NULL,
    state smallint NOT NULL,
    upgrade_state smallint NOT NULL DEFAULT 1,
    customer_display_name text NOT NULL,
    customer_email text NOT NULL DEFAULT '',
    customer_problem text NOT NULL DEFAULT '',
    customer_device smallint NOT NULL DEFAULT 0,
    customer_os smallint NOT NULL DEFAULT 0,
    customer_user_agent text NOT NULL DEFAULT '',
    -- The browser's idempotency key: a retried StartSession finds its session.
    start_request_id uuid,
    advisor_id uuid REFERENCES advisors (id),
    create_time timestamptz NOT NULL DEFAULT now(),
    pick_up_time timestamptz,
    end_time timestamptz,
    outcome smallint NOT NULL DEFAULT 0,
    notes text NOT NULL DEFAULT '',
    -- Last seq of the session log. Appends increment it under this row's
    -- lock, so seqs are contiguous and commit order equals seq order.
    last_seq bigint NOT NULL DEFAULT 0,
    CONSTRAINT sessions_start_request_key UNIQUE (portal_id, start_request_id)
);
CREATE INDEX sessions_waiting_idx ON sessions (portal_id, create_time) WHERE state = 1;
CREATE INDEX sessions_account_idx ON sessions (account_id, create_time DESC);

-- Advisors taking part in a session: the lead and invited ones.
CREATE TABLE session_advisors (
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    advisor_id uuid NOT NULL REFERENCES advisors (id),
    lead boolean NOT NULL DEFAULT false,
    join_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, advisor_id)
);
CREATE INDEX session_advisors_advisor_idx ON session_advisors (advisor_id, join_time DESC);

-- The session log. event holds the marshalled assist.v1.SessionEvent.
CREATE TABLE session_events (
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq bigint NOT NULL,
    client_message_id text,
    event bytea NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, seq),
    CONSTRAINT session_events_client_message_key UNIQUE (session_id, client_message_id)
);

-- Opaque bearer tokens of advisors, customers and customer apps, stored as
-- SHA-256 of the secret: they are random, so a fast hash is enough.
CREATE TABLE access_tokens (
    token_hash bytea PRIMARY KEY,
    kind smallint NOT NULL,
    account_id uuid NOT NULL REFERENCES accounts (id),
    advisor_id uuid REFERENCES advisors (id),
    session_id uuid REFERENCES sessions (id) ON DELETE CASCADE,
    create_time timestamptz NOT NULL DEFAULT now(),
    expire_time timestamptz NOT NULL,
    revoke_time timestamptz
);
CREATE INDEX access_tokens_session_idx ON access_tokens (session_id);

CREATE TABLE api_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id),
    name text NOT NULL,
    scopes smallint[] NOT NULL,
    prefix text NOT NULL,
    secret_hash bytea NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    revoke_time timestamptz,
    CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash)
);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE access_tokens;
DROP TABLE session_events;
DROP TABLE session_advisors;
DROP TABLE sessions;
DROP TABLE portal_advisors;
DROP TABLE portals;
DROP TABLE advisors;
DROP TABLE accounts;
