-- API keys: only a SHA-256 digest of each key is stored, never the key itself.
-- key_id is the public part of the key (fd_<key_id>_<secret>) and finds the row.
-- Times are TIMESTAMP holding UTC instants, as in 0001.

CREATE TABLE api_keys (
    key_id      VARCHAR PRIMARY KEY CHECK (regexp_full_match(key_id, '[0-9a-f]{16}')),
    name        VARCHAR NOT NULL,
    digest      VARCHAR NOT NULL CHECK (regexp_full_match(digest, '[0-9a-f]{64}')),
    created_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);
