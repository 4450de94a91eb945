-- The longest event, found in one index probe (mirrors the PostgreSQL migration).
CREATE INDEX events_span_idx ON events ((julianday(ends_at) - julianday(starts_at)));
