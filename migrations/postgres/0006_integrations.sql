-- Integrations: personal calendar feeds.
-- One feed per user; only the SHA-256 of its token is stored. Issuing a new feed
-- replaces the row (the old URL stops working); deleting it revokes the feed.
CREATE TABLE calendar_feeds (
    user_id    uuid PRIMARY KEY REFERENCES users (id),
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL
);
