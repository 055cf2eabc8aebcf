-- +goose Up
-- The engine claims builds in init, wait and build, builds in done unless
-- they are scratch builds (those stay done, mbs.md §3.12), and failed builds
-- that still have an unbuilt component (it cancels those). Scratch builds in
-- done pile up, so the done branch of a claim needs scratch in its index:
-- this one replaces 00006's module_builds_due_idx (state, next_check_at, id).
DROP INDEX module_builds_due_idx;
CREATE INDEX module_builds_claim_idx ON module_builds (state, scratch, next_check_at, id);
-- Failed builds pile up too, and almost none has an unbuilt component, so a
-- claim finds the failed ones from their unbuilt components (state NULL or
-- BUILDING), few at any time, through this index. It also counts the
-- building components the scheduler's concurrency limit looks at (reused
-- ones excluded) without reading the table.
CREATE INDEX component_builds_state_reused_idx ON component_builds (state, reused_component_id, module_id);
-- Planner statistics in the shape of 00002's. next_check_at is NULL for
-- most builds (every transition clears it), so it does not narrow a state
-- down: without saying so SQLite would walk the NULLs of every state.
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('module_builds', 'module_builds_claim_idx', '10000 2000 1000 1000 1'),
    ('component_builds', 'component_builds_state_reused_idx', '100000 20000 20000 10 1');
ANALYZE sqlite_schema;

-- +goose Down
DELETE FROM sqlite_stat1 WHERE idx IN ('module_builds_claim_idx', 'component_builds_state_reused_idx');
DROP INDEX component_builds_state_reused_idx;
DROP INDEX module_builds_claim_idx;
CREATE INDEX module_builds_due_idx ON module_builds (state, next_check_at, id);
