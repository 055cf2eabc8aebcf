package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rida-build/rida"
)

// Leases are how engine processes share the work without stepping on each
// other and without losing it when one dies (style.md §8.5): a process
// claims due builds for a while (ClaimDue), renews the claim while it works
// (ExtendLease), and gives it back with the time the build is next due
// (ReleaseLease). A lease that runs out makes the build claimable again.
// Leases are bookkeeping, not state: they never bump rev or emit events, and
// state changes stay compare-and-set transitions.

// claimSQL selects the due builds the engine works on: builds in init,
// wait and build; builds in done that are not scratch builds (a scratch
// build stays done, mbs.md §3.12, so it would be claimed forever for
// nothing); failed builds that still have an unbuilt component, which the
// engine cancels; and failed builds that hold a Koji reservation not
// refunded yet, which the engine gives back. Failed, ready and scratch
// builds pile up, so a claim must not read them: the candidates come from
// four index-only branches (00007's and 00008's indexes), and only the
// candidates' rows are read for their next check and lease. Failed
// candidates are found from the unbuilt components, few at any time, rather
// than the other way round; CROSS JOIN makes SQLite keep that join order
// (PostgreSQL picks it from its statistics). Reserved ones come from
// module_builds_refund_idx, where the unrefunded reservations of failed
// builds are one range. As one flat OR, both planners read every failed
// build, and SQLite the whole table (TestSchedulerQueriesUseIndexes checks
// the plan). The arguments are claimArgs.
func claimSQL(d *dialect) string {
	q := claimSelectSQL
	if d.postgres() {
		// Concurrent claimers skip rows another claim is taking instead of
		// waiting for it, so each gets a disjoint set.
		q += " FOR UPDATE SKIP LOCKED"
	}
	return q
}

// claimSelectSQL is claimSQL without row locks: ClaimDue's read-only probe.
const claimSelectSQL = `SELECT id FROM module_builds
 WHERE id IN (SELECT id FROM module_builds WHERE state IN (?, ?, ?)
  UNION ALL SELECT id FROM module_builds WHERE state = ? AND scratch = ?
  UNION ALL SELECT m.id FROM component_builds c CROSS JOIN module_builds m
   WHERE (c.state IS NULL OR c.state = ?) AND m.id = c.module_id AND m.state = ?
  UNION ALL SELECT id FROM module_builds WHERE state = ? AND koji_refunded = ? AND koji_build_id IS NOT NULL)
 AND (next_check_at IS NULL OR next_check_at <= ?) AND (lease_until IS NULL OR lease_until < ?)
 ORDER BY next_check_at ASC NULLS FIRST, id ASC LIMIT ?`

// claimArgs are the arguments of claimSQL.
func claimArgs(nowArg any, limit int) []any {
	return []any{int(rida.ModuleInit), int(rida.ModuleWait), int(rida.ModuleBuilding),
		int(rida.ModuleDone), false, int(rida.ComponentBuilding), int(rida.ModuleFailed),
		int(rida.ModuleFailed), false, nowArg, nowArg, limit}
}

const extendLeaseSQL = `UPDATE module_builds SET lease_until = ?
 WHERE id = ? AND lease_owner = ? AND lease_until >= ?`

// releaseLeaseSQL keeps the caller's next check time only if the build is
// still at the revision the caller last saw; otherwise someone changed it
// meanwhile (a cancel, say) and it is due at once.
func releaseLeaseSQL(d *dialect) string {
	return `UPDATE module_builds SET lease_owner = NULL, lease_until = NULL,
 next_check_at = CASE WHEN rev = ? THEN ` + d.timeParam() + ` END
 WHERE id = ? AND lease_owner = ?`
}

func takeLeaseSQL(n int) string {
	return `UPDATE module_builds SET lease_owner = ?, lease_until = ? WHERE id ` + idsIn(n)
}

func buildsByIDsSQL(n int) string {
	return `SELECT ` + moduleColumns + ` FROM module_builds WHERE id ` + idsIn(n) + ` ORDER BY id`
}

