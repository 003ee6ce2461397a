-- +goose Up

-- A client message id is the sender's: an advisor who happens to pick the
-- id a customer used must not collide with it. sender is the author's key
-- (customer, app, advisor:<id>, integration:<id>, system). Rows stored
-- before this migration keep an empty sender.
ALTER TABLE session_events ADD COLUMN sender text NOT NULL DEFAULT '';
ALTER TABLE session_events DROP CONSTRAINT session_events_client_message_key;
ALTER TABLE session_events ADD CONSTRAINT session_events_sender_client_message_key
    UNIQUE (session_id, sender, client_message_id);

-- StartSession's idempotency key remembers what it was used for, so that
-- a reuse with other customer details is refused.
ALTER TABLE sessions ADD COLUMN start_request_hash bytea;

-- +goose Down
ALTER TABLE sessions DROP COLUMN start_request_hash;
ALTER TABLE session_events DROP CONSTRAINT session_events_sender_client_message_key;
ALTER TABLE session_events ADD CONSTRAINT session_events_client_message_key
    UNIQUE (session_id, client_message_id);
ALTER TABLE session_events DROP COLUMN sender;
