-- +goose Up
-- Module builds, their components, state traces and the event outbox.
-- Times are TIMESTAMPTZ (microseconds, written in UTC).
-- Optional text and integers are NULL when unset, as in MBS, so JSON
-- null stays faithful.

CREATE TABLE module_builds (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                 TEXT    NOT NULL,
    stream               TEXT    NOT NULL,
    version              BIGINT  NOT NULL,
    context              TEXT    NOT NULL DEFAULT '00000000',
    build_context        TEXT,
    build_context_no_bms TEXT,
    runtime_context      TEXT,
    ref_build_context    TEXT,
    state                INTEGER NOT NULL,
    state_reason         TEXT,
    owner                TEXT    NOT NULL,
    scmurl               TEXT,
    modulemd             TEXT    NOT NULL,
    koji_tag             TEXT,
    cg_build_koji_tag    TEXT,
    rebuild_strategy     TEXT    NOT NULL,
    scratch              BOOLEAN NOT NULL DEFAULT FALSE,
    batch                INTEGER NOT NULL DEFAULT 0,
    new_repo_task_id     BIGINT,
    stream_version       DOUBLE PRECISION,
    srpms                TEXT,
    buildrequires        TEXT,
    time_submitted       TIMESTAMPTZ NOT NULL,
    time_modified        TIMESTAMPTZ NOT NULL,
    time_completed       TIMESTAMPTZ,
    reused_module_id     BIGINT  REFERENCES module_builds (id),
    koji_build_id        BIGINT,
    koji_cg_token        TEXT,
    rev                  BIGINT  NOT NULL DEFAULT 1
);

CREATE UNIQUE INDEX module_builds_nsvc_uidx ON module_builds (name, stream, version, context);
-- One index per list filter, with id appended so that
-- "WHERE col = ? ORDER BY id DESC" walks the index without sorting.
CREATE INDEX module_builds_name_state_idx ON module_builds (name, state, id);
CREATE INDEX module_builds_stream_idx ON module_builds (stream, id);
CREATE INDEX module_builds_version_idx ON module_builds (version, id);
CREATE INDEX module_builds_context_idx ON module_builds (context, id);
CREATE INDEX module_builds_build_context_idx ON module_builds (build_context, id);
CREATE INDEX module_builds_build_context_no_bms_idx ON module_builds (build_context_no_bms, id);
CREATE INDEX module_builds_runtime_context_idx ON module_builds (runtime_context, id);
CREATE INDEX module_builds_ref_build_context_idx ON module_builds (ref_build_context, id);
CREATE INDEX module_builds_state_idx ON module_builds (state, id);
CREATE INDEX module_builds_state_reason_idx ON module_builds (state_reason, id);
CREATE INDEX module_builds_owner_idx ON module_builds (owner, id);
CREATE INDEX module_builds_scmurl_idx ON module_builds (scmurl, id);
CREATE INDEX module_builds_koji_tag_idx ON module_builds (koji_tag, id);
CREATE INDEX module_builds_cg_build_koji_tag_idx ON module_builds (cg_build_koji_tag, id);
CREATE INDEX module_builds_rebuild_strategy_idx ON module_builds (rebuild_strategy, id);
CREATE INDEX module_builds_scratch_idx ON module_builds (scratch, id);
CREATE INDEX module_builds_batch_idx ON module_builds (batch, id);
CREATE INDEX module_builds_new_repo_task_id_idx ON module_builds (new_repo_task_id, id);
CREATE INDEX module_builds_stream_version_idx ON module_builds (stream_version, id);
CREATE INDEX module_builds_reused_module_id_idx ON module_builds (reused_module_id, id);
CREATE INDEX module_builds_time_submitted_idx ON module_builds (time_submitted, id);
CREATE INDEX module_builds_time_modified_idx ON module_builds (time_modified, id);
CREATE INDEX module_builds_time_completed_idx ON module_builds (time_completed, id);

