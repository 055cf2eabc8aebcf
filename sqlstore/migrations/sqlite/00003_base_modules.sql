-- +goose Up
-- Virtual streams a base module also answers to (xmd.mbs.virtual_streams,
-- e.g. platform:f40 is also "fedora"), and the base modules each build
-- buildrequires (MBS's module_builds_to_module_buildrequires), which the
-- base_module_br* filters and base_module_buildrequires output read.
CREATE TABLE module_builds_virtual_streams (
    module_build_id INTEGER NOT NULL REFERENCES module_builds (id) ON DELETE CASCADE,
    name            TEXT   NOT NULL,
    PRIMARY KEY (module_build_id, name)
);
CREATE INDEX module_builds_virtual_streams_name_idx ON module_builds_virtual_streams (name, module_build_id);

CREATE TABLE module_builds_base_modules (
    module_build_id INTEGER NOT NULL REFERENCES module_builds (id) ON DELETE CASCADE,
    base_module_id  INTEGER NOT NULL REFERENCES module_builds (id),
    PRIMARY KEY (module_build_id, base_module_id)
);
CREATE INDEX module_builds_base_modules_base_idx ON module_builds_base_modules (base_module_id, module_build_id);

-- +goose Down
DROP TABLE module_builds_base_modules;
DROP TABLE module_builds_virtual_streams;
