-- +goose Up
-- What Module Stream Expansion reads of a candidate build, in columns so the
-- resolver never parses stored modulemd: the runtime requires of each
-- dependency block (JSON list of {name: [streams]}, NULL when unset),
-- xmd.mbs.commit and xmd.mbs.mse.
ALTER TABLE module_builds ADD COLUMN requires TEXT;
ALTER TABLE module_builds ADD COLUMN commit_ref TEXT;
ALTER TABLE module_builds ADD COLUMN mse BOOLEAN NOT NULL DEFAULT FALSE;

-- The resolver asks for "the newest version of the ready builds of
-- name:stream" (get_last_builds_in_stream); with state before version the
-- MAX(version) is one seek and the builds of that version one range.
CREATE INDEX module_builds_resolver_idx ON module_builds (name, stream, state, version);

-- +goose Down
DROP INDEX module_builds_resolver_idx;
ALTER TABLE module_builds DROP COLUMN mse;
ALTER TABLE module_builds DROP COLUMN commit_ref;
ALTER TABLE module_builds DROP COLUMN requires;
