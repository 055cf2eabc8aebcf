-- +goose Up
-- Siblings of a build (same name:stream:version and scratch flag, MBS's
-- ModuleBuild.siblings) are looked up for a whole page at once; this index
-- answers each lookup with one range, already in id order.
CREATE INDEX module_builds_siblings_idx ON module_builds (name, stream, version, scratch, id);

-- +goose Down
DROP INDEX module_builds_siblings_idx;
