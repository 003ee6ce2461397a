-- +goose Up

-- The language of the account's automatic notices (UPGRADE_STARTED,
-- WebChatDisabled): "en" or "fr".
ALTER TABLE accounts ADD COLUMN language text NOT NULL DEFAULT 'en';

-- How the conversation continues in an upgraded session, once the customer
-- accepted to share the screen (assist.v1.UpgradeHandoff); 0 until then.
-- The chat rules read it: TRANSFER_TO_APP closes the web chat to sends,
-- KEEP_WEB_CHAT_APP_WITHOUT_CHAT keeps the app from sending.
ALTER TABLE sessions ADD COLUMN handoff smallint NOT NULL DEFAULT 0;

-- Ed25519 keys that sign openers. The newest is the current one; older
-- ones still verify the openers they signed until those expire.
-- private_key is the 32-byte seed, or its AES-256-GCM encryption (nonce
-- first) under the key in the server's configuration when encrypted.
CREATE TABLE signing_keys (
    id text PRIMARY KEY,
    public_key bytea NOT NULL,
    private_key bytea NOT NULL,
    encrypted boolean NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);

-- Openers of upgraded sessions. The signed token is never stored: it is
-- signed again (Ed25519 is deterministic) from this row when downloaded.
-- Single use: redeeming is one conditional UPDATE of redeem_time.
CREATE TABLE openers (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    key_id text NOT NULL REFERENCES signing_keys (id),
    -- The platform the opener is made for (assist.v1 DeviceType and
    -- OperatingSystem; 0 when unknown until the download).
    device smallint NOT NULL,
    os smallint NOT NULL,
    -- The handoff that applies once the customer accepts.
    handoff smallint NOT NULL,
    -- The UpgradeOffered event of this opener, returned by a second "Yes".
    offer_seq bigint NOT NULL,
    create_time timestamptz NOT NULL,
    expire_time timestamptz NOT NULL,
    redeem_time timestamptz
);
CREATE INDEX openers_session_idx ON openers (session_id, offer_seq DESC);

-- +goose Down
DROP TABLE openers;
DROP TABLE signing_keys;
ALTER TABLE sessions DROP COLUMN handoff;
ALTER TABLE accounts DROP COLUMN language;
