-- Two-factor login (TOTP) and the audit log.
ALTER TABLE users ADD COLUMN totp_enabled boolean NOT NULL DEFAULT false;
-- When a deleted account's personal data was erased (the worker's erasure job).
ALTER TABLE users ADD COLUMN erased_at timestamptz;
CREATE INDEX users_erasable_idx ON users (deleted_at) WHERE deleted_at IS NOT NULL AND erased_at IS NULL;

-- One TOTP credential per user, pending until confirmed. last_step is the time step of
-- the last accepted code: a code of that step or an earlier one is refused (no replay).
CREATE TABLE totp_credentials (
    user_id      uuid PRIMARY KEY REFERENCES users (id),
    secret       text NOT NULL,
    created_at   timestamptz NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint
);

-- Single-use recovery codes; only their SHA-256 is kept.
CREATE TABLE totp_recovery_codes (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    code_hash  text NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz,
    UNIQUE (user_id, code_hash)
);

-- Append-only: the application never updates or deletes a row of it.
CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_id    uuid,
    action      text NOT NULL,
    target_type text,
    target_id   uuid,
    ip          text,
    details     text NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at DESC, id DESC);
CREATE INDEX audit_log_target_idx ON audit_log (target_id, at DESC, id DESC);
