-- +goose Up

-- The chat log's hot path checked two foreign keys for every event: one
-- query per stored event, and one per event the feed sequencer positions,
-- about a sixth of PostgreSQL's time under a chat load. Neither guards
-- anything the code does not already hold:
-- - sessions are never deleted, and an event is only appended under its
--   session's row lock, read in the same transaction;
-- - account_feed rows are written only for stored events, and retention
--   deletes a session's feed rows with its events (RetentionDeleteEvents).
ALTER TABLE session_events DROP CONSTRAINT session_events_session_id_fkey;
ALTER TABLE account_feed DROP CONSTRAINT account_feed_event_fkey;

-- +goose Down
ALTER TABLE account_feed ADD CONSTRAINT account_feed_event_fkey
    FOREIGN KEY (session_id, seq) REFERENCES session_events (session_id, seq) ON DELETE CASCADE;
ALTER TABLE session_events ADD CONSTRAINT session_events_session_id_fkey
    FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE;
