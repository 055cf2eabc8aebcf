-- +goose Up
-- Siblings of a build (same name:stream:version and scratch flag, MBS's
-- ModuleBuild.siblings) are looked up for a whole page at once; this index
-- answers each lookup with one range, already in id order.
CREATE INDEX module_builds_siblings_idx ON module_builds (name, stream, version, scratch, id);

-- Planner statistics for a typical installation (10,000 module builds of
-- ~250 modules, 10 components each), as https://sqlite.org/lang_analyze.html
-- suggests for fixed plans. Without them SQLite assumes every index is
-- selective and picks e.g. the scratch index (two values) over the owner one,
-- or an index that avoids sorting over one that finds few rows. A later
-- ANALYZE on real data replaces them. ANALYZE first creates sqlite_stat1.
ANALYZE;
DELETE FROM sqlite_stat1;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('module_builds', NULL, '10000'),
    ('module_builds', 'module_builds_nsvc_uidx', '10000 40 10 2 1'),
    ('module_builds', 'module_builds_siblings_idx', '10000 40 10 2 2 1'),
    ('module_builds', 'module_builds_name_state_idx', '10000 40 30 1'),
    ('module_builds', 'module_builds_stream_idx', '10000 500 1'),
    ('module_builds', 'module_builds_version_idx', '10000 5 1'),
    ('module_builds', 'module_builds_context_idx', '10000 1000 1'),
    ('module_builds', 'module_builds_build_context_idx', '10000 2 1'),
    ('module_builds', 'module_builds_build_context_no_bms_idx', '10000 2 1'),
    ('module_builds', 'module_builds_runtime_context_idx', '10000 2 1'),
    ('module_builds', 'module_builds_ref_build_context_idx', '10000 2 1'),
    ('module_builds', 'module_builds_state_idx', '10000 2000 1'),
    ('module_builds', 'module_builds_state_reason_idx', '10000 100 1'),
    ('module_builds', 'module_builds_owner_idx', '10000 100 1'),
    ('module_builds', 'module_builds_scmurl_idx', '10000 5 1'),
    ('module_builds', 'module_builds_koji_tag_idx', '10000 1 1'),
    ('module_builds', 'module_builds_cg_build_koji_tag_idx', '10000 500 1'),
    ('module_builds', 'module_builds_rebuild_strategy_idx', '10000 5000 1'),
    ('module_builds', 'module_builds_scratch_idx', '10000 5000 1'),
    ('module_builds', 'module_builds_batch_idx', '10000 1000 1'),
    ('module_builds', 'module_builds_new_repo_task_id_idx', '10000 1 1'),
    ('module_builds', 'module_builds_stream_version_idx', '10000 1000 1'),
    ('module_builds', 'module_builds_reused_module_id_idx', '10000 5 1'),
    ('module_builds', 'module_builds_time_submitted_idx', '10000 1 1'),
    ('module_builds', 'module_builds_time_modified_idx', '10000 1 1'),
    ('module_builds', 'module_builds_time_completed_idx', '10000 2 1'),
    ('component_builds', NULL, '100000'),
    ('component_builds', 'component_builds_module_package_uidx', '100000 10 1'),
    ('component_builds', 'component_builds_module_id_idx', '100000 10 1'),
    ('component_builds', 'component_builds_package_idx', '100000 1000 1'),
    ('component_builds', 'component_builds_format_idx', '100000 100000 1'),
    ('component_builds', 'component_builds_scmurl_idx', '100000 10 1'),
    ('component_builds', 'component_builds_ref_idx', '100000 10 1'),
    ('component_builds', 'component_builds_batch_idx', '100000 20000 1'),
    ('component_builds', 'component_builds_buildonly_idx', '100000 50000 1'),
    ('component_builds', 'component_builds_build_time_only_idx', '100000 50000 1'),
    ('component_builds', 'component_builds_weight_idx', '100000 50000 1'),
    ('component_builds', 'component_builds_task_id_idx', '100000 1 1'),
    ('component_builds', 'component_builds_state_idx', '100000 20000 1'),
    ('component_builds', 'component_builds_state_reason_idx', '100000 1000 1'),
    ('component_builds', 'component_builds_nvr_idx', '100000 2 1'),
    ('component_builds', 'component_builds_reused_component_id_idx', '100000 2 1'),
    ('component_builds', 'component_builds_tagged_idx', '100000 50000 1'),
    ('component_builds', 'component_builds_tagged_in_final_idx', '100000 50000 1'),
    ('module_builds_trace', NULL, '50000'),
    ('module_builds_trace', 'module_builds_trace_module_id_idx', '50000 5 1'),
    ('component_builds_trace', NULL, '300000'),
    ('component_builds_trace', 'component_builds_trace_component_id_idx', '300000 3 1'),
    ('events', NULL, '400000'),
    ('events', 'events_unpublished_idx', '100 1'),
    ('events', 'events_module_build_id_idx', '400000 40 1');
-- Reload the statistics on this connection; the CREATE INDEX above makes the
-- other pooled connections reload the schema, statistics included.
ANALYZE sqlite_schema;

-- +goose Down
DELETE FROM sqlite_stat1;
DROP INDEX module_builds_siblings_idx;
