-- +goose Up
-- The engine's claim on a module build: which process works on it and until
-- when (a lease, renewed by heartbeats, so a crashed process's builds are
-- picked up once it expires), and when the build is next due for a look
-- (so no timer lives only in memory).
ALTER TABLE module_builds ADD COLUMN lease_owner TEXT;
ALTER TABLE module_builds ADD COLUMN lease_until TEXT;
ALTER TABLE module_builds ADD COLUMN next_check_at TEXT;
-- Claims scan the active states for due builds.
CREATE INDEX module_builds_due_idx ON module_builds (state, next_check_at, id);

-- +goose Down
DROP INDEX module_builds_due_idx;
ALTER TABLE module_builds DROP COLUMN next_check_at;
ALTER TABLE module_builds DROP COLUMN lease_until;
ALTER TABLE module_builds DROP COLUMN lease_owner;
