-- Afisha schema, version 1, for SQLite. Mirrors migrations/postgres/0001_initial.sql.
-- Token columns hold SHA-256 hashes, never tokens.
--
-- Storage conventions (the adapter writes these; text order is value order):
--   datetimes  TEXT, always UTC, fixed width: 'YYYY-MM-DDTHH:MM:SS.ffffff+00:00'
--   uuids      TEXT, canonical lower-case form ('xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx')
--   booleans   INTEGER 0 or 1

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL,
    username      TEXT NOT NULL,
    full_name     TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('USER', 'ADMINISTRATOR')),
    is_system     INTEGER NOT NULL DEFAULT 0 CHECK (is_system IN (0, 1)),
    created_at    TEXT NOT NULL,
    deleted_at    TEXT
);
-- Email and username are unique among live users only: deletion frees them.
CREATE UNIQUE INDEX users_email_live_key ON users (email) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX users_username_live_key ON users (username) WHERE deleted_at IS NULL;
CREATE INDEX users_created_idx ON users (created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE login_sessions (
    uid            TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id),
    token_hash     TEXT NOT NULL UNIQUE,
    user_agent     TEXT NOT NULL DEFAULT '',
    client_address TEXT,
    created_at     TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    revoked_at     TEXT
);
CREATE INDEX login_sessions_user_idx ON login_sessions (user_id, created_at DESC);

CREATE TABLE registrations (
    id            TEXT PRIMARY KEY NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    code_hash     TEXT,
    email         TEXT NOT NULL,
    username      TEXT NOT NULL,
    full_name     TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 5),
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    confirmed_at  TEXT
);

CREATE TABLE login_recoveries (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

CREATE TABLE events (
    id                     TEXT PRIMARY KEY NOT NULL,
    name                   TEXT NOT NULL,
    short_description      TEXT NOT NULL DEFAULT '',
    description            TEXT NOT NULL DEFAULT '',
    starts_at              TEXT NOT NULL,
    ends_at                TEXT NOT NULL,
    timezone               TEXT NOT NULL DEFAULT 'UTC',
    location               TEXT NOT NULL DEFAULT '',
    payment_info           TEXT NOT NULL DEFAULT '',
    max_participants_count INTEGER
        CHECK (max_participants_count IS NULL OR max_participants_count >= 1),
    image_key              TEXT,
    created_by             TEXT REFERENCES users (id),
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    rejected_at            TEXT,
    rejection_reason       TEXT,
    CHECK (ends_at > starts_at)
);
-- Keyset listing by (starts_at, id); the partial one also serves due reminders.
CREATE INDEX events_starts_idx ON events (starts_at, id);
CREATE INDEX events_live_starts_idx ON events (starts_at) WHERE rejected_at IS NULL;

-- The write order of participations (PostgreSQL's participations_write_seq): one row,
-- bumped inside the write transaction, which SQLite serialises.
CREATE TABLE participations_write_seq (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    last_value INTEGER NOT NULL
);
INSERT INTO participations_write_seq (id, last_value) VALUES (1, 0);

CREATE TABLE participations (
    event_id           TEXT NOT NULL REFERENCES events (id),
    user_id            TEXT NOT NULL REFERENCES users (id),
    status             TEXT NOT NULL CHECK (status IN ('PARTICIPATING', 'WAITLISTED', 'REJECTED')),
    created_at         TEXT NOT NULL,
    status_changed_at  TEXT NOT NULL,
    reminder_queued_at TEXT,
    -- Bumped whenever the status changes: breaks waitlist ties by write order.
    write_seq          INTEGER NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX participations_event_status_idx ON participations (event_id, status);
CREATE INDEX participations_waitlist_idx
    ON participations (event_id, status_changed_at, write_seq) WHERE status = 'WAITLISTED';
CREATE INDEX participations_due_idx
    ON participations (event_id) WHERE status = 'PARTICIPATING' AND reminder_queued_at IS NULL;
CREATE INDEX participations_user_idx ON participations (user_id, status);
CREATE INDEX participations_event_created_idx ON participations (event_id, created_at, user_id);

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    title      TEXT NOT NULL,
    content    TEXT NOT NULL DEFAULT '',
    cta_url    TEXT,
    cta_label  TEXT,
    created_at TEXT NOT NULL,
    acked_at   TEXT
);
CREATE INDEX notifications_user_newest_idx ON notifications (user_id, created_at DESC, id DESC);

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT,
    status          TEXT NOT NULL CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    sent_at         TEXT
);
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) WHERE status = 'PENDING';
