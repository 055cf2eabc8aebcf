package sqlstore

import (
	"context"
	"database/sql"
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

// activeStates are the module states the engine works on.
var activeStates = []rida.ModuleState{rida.ModuleInit, rida.ModuleWait, rida.ModuleBuilding, rida.ModuleDone}

func claimSQL(d *dialect) string {
	q := `SELECT id FROM module_builds WHERE state IN (?, ?, ?, ?)
 AND (next_check_at IS NULL OR next_check_at <= ?) AND (lease_until IS NULL OR lease_until < ?)
 ORDER BY next_check_at ASC NULLS FIRST, id ASC LIMIT ?`
	if d.postgres() {
		// Concurrent claimers skip rows another claim is taking instead of
		// waiting for it, so each gets a disjoint set.
		q += " FOR UPDATE SKIP LOCKED"
	}
	return q
}

const (
	extendLeaseSQL = `UPDATE module_builds SET lease_until = ?
 WHERE id = ? AND lease_owner = ? AND lease_until >= ?`
	releaseLeaseSQL = `UPDATE module_builds SET lease_owner = NULL, lease_until = NULL, next_check_at = ?
 WHERE id = ? AND lease_owner = ?`
)

func takeLeaseSQL(n int) string {
	return `UPDATE module_builds SET lease_owner = ?, lease_until = ? WHERE id ` + idsIn(n)
}

func buildsByIDsSQL(n int) string {
	return `SELECT ` + moduleColumns + ` FROM module_builds WHERE id ` + idsIn(n) + ` ORDER BY id`
}

// ClaimDue leases up to limit due module builds to owner for ttl and
// returns them (without related rows): builds in init, wait, build or done
// whose next check time has come and whose lease is free or expired, the
// longest-waiting first. Concurrent claims never return the same build.
func (db *DB) ClaimDue(ctx context.Context, owner string, ttl time.Duration, limit int) ([]*rida.ModuleBuild, error) {
	if owner == "" || ttl <= 0 || limit <= 0 {
		return nil, rida.Errorf(rida.CodeInvalid, "claim due builds: owner, ttl and limit must be set (got %q, %v, %d)", owner, ttl, limit)
	}
	now := db.nowUTC()
	nowArg := db.d.timeArg(now)
	var out []*rida.ModuleBuild
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		r := db.run(tx)
		args := make([]any, 0, len(activeStates)+3)
		for _, s := range activeStates {
			args = append(args, int(s))
		}
		args = append(args, nowArg, nowArg, limit)
		rows, err := r.query(ctx, claimSQL(db.d), args...)
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
// build is next due (the zero time: at once). It is a CodeConflict when
// owner does not hold the lease.
func (db *DB) ReleaseLease(ctx context.Context, id int64, owner string, nextCheckAt time.Time) error {
	var next any
	if !nextCheckAt.IsZero() {
		next = db.d.timeArg(nextCheckAt)
	}
	res, err := db.run(nil).exec(ctx, releaseLeaseSQL, next, id, owner)
	return leaseResult("release lease of module build "+strconv.FormatInt(id, 10), res, err, id, owner)
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
