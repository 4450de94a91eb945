-- Afisha schema, version 1. Token columns hold SHA-256 hashes, never tokens.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    username      text NOT NULL,
    full_name     text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('USER', 'ADMINISTRATOR')),
    is_system     boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    deleted_at    timestamptz
);
-- Email and username are unique among live users only: deletion frees them.
CREATE UNIQUE INDEX users_email_live_key ON users (email) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX users_username_live_key ON users (username) WHERE deleted_at IS NULL;
CREATE INDEX users_created_idx ON users (created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE login_sessions (
    uid            uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id),
    token_hash     text NOT NULL UNIQUE,
    user_agent     text NOT NULL DEFAULT '',
    client_address text,
    created_at     timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz
);
CREATE INDEX login_sessions_user_idx ON login_sessions (user_id, created_at DESC);

CREATE TABLE registrations (
    id            uuid PRIMARY KEY,
    token_hash    text NOT NULL UNIQUE,
    code_hash     text,
    email         text NOT NULL,
    username      text NOT NULL,
    full_name     text NOT NULL,
    password_hash text NOT NULL,
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 5),
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    confirmed_at  timestamptz
);

CREATE TABLE login_recoveries (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE TABLE events (
    id                     uuid PRIMARY KEY,
    name                   text NOT NULL,
    short_description      text NOT NULL DEFAULT '',
    description            text NOT NULL DEFAULT '',
    starts_at              timestamptz NOT NULL,
    ends_at                timestamptz NOT NULL,
    timezone               text NOT NULL DEFAULT 'UTC',
    location               text NOT NULL DEFAULT '',
    payment_info           text NOT NULL DEFAULT '',
    max_participants_count integer CHECK (max_participants_count IS NULL OR max_participants_count >= 1),
    image_key              text,
    created_by             uuid REFERENCES users (id),
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    rejected_at            timestamptz,
    rejection_reason       text,
    CHECK (ends_at > starts_at)
);
-- Keyset listing by (starts_at, id); the partial one also serves due reminders.
CREATE INDEX events_starts_idx ON events (starts_at, id);
CREATE INDEX events_live_starts_idx ON events (starts_at) WHERE rejected_at IS NULL;

CREATE SEQUENCE participations_write_seq;
CREATE TABLE participations (
    event_id           uuid NOT NULL REFERENCES events (id),
    user_id            uuid NOT NULL REFERENCES users (id),
    status             text NOT NULL CHECK (status IN ('PARTICIPATING', 'WAITLISTED', 'REJECTED')),
    created_at         timestamptz NOT NULL,
    status_changed_at  timestamptz NOT NULL,
    reminder_queued_at timestamptz,
    -- Bumped whenever the status changes: breaks waitlist ties by write order.
    write_seq          bigint NOT NULL DEFAULT nextval('participations_write_seq'),
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
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    title      text NOT NULL,
    content    text NOT NULL DEFAULT '',
    cta_url    text,
    cta_label  text,
    created_at timestamptz NOT NULL,
    acked_at   timestamptz
);
CREATE INDEX notifications_user_newest_idx ON notifications (user_id, created_at DESC, id DESC);

CREATE TABLE outbox (
    id              uuid PRIMARY KEY,
    recipient       text NOT NULL,
    subject         text NOT NULL,
    text_body       text NOT NULL,
    html_body       text,
    status          text NOT NULL CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
    attempts        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    sent_at         timestamptz
);
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) WHERE status = 'PENDING';
