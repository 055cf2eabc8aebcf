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

-- +goose Down
DROP INDEX component_builds_state_reused_idx;
DROP INDEX module_builds_claim_idx;
CREATE INDEX module_builds_due_idx ON module_builds (state, next_check_at, id);
