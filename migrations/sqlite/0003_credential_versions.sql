-- Credentials carry a version: it grows by one with every password change or reset,
-- and sessions and recovery tokens record the version they were issued under, so
-- anything started under an old password is refused once the password changed.
ALTER TABLE users ADD COLUMN credential_version INTEGER NOT NULL DEFAULT 1
    CHECK (credential_version >= 1);
ALTER TABLE login_sessions ADD COLUMN credential_version INTEGER NOT NULL DEFAULT 1
    CHECK (credential_version >= 1);
ALTER TABLE login_recoveries ADD COLUMN credential_version INTEGER NOT NULL DEFAULT 1
    CHECK (credential_version >= 1);
