package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/rida-build/rida"
)

// componentColumns is the column list every component query selects, in the
// order componentRow.dest scans them.
const componentColumns = `id, module_id, package, format, scmurl, ref, buildorder, batch, buildonly,
 build_time_only, weight, task_id, task_state, state, state_reason, nvr, reused_component_id, tagged,
 tagged_in_final, rev`

// componentRow holds the scan targets of one component row, reused across
// the rows of a query.
type componentRow struct {
	id, moduleID, buildOrder, batch, rev intValue
	pkg, format, scmurl                  string
	ref, stateReason, nvr                textValue
	buildOnly, buildTimeOnly             boolValue
	tagged, taggedInFinal                boolValue
	weight                               floatValue
	taskID, taskState, state, reusedID   intValue
	dest                                 []any
	// block hands out ComponentBuilds from one allocation per chunk
	// rather than one per row.
	block []rida.ComponentBuild
}

func newComponentRow() *componentRow {
	r := &componentRow{}
	r.dest = []any{&r.id, &r.moduleID, &r.pkg, &r.format, &r.scmurl, &r.ref, &r.buildOrder,
		&r.batch, &r.buildOnly, &r.buildTimeOnly, &r.weight, &r.taskID, &r.taskState, &r.state,
		&r.stateReason, &r.nvr, &r.reusedID, &r.tagged, &r.taggedInFinal, &r.rev}
	return r
}

// componentBlock is how many ComponentBuilds one allocation holds.
const componentBlock = 16

func (r *componentRow) build() *rida.ComponentBuild {
	if len(r.block) == 0 {
		r.block = make([]rida.ComponentBuild, componentBlock)
	}
	c := &r.block[0]
	r.block = r.block[1:]
	*c = rida.ComponentBuild{
		ID: r.id.V, ModuleBuildID: r.moduleID.V, Package: r.pkg, Format: r.format, SCMURL: r.scmurl,
		Ref: r.ref.V, BuildOrder: r.buildOrder.V, Batch: int(r.batch.V), BuildOnly: bool(r.buildOnly),
		BuildTimeOnly: bool(r.buildTimeOnly), Weight: r.weight.V, TaskID: r.taskID.V,
		State: rida.ComponentWaiting, StateReason: r.stateReason.V, NVR: r.nvr.V,
		Tagged: bool(r.tagged), TaggedInFinal: bool(r.taggedInFinal), Rev: r.rev.V,
	}
	if r.taskState.Valid {
		ts := rida.TaskState(r.taskState.V)
		c.TaskState = &ts
	}
	if r.state.Valid {
		c.State = rida.ComponentState(r.state.V)
	}
	if r.reusedID.Valid {
		v := r.reusedID.V
		c.ReusedComponentID = &v
	}
	return c
}

// componentStateArg stores ComponentWaiting as NULL, as MBS does for a
// component not yet submitted.
func componentStateArg(s rida.ComponentState) any {
	if s == rida.ComponentWaiting {
		return nil
	}
	return int(s)
}

func taskStateArg(s *rida.TaskState) any {
	if s == nil {
		return nil
	}
	return int(*s)
}

// scanComponents scans and closes rows of componentColumns.
func scanComponents(rows *sql.Rows) ([]*rida.ComponentBuild, error) {
	defer rows.Close()
	var out []*rida.ComponentBuild
	r := newComponentRow()
	for rows.Next() {
		if err := rows.Scan(r.dest...); err != nil {
			return nil, err
		}
		out = append(out, r.build())
	}
	return out, rows.Err()
}

// scanComponentTasks scans and closes rows of componentTaskColumns.
func scanComponentTasks(rows *sql.Rows) ([]*rida.ComponentBuild, error) {
	defer rows.Close()
	var out []*rida.ComponentBuild
	r := newComponentRow()
	dest := []any{&r.id, &r.moduleID, &r.pkg, &r.format, &r.batch, &r.taskID, &r.taskState, &r.state, &r.stateReason, &r.nvr}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, r.build())
	}
	return out, rows.Err()
}

// loadComponentTraces fills StateTrace of comps from a fixed query
// returning (component_id, state_time, state, state_reason) rows. A NULL
// state is ComponentWaiting.
func loadComponentTraces(ctx context.Context, r runner, comps []*rida.ComponentBuild, query string, args []any) error {
	byID := make(map[int64]*rida.ComponentBuild, len(comps))
	for _, c := range comps {
		byID[c.ID] = c
	}
	rows, err := r.query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("load component trace: %w", err)
	}
	defer rows.Close()
	var (
		id     intValue
		at     timeValue
		state  intValue
		reason textValue
	)
	dest := []any{&id, &at, &state, &reason}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("load component trace: %w", err)
		}
		c := byID[id.V]
		if c == nil {
			continue
		}
		s := int(rida.ComponentWaiting)
		if state.Valid {
			s = int(state.V)
		}
		c.StateTrace = append(c.StateTrace, rida.StateChange{Time: at.Time, State: s, Reason: reason.V})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load component trace: %w", err)
	}
	return nil
}

const selectComponentByIDSQL = `SELECT ` + componentColumns + ` FROM component_builds WHERE id = ?`

func findComponentBuild(ctx context.Context, q runner, id int64) (*rida.ComponentBuild, error) {
	r := newComponentRow()
	if err := q.queryRow(ctx, selectComponentByIDSQL, id).Scan(r.dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, rida.ErrComponentBuildNotFound
		}
		return nil, err
	}
	return r.build(), nil
}

