-- +goose Up

-- Code and web mode: a session goes to one advisor and waits in that
-- advisor's queue only, until they pick it up.
ALTER TABLE sessions ADD COLUMN waiting_for_advisor_id uuid REFERENCES advisors (id);
CREATE INDEX sessions_waiting_for_advisor_idx ON sessions (waiting_for_advisor_id, create_time, id)
    WHERE state = 1 AND waiting_for_advisor_id IS NOT NULL;
-- Whether an advisor is free (leads no active session), for web mode.
CREATE INDEX sessions_active_advisor_idx ON sessions (advisor_id) WHERE state = 2;

-- Live session codes of code-mode portals. A code works once (it is
-- deleted when used) and until expire_time; expired rows are deleted when
-- their advisor or portal creates the next code. Six digits are guessable
-- by design, so they are stored as typed; StartSession's rate limit is
-- what keeps them from being tried in bulk.
CREATE TABLE session_codes (
    portal_id uuid NOT NULL REFERENCES portals (id) ON DELETE CASCADE,
    code text NOT NULL,
    advisor_id uuid NOT NULL REFERENCES advisors (id) ON DELETE CASCADE,
    customer_display_name text NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL DEFAULT now(),
    expire_time timestamptz NOT NULL,
    PRIMARY KEY (portal_id, code)
);
CREATE INDEX session_codes_advisor_idx ON session_codes (advisor_id, expire_time);

-- Advisors online (web mode): one row per open queue watch, on any
-- replica, kept alive by its replica until expire_time. A replica that
-- dies leaves rows that expire by themselves.
CREATE TABLE advisor_presence (
    watch_id uuid PRIMARY KEY,
    advisor_id uuid NOT NULL REFERENCES advisors (id) ON DELETE CASCADE,
    expire_time timestamptz NOT NULL
);
CREATE INDEX advisor_presence_advisor_idx ON advisor_presence (advisor_id, expire_time);

-- +goose Down
DROP TABLE advisor_presence;
DROP TABLE session_codes;
DROP INDEX sessions_active_advisor_idx;
DROP INDEX sessions_waiting_for_advisor_idx;
ALTER TABLE sessions DROP COLUMN waiting_for_advisor_id;
