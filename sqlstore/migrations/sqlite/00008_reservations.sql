-- +goose Up
-- Koji's content-generator reservation of a module's NVRs covers the
-- module's -devel twin too (koji_build_id and koji_cg_token hold the
-- module's own), and a failed build gives its reservations back
-- (CGRefundBuild): koji_refunded says it did, so nothing is left to do for
-- the build in Koji.
ALTER TABLE module_builds ADD COLUMN koji_devel_build_id BIGINT;
ALTER TABLE module_builds ADD COLUMN koji_devel_cg_token TEXT;
ALTER TABLE module_builds ADD COLUMN koji_refunded BOOLEAN NOT NULL DEFAULT 0;
-- The engine also claims failed builds that hold a reservation not refunded
-- yet. Failed builds pile up, almost all of them refunded or never
-- reserved, so the claim's failed-and-reserved branch reads only the few
-- left through this index.
CREATE INDEX module_builds_refund_idx ON module_builds (state, koji_refunded, koji_build_id, id);
-- Planner statistics in the shape of 00002's: most builds of a state share
-- one koji_refunded value, and a reserved build id is one build's.
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('module_builds', 'module_builds_refund_idx', '10000 2000 1000 1 1');
ANALYZE sqlite_schema;

-- +goose Down
DELETE FROM sqlite_stat1 WHERE idx = 'module_builds_refund_idx';
DROP INDEX module_builds_refund_idx;
ALTER TABLE module_builds DROP COLUMN koji_refunded;
ALTER TABLE module_builds DROP COLUMN koji_devel_cg_token;
ALTER TABLE module_builds DROP COLUMN koji_devel_build_id;