CREATE TABLE module_builds_trace (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    module_id    BIGINT  NOT NULL REFERENCES module_builds (id),
    state_time   TIMESTAMPTZ NOT NULL,
    state        INTEGER NOT NULL,
    state_reason TEXT
);
CREATE INDEX module_builds_trace_module_id_idx ON module_builds_trace (module_id, id);

CREATE TABLE component_builds (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    module_id           BIGINT  NOT NULL REFERENCES module_builds (id),
    package             TEXT    NOT NULL,
    format              TEXT    NOT NULL,
    scmurl              TEXT    NOT NULL,
    ref                 TEXT,
    buildorder          BIGINT  NOT NULL DEFAULT 0,
    batch               INTEGER NOT NULL DEFAULT 0,
    buildonly           BOOLEAN NOT NULL DEFAULT FALSE,
    build_time_only     BOOLEAN NOT NULL DEFAULT FALSE,
    weight              DOUBLE PRECISION NOT NULL DEFAULT 0,
    task_id             BIGINT,
    task_state          INTEGER,
    state               INTEGER,
    state_reason        TEXT,
    nvr                 TEXT,
    reused_component_id BIGINT  REFERENCES component_builds (id),
    tagged              BOOLEAN NOT NULL DEFAULT FALSE,
    tagged_in_final     BOOLEAN NOT NULL DEFAULT FALSE,
    rev                 BIGINT  NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX component_builds_module_package_uidx ON component_builds (module_id, package);
CREATE INDEX component_builds_module_id_idx ON component_builds (module_id, id);
CREATE INDEX component_builds_package_idx ON component_builds (package, id);
CREATE INDEX component_builds_format_idx ON component_builds (format, id);
CREATE INDEX component_builds_scmurl_idx ON component_builds (scmurl, id);
CREATE INDEX component_builds_ref_idx ON component_builds (ref, id);
CREATE INDEX component_builds_batch_idx ON component_builds (batch, id);
CREATE INDEX component_builds_buildonly_idx ON component_builds (buildonly, id);
CREATE INDEX component_builds_build_time_only_idx ON component_builds (build_time_only, id);
CREATE INDEX component_builds_weight_idx ON component_builds (weight, id);
CREATE INDEX component_builds_task_id_idx ON component_builds (task_id, id);
CREATE INDEX component_builds_state_idx ON component_builds (state, id);
CREATE INDEX component_builds_state_reason_idx ON component_builds (state_reason, id);
CREATE INDEX component_builds_nvr_idx ON component_builds (nvr, id);
CREATE INDEX component_builds_reused_component_id_idx ON component_builds (reused_component_id, id);
CREATE INDEX component_builds_tagged_idx ON component_builds (tagged, id);
CREATE INDEX component_builds_tagged_in_final_idx ON component_builds (tagged_in_final, id);

CREATE TABLE component_builds_trace (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    component_id BIGINT  NOT NULL REFERENCES component_builds (id),
    state_time   TIMESTAMPTZ NOT NULL,
    state        INTEGER,
    state_reason TEXT,
    task_id      BIGINT
);
CREATE INDEX component_builds_trace_component_id_idx ON component_builds_trace (component_id, id);

-- The outbox: written in the transaction of the state change it describes,
-- published by the relay after commit.
CREATE TABLE events (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type               TEXT    NOT NULL,
    module_build_id    BIGINT  NOT NULL REFERENCES module_builds (id),
    component_build_id BIGINT  REFERENCES component_builds (id),
    created_at         TIMESTAMPTZ NOT NULL,
    payload            TEXT    NOT NULL,
    published_at       TIMESTAMPTZ
);
CREATE INDEX events_unpublished_idx ON events (id) WHERE published_at IS NULL;
CREATE INDEX events_module_build_id_idx ON events (module_build_id, id);

-- +goose Down
DROP TABLE events;
DROP TABLE component_builds_trace;
DROP TABLE component_builds;
DROP TABLE module_builds_trace;
DROP TABLE module_builds;
