package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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

// TransitionComponentBuild moves one component build to t.To: a
// TransitionComponentBuilds of one element, kept because most callers (a
// task finishing) move one component at a time.
func (db *DB) TransitionComponentBuild(ctx context.Context, t rida.ComponentTransition) (*rida.ComponentBuild, error) {
	out, err := db.transitionComponents(ctx, []rida.ComponentTransition{t})
	if err != nil {
		return nil, wrapErr("transition component build "+strconv.FormatInt(t.ID, 10), err)
	}
	return out[0], nil
}

// TransitionComponentBuilds moves component builds as one transaction,
// all or nothing, so the engine can start or cancel a whole batch without
// leaving half of it behind. Each move follows the rules of
// TransitionModuleBuild: compare-and-set on its FromRev (one stale rev is
// rida.ErrStaleWrite for all), legal moves only (else CodeConflict naming
// the component), state_reason replaced only by a non-empty Reason, TaskID
// and NVR recorded when non-zero, a trace row and an outbox event per
// component. Beyond rida's table, a BUILDING component may move to BUILDING
// again when the transition carries a task id (see componentMoveAllowed).
// Every module build with a moved component becomes due at once
// (next_check_at cleared), so the engine looks at it without waiting for its
// next scheduled check. The same component twice is CodeInvalid. It returns
// the updated components, in the order of ts, without their traces.
func (db *DB) TransitionComponentBuilds(ctx context.Context, ts []rida.ComponentTransition) ([]*rida.ComponentBuild, error) {
	out, err := db.transitionComponents(ctx, ts)
	if err != nil {
		return nil, wrapErr("transition component builds", err)
	}
	return out, nil
}

// componentMoveAllowed is rida's component state machine plus one move only
// the store knows: BUILDING to BUILDING with a task id. The engine marks a
// component BUILDING (task 0) before it submits it to the backend, so that a
// crash between the two leaves a trace to resolve, then records the task id
// of the submission with this move. Without a task id the move would record
// nothing new, so it stays illegal. rida.CanTransition is left without it on
// purpose: it is the table of state changes users and the API see.
func componentMoveAllowed(from rida.ComponentState, t rida.ComponentTransition) bool {
	if from == rida.ComponentBuilding && t.To == rida.ComponentBuilding {
		return t.TaskID != 0
	}
	return from.CanTransition(t.To)
}

// componentsByIDsSQL reads the components a batch of transitions moves. On
// PostgreSQL it also locks them, in id order: two batches sharing
// components then queue instead of deadlocking, and the checks made on the
// rows read hold until commit. FOR NO KEY UPDATE is the lock the UPDATE
// takes anyway; it does not block rows that reference the component.
func componentsByIDsSQL(n int) string {
	q := `SELECT ` + componentColumns + ` FROM component_builds WHERE id ` + idsIn(n)
	if n == anyArray {
		q += ` ORDER BY id FOR NO KEY UPDATE`
	}
	return q
}

// makeDueSQL clears the next check time of module builds: they are due at
// once.
func makeDueSQL(n int) string {
	return `UPDATE module_builds SET next_check_at = NULL WHERE id ` + idsIn(n)
}

// On PostgreSQL, where every statement is a network round trip, a batch of
// component transitions is written with one statement per table, its rows
// passed as arrays; on SQLite, where a statement is a function call, a
// prepared statement per row costs as little and needs no arrays. A NULL
// reason, task id or NVR keeps the column, as the eight static updates of
// updateComponentStateSQL do.
const (
	updateComponentsArraySQL = `UPDATE component_builds AS c SET state = t.state, rev = c.rev + 1,
 state_reason = COALESCE(t.reason, c.state_reason), task_id = COALESCE(t.task_id, c.task_id), nvr = COALESCE(t.nvr, c.nvr)
 FROM unnest(?::BIGINT[], ?::BIGINT[], ?::INTEGER[], ?::TEXT[], ?::BIGINT[], ?::TEXT[]) AS t(id, rev, state, reason, task_id, nvr)
 WHERE c.id = t.id AND c.rev = t.rev`
	insertComponentTracesArraySQL = `INSERT INTO component_builds_trace (component_id, state_time, state, state_reason, task_id)
 SELECT t.id, ?, t.state, t.reason, t.task_id
 FROM unnest(?::BIGINT[], ?::INTEGER[], ?::TEXT[], ?::BIGINT[]) WITH ORDINALITY AS t(id, state, reason, task_id, n)
 ORDER BY t.n`
)

// findComponentBuilds reads the components with the given ids, in id order,
// one query per maxIDsPerStatement of them; unknown ids are missing.
func findComponentBuilds(ctx context.Context, r runner, ids []int64) (map[int64]*rida.ComponentBuild, error) {
	out := make(map[int64]*rida.ComponentBuild, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), maxIDsPerStatement)
		size, args := r.db.d.idArgs(ids[:n])
		rows, err := r.query(ctx, componentsByIDsSQL(size), args...)
		if err != nil {
			return nil, err
		}
		comps, err := scanComponents(rows)
		if err != nil {
			return nil, err
		}
		for _, c := range comps {
			out[c.ID] = c
		}
		ids = ids[n:]
	}
	return out, nil
}

