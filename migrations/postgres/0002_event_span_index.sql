-- The longest event, found in one index probe: listings bound their scan of
-- events_starts_idx by "starts_at > lower - longest duration" (see list_views).
CREATE INDEX events_span_idx ON events ((ends_at - starts_at));
