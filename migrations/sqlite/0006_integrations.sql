-- Integrations: personal calendar feeds.
-- One feed per user; only the SHA-256 of its token is stored. Issuing a new feed
-- replaces the row (the old URL stops working); deleting it revokes the feed.
CREATE TABLE calendar_feeds (
    user_id    TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
