-- The language everything sent to a person is written in (issue 13).
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT 'en';
ALTER TABLE registrations ADD COLUMN locale TEXT NOT NULL DEFAULT 'en';
