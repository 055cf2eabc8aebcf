-- +goose Up
-- What Module Stream Expansion reads of a candidate build, in columns so the
-- resolver never parses stored modulemd: the runtime requires of each
-- dependency block (JSON list of {name: [streams]}, NULL when unset),
-- xmd.mbs.commit and xmd.mbs.mse.
ALTER TABLE module_builds ADD COLUMN requires TEXT;
ALTER TABLE module_builds ADD COLUMN commit_ref TEXT;
ALTER TABLE module_builds ADD COLUMN mse BOOLEAN NOT NULL DEFAULT 0;

-- The resolver asks for "the newest version of the ready builds of
-- name:stream" (get_last_builds_in_stream); with state before version the
-- MAX(version) is one seek and the builds of that version one range.
CREATE INDEX module_builds_resolver_idx ON module_builds (name, stream, state, version);

-- Planner statistics in the shape of migration 00002 (10,000 builds, ~40 per
-- name, ~10 per name:stream, most of them ready), so the new index is
-- weighed like the others instead of being assumed perfectly selective.
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('module_builds', 'module_builds_resolver_idx', '10000 40 10 7 2');
ANALYZE sqlite_schema;

-- +goose Down
DELETE FROM sqlite_stat1 WHERE idx = 'module_builds_resolver_idx';
DROP INDEX module_builds_resolver_idx;
ALTER TABLE module_builds DROP COLUMN mse;
ALTER TABLE module_builds DROP COLUMN commit_ref;
ALTER TABLE module_builds DROP COLUMN requires;