// FindComponentBuildByID returns the component build with the given id, and
// its state trace when withTrace is set. An unknown id is
// rida.ErrComponentBuildNotFound.
func (db *DB) FindComponentBuildByID(ctx context.Context, id int64, withTrace bool) (*rida.ComponentBuild, error) {
	var c *rida.ComponentBuild
	var err error
	if !withTrace {
		c, err = findComponentBuild(ctx, db.run(nil), id)
	} else {
		err = db.inReadTx(ctx, func(tx *sql.Tx) error {
			var err error
			r := db.run(tx)
			if c, err = findComponentBuild(ctx, r, id); err != nil {
				return err
			}
			return loadComponentTraces(ctx, r, []*rida.ComponentBuild{c}, componentTracesByIDsSQL(1), []any{id})
		})
	}
	if err != nil {
		return nil, wrapErr("find component build "+strconv.FormatInt(id, 10), err)
	}
	return c, nil
}

// FindComponentBuilds returns one page of the component builds matching f
// and the number of all matches; with f.IncludeStateTrace, the traces of the
// whole page are loaded with one query.
func (db *DB) FindComponentBuilds(ctx context.Context, f rida.ComponentBuildFilter) ([]*rida.ComponentBuild, int, error) {
	lq, err := buildComponentBuildsQuery(&f)
	if err != nil {
		return nil, 0, fmt.Errorf("find component builds: %w", err)
	}
	// Prepared before the transaction: preparing takes a pooled connection.
	selStmt, countStmt := db.prepareDynamic(ctx, lq.sel), db.prepareDynamic(ctx, lq.count)
	var out []*rida.ComponentBuild
	var total int
	err = db.inReadTx(ctx, func(tx *sql.Tx) error {
		r := db.run(tx)
		rows, err := r.queryDynamic(ctx, selStmt, lq.sel, lq.selArgs()...)
		if err != nil {
			return err
		}
		if out, err = scanComponents(rows); err != nil {
			return err
		}
		// As for module builds, a partial page gives the total for free.
		if len(out) < lq.perPage && (len(out) > 0 || lq.offset == 0) {
			total = lq.offset + len(out)
		} else if err := r.queryRowDynamic(ctx, countStmt, lq.count, lq.args...).Scan(&total); err != nil {
			return err
		}
		if !f.IncludeStateTrace || len(out) == 0 {
			return nil
		}
		raw := make([]int64, len(out))
		for i, c := range out {
			raw[i] = c.ID
		}
		n, ids := r.db.d.idArgs(raw)
		return loadComponentTraces(ctx, r, out, componentTracesByIDsSQL(n), ids)
	})
	if err != nil {
		return nil, 0, wrapErr("find component builds", err)
	}
	if out == nil {
		out = []*rida.ComponentBuild{}
	}
	return out, total, nil
}

// TransitionComponentBuild moves a component build to t.To under the same
// rules as TransitionModuleBuild: compare-and-set on t.FromRev (else
// rida.ErrStaleWrite, nothing written), legal moves only (else
// CodeConflict), state_reason replaced only by a non-empty t.Reason, TaskID
// and NVR recorded when non-zero, and a trace row plus an outbox event in
// the same transaction. It returns the updated component without its trace.
func (db *DB) TransitionComponentBuild(ctx context.Context, t rida.ComponentTransition) (*rida.ComponentBuild, error) {
	var c *rida.ComponentBuild
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		r := db.run(tx)
		if c, err = findComponentBuild(ctx, r, t.ID); err != nil {
			return err
		}
		if c.Rev != t.FromRev {
			return rida.ErrStaleWrite
		}
		if !c.State.CanTransition(t.To) {
			return rida.Errorf(rida.CodeConflict, "Illegal transition of component build %d from %s to %s",
				t.ID, componentStateName(c.State), componentStateName(t.To))
		}
		now := db.nowUTC()
		args := make([]any, 0, 6)
		args = append(args, componentStateArg(t.To))
		if t.Reason != "" {
			args = append(args, t.Reason)
		}
		if t.TaskID != 0 {
			args = append(args, t.TaskID)
		}
		if t.NVR != "" {
			args = append(args, t.NVR)
		}
		args = append(args, t.ID, t.FromRev)
		res, err := r.exec(ctx, updateComponentStateSQL(t.Reason != "", t.TaskID != 0, t.NVR != ""), args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return rida.ErrStaleWrite
		}
		c.State, c.Rev = t.To, c.Rev+1
		if t.Reason != "" {
			c.StateReason = t.Reason
		}
		if t.TaskID != 0 {
			c.TaskID = t.TaskID
		}
		if t.NVR != "" {
			c.NVR = t.NVR
		}
		if _, err := r.exec(ctx, insertComponentTraceSQL, c.ID, db.d.timeArg(now),
			componentStateArg(c.State), nullString(c.StateReason), nullInt64(c.TaskID)); err != nil {
			return err
		}
		return insertEvent(ctx, r, rida.NewComponentEvent(c, now))
	})
	if err != nil {
		return nil, wrapErr("transition component build "+strconv.FormatInt(t.ID, 10), err)
	}
	return c, nil
}

// updateComponentStateSQL returns the CAS update of a component transition,
// one of eight static strings.
func updateComponentStateSQL(reason, taskID, nvr bool) string {
	q := "UPDATE component_builds SET state = ?, rev = rev + 1"
	if reason {
		q += ", state_reason = ?"
	}
	if taskID {
		q += ", task_id = ?"
	}
	if nvr {
		q += ", nvr = ?"
	}
	return q + " WHERE id = ? AND rev = ?"
}

// componentStateName names a state in messages; waiting has no Koji name.
func componentStateName(s rida.ComponentState) string {
	if s == rida.ComponentWaiting {
		return "waiting"
	}
	return s.String()
}
