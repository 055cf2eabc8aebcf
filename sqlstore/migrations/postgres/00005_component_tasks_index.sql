-- +goose Up
-- Every module list reads the task view of the components of a whole page
-- (componentTaskColumns); this index holds all of it, so the read never
-- touches the table (an index-only scan).
CREATE INDEX component_builds_tasks_idx ON component_builds
    (module_id, id, package, format, batch, task_id, task_state, state, state_reason, nvr);

-- +goose Down
DROP INDEX component_builds_tasks_idx;
