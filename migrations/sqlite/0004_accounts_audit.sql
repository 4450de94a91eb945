-- Two-factor login (TOTP) and the audit log.
ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0
    CHECK (totp_enabled IN (0, 1));
-- When a deleted account's personal data was erased (the worker's erasure job).
ALTER TABLE users ADD COLUMN erased_at TEXT;
CREATE INDEX users_erasable_idx ON users (deleted_at) WHERE deleted_at IS NOT NULL AND erased_at IS NULL;

-- One TOTP credential per user, pending until confirmed. last_step is the time step of
-- the last accepted code: a code of that step or an earlier one is refused (no replay).
CREATE TABLE totp_credentials (
    user_id      TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    secret       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    confirmed_at TEXT,
    last_step    INTEGER
);

-- Single-use recovery codes; only their SHA-256 is kept.
CREATE TABLE totp_recovery_codes (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    code_hash  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at    TEXT,
    UNIQUE (user_id, code_hash)
);

-- Append-only: the application never updates or deletes a row of it.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY NOT NULL,
    at          TEXT NOT NULL,
    actor_id    TEXT,
    action      TEXT NOT NULL,
    target_type TEXT,
    target_id   TEXT,
    ip          TEXT,
    details     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at DESC, id DESC);
CREATE INDEX audit_log_target_idx ON audit_log (target_id, at DESC, id DESC);