// transitionComponents is TransitionComponentBuilds without the operation
// name on errors. Every move is checked before anything is written. Rows are
// locked in a fixed order, the one TransitionModuleBuild follows too:
// components (by id), then their module builds, then the outbox.
func (db *DB) transitionComponents(ctx context.Context, ts []rida.ComponentTransition) ([]*rida.ComponentBuild, error) {
	if len(ts) == 0 {
		return []*rida.ComponentBuild{}, nil
	}
	order := make([]int, len(ts))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(ts[a].ID, ts[b].ID) })
	ids := make([]int64, len(ts))
	for k, i := range order {
		ids[k] = ts[i].ID
		if k > 0 && ids[k] == ids[k-1] {
			return nil, rida.Errorf(rida.CodeInvalid, "Component build %d is transitioned twice in one batch.", ids[k])
		}
	}
	// Errors name the component when there are several.
	named := func(id int64, err error) error {
		if len(ts) == 1 {
			return err
		}
		return fmt.Errorf("component build %d: %w", id, err)
	}
	out := make([]*rida.ComponentBuild, len(ts))
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		r := db.runBatch(tx)
		byID, err := findComponentBuilds(ctx, r, ids)
		if err != nil {
			return err
		}
		for _, i := range order {
			t := ts[i]
			c := byID[t.ID]
			switch {
			case c == nil:
				return named(t.ID, rida.ErrComponentBuildNotFound)
			case c.Rev != t.FromRev:
				return named(t.ID, rida.ErrStaleWrite)
			case !componentMoveAllowed(c.State, t):
				return rida.Errorf(rida.CodeConflict, "Illegal transition of component build %d from %s to %s",
					t.ID, componentStateName(c.State), componentStateName(t.To))
			}
		}
		// The components as they will be stored, in id order.
		var modules []int64
		moved := make([]*rida.ComponentBuild, len(order))
		for k, i := range order {
			t, c := ts[i], byID[ts[i].ID]
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
			if !slices.Contains(modules, c.ModuleBuildID) {
				modules = append(modules, c.ModuleBuildID)
			}
			moved[k], out[i] = c, c
		}
		now := db.nowUTC()
		nowArg := db.d.timeArg(now)
		write := writeComponentTransitions
		if db.d.postgres() {
			write = writeComponentTransitionsArray
		}
		if err := write(ctx, r, ts, order, moved, nowArg); err != nil {
			return err
		}
		slices.Sort(modules)
		nsvcs, err := moduleNSVCs(ctx, r, modules)
		if err != nil {
			return err
		}
		for len(modules) > 0 {
			n := min(len(modules), maxIDsPerStatement)
			size, dueArgs := db.d.idArgs(modules[:n])
			if _, err := r.exec(ctx, makeDueSQL(size), dueArgs...); err != nil {
				return err
			}
			modules = modules[n:]
		}
		events := make([]rida.Event, len(moved))
		for k, c := range moved {
			events[k] = rida.NewComponentEvent(c, nsvcs[c.ModuleBuildID], now)
		}
		return insertEvents(ctx, r, events)
	})
	if err != nil {
		return nil, err
	}
	db.eventsCommitted()
	return out, nil
}

// writeComponentTransitions writes the moves ts[order[k]] that give
// moved[k], with their trace rows: the compare-and-set update and the trace
// insert of each component, through statements prepared once.
func writeComponentTransitions(ctx context.Context, r runner, ts []rida.ComponentTransition, order []int, moved []*rida.ComponentBuild, nowArg any) error {
	args := make([]any, 0, 6)
	for k, i := range order {
		t, c := ts[i], moved[k]
		args = append(args[:0], componentStateArg(t.To))
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
		if err := oneRowChanged(r.exec(ctx, updateComponentStateSQL(t.Reason != "", t.TaskID != 0, t.NVR != ""), args...)); err != nil {
			return err
		}
		if _, err := r.exec(ctx, insertComponentTraceSQL, c.ID, nowArg,
			componentStateArg(c.State), nullString(c.StateReason), nullInt64(c.TaskID)); err != nil {
			return err
		}
	}
	return nil
}

// writeComponentTransitionsArray is writeComponentTransitions in two
// statements, for PostgreSQL.
func writeComponentTransitionsArray(ctx context.Context, r runner, ts []rida.ComponentTransition, order []int, moved []*rida.ComponentBuild, nowArg any) error {
	n := len(order)
	ids, revs, taskIDs := make([]int64, n), make([]int64, n), make([]*int64, n)
	states, reasons, nvrs := make([]*int32, n), make([]*string, n), make([]*string, n)
	for k, i := range order {
		t := &ts[i]
		ids[k], revs[k] = t.ID, t.FromRev
		states[k] = componentStatePtr(t.To)
		if t.Reason != "" {
			reasons[k] = &t.Reason
		}
		if t.TaskID != 0 {
			taskIDs[k] = &t.TaskID
		}
		if t.NVR != "" {
			nvrs[k] = &t.NVR
		}
	}
	res, err := r.exec(ctx, updateComponentsArraySQL, ids, revs, states, reasons, taskIDs, nvrs)
	if err != nil {
		return err
	}
	if affected, err := res.RowsAffected(); err != nil {
		return err
	} else if affected != int64(n) {
		// Cannot happen while the rows are locked; checked all the same.
		return rida.ErrStaleWrite
	}
	// The trace records the components as they now are.
	for k, c := range moved {
		states[k], reasons[k], taskIDs[k] = componentStatePtr(c.State), nil, nil
		if c.StateReason != "" {
			reasons[k] = &c.StateReason
		}
		if c.TaskID != 0 {
			taskIDs[k] = &c.TaskID
		}
	}
	_, err = r.exec(ctx, insertComponentTracesArraySQL, nowArg, ids, states, reasons, taskIDs)
	return err
}

// componentStatePtr is componentStateArg for an array element.
func componentStatePtr(s rida.ComponentState) *int32 {
	if s == rida.ComponentWaiting {
		return nil
	}
	v := int32(s)
	return &v
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
