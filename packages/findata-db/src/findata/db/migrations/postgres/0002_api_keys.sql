-- API keys: only a SHA-256 digest of each key is stored, never the key itself.
-- key_id is the public part of the key (fd_<key_id>_<secret>) and finds the row.

CREATE TABLE api_keys (
    key_id      text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    name        text NOT NULL,
    digest      text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