// ClaimDue leases up to limit due module builds to owner for ttl and
// returns them (without related rows): builds the engine has work on (in
// init, wait or build; in done unless scratch; failed with a component
// still waiting or building or with a Koji reservation not refunded) whose next check time has come and whose
// lease is free or expired, the longest-waiting first. Concurrent claims
// never return the same build.
func (db *DB) ClaimDue(ctx context.Context, owner string, ttl time.Duration, limit int) ([]*rida.ModuleBuild, error) {
	if owner == "" || ttl <= 0 || limit <= 0 {
		return nil, rida.Errorf(rida.CodeInvalid, "claim due builds: owner, ttl and limit must be set (got %q, %v, %d)", owner, ttl, limit)
	}
	now := db.nowUTC()
	nowArg := db.d.timeArg(now)
	// The engine claims every second or so and usually finds nothing: a
	// read-only probe first keeps those scans from taking SQLite's write
	// lock (or PostgreSQL row locks) for nothing. The transaction selects
	// again, so a build claimed by someone else in between is not taken.
	var probe int64
	switch err := db.run(nil).queryRow(ctx, claimSelectSQL, claimArgs(nowArg, 1)...).Scan(&probe); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, wrapErr("claim due builds", err)
	}
	var out []*rida.ModuleBuild
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		r := db.run(tx)
		rows, err := r.query(ctx, claimSQL(db.d), claimArgs(nowArg, limit)...)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		n, idArgs := db.d.idArgs(ids)
		if _, err := r.exec(ctx, takeLeaseSQL(n), append([]any{owner, db.d.timeArg(now.Add(ttl))}, idArgs...)...); err != nil {
			return err
		}
		rows, err = r.query(ctx, buildsByIDsSQL(n), idArgs...)
		if err != nil {
			return err
		}
		defer rows.Close()
		row := newModuleRow()
		for rows.Next() {
			if err := rows.Scan(row.dest...); err != nil {
				return err
			}
			m, err := row.build()
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrapErr("claim due builds", err)
	}
	return out, nil
}

// ExtendLease renews owner's lease on a build for ttl from now: the
// heartbeat of a long step. It is a CodeConflict when owner no longer holds
// an unexpired lease, which tells the caller to stop working on the build.
func (db *DB) ExtendLease(ctx context.Context, id int64, owner string, ttl time.Duration) error {
	now := db.nowUTC()
	res, err := db.run(nil).exec(ctx, extendLeaseSQL, db.d.timeArg(now.Add(ttl)), id, owner, db.d.timeArg(now))
	return leaseResult("extend lease of module build "+strconv.FormatInt(id, 10), res, err, id, owner)
}

// ReleaseLease gives owner's lease on a build back and records when the
// build is next due: nextCheckAt (the zero time: at once) if the build is
// still at revision seenRev, the last the caller saw; at once otherwise,
// because someone changed it meanwhile (a cancel, a resubmission) and the
// caller's schedule was made for the old build. It is a CodeConflict when
// owner does not hold the lease.
func (db *DB) ReleaseLease(ctx context.Context, id int64, owner string, nextCheckAt time.Time, seenRev int64) error {
	var next any
	if !nextCheckAt.IsZero() {
		next = db.d.timeArg(nextCheckAt)
	}
	res, err := db.run(nil).exec(ctx, releaseLeaseSQL(db.d), seenRev, next, id, owner)
	return leaseResult("release lease of module build "+strconv.FormatInt(id, 10), res, err, id, owner)
}

// MakeDue makes a build due at once (next_check_at cleared) without
// changing it otherwise: no rev bump, no event. It is how something outside
// the engine's loop (a message from the backend, say) gets the engine to
// look at a build now rather than at its next scheduled check. An unknown id
// is rida.ErrModuleBuildNotFound.
func (db *DB) MakeDue(ctx context.Context, id int64) error {
	op := "make module build " + strconv.FormatInt(id, 10) + " due"
	size, args := db.d.idArgs([]int64{id})
	res, err := db.run(nil).exec(ctx, makeDueSQL(size), args...)
	if err != nil {
		return wrapErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrapErr(op, err)
	} else if n != 1 {
		return fmt.Errorf("%s: %w", op, rida.ErrModuleBuildNotFound)
	}
	return nil
}

// schedulerLoadSQL counts what the scheduler's concurrency limits look at,
// in one statement (one snapshot). Reused components never occupy the
// backend, as in MBS's at_concurrent_component_threshold. Both counts are
// index-only (component_builds_state_reused_idx, module_builds_state_idx).
const schedulerLoadSQL = `SELECT
 (SELECT COUNT(*) FROM component_builds WHERE state = ? AND reused_component_id IS NULL),
 (SELECT COUNT(*) FROM module_builds WHERE state = ?)`

// SchedulerLoad returns how many component builds are building (reused ones
// excluded) and how many module builds are in state build, across all
// builds: what the scheduler compares with its limits before it submits
// more work.
func (db *DB) SchedulerLoad(ctx context.Context) (buildingComponents, buildingModules int, err error) {
	err = db.run(nil).queryRow(ctx, schedulerLoadSQL, int(rida.ComponentBuilding), int(rida.ModuleBuilding)).
		Scan(&buildingComponents, &buildingModules)
	if err != nil {
		return 0, 0, wrapErr("scheduler load", err)
	}
	return buildingComponents, buildingModules, nil
}

func leaseResult(op string, res sql.Result, err error, id int64, owner string) error {
	if err != nil {
		return wrapErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrapErr(op, err)
	}
	if n != 1 {
		return fmt.Errorf("%s: %w", op, rida.Errorf(rida.CodeConflict, "The lease of module build %d is not held by %s.", id, owner))
	}
	return nil
}
