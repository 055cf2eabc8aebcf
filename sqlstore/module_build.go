package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rida-build/rida"
)

// moduleColumns is the column list every module build query selects, in the
// order moduleRow.dest scans them.
const moduleColumns = `id, name, stream, version, context, build_context, build_context_no_bms,
 runtime_context, ref_build_context, state, state_reason, owner, scmurl, modulemd, koji_tag,
 cg_build_koji_tag, rebuild_strategy, scratch, batch, new_repo_task_id, stream_version, srpms,
 buildrequires, time_submitted, time_modified, time_completed, reused_module_id, koji_build_id,
 koji_cg_token, rev, requires, commit_ref, mse, koji_devel_build_id, koji_devel_cg_token, koji_refunded`

// moduleRow holds the scan targets of one module build row. A list query
// reuses one moduleRow (and its dest slice) for every row, so scanning does
// not allocate per column.
type moduleRow struct {
	id, version                                intValue
	name, stream, context, owner, modulemd     string
	rebuildStrategy                            string
	buildContext, buildContextNoBMS            textValue
	runtimeContext, refBuildContext            textValue
	stateReason, scmurl, kojiTag, cgBuildTag   textValue
	srpms, buildRequires, kojiCGToken          textValue
	requires, commit, kojiDevelCGToken         textValue
	mse, kojiRefunded                          boolValue
	state, batch                               intValue
	scratch                                    boolValue
	newRepoTaskID, reusedModuleID, kojiBuildID intValue
	kojiDevelBuildID                           intValue
	streamVersion                              floatValue
	submitted, modified, completed             timeValue
	rev                                        intValue
	dest                                       []any
}

func newModuleRow() *moduleRow {
	r := &moduleRow{}
	r.dest = []any{&r.id, &r.name, &r.stream, &r.version, &r.context, &r.buildContext,
		&r.buildContextNoBMS, &r.runtimeContext, &r.refBuildContext, &r.state, &r.stateReason,
		&r.owner, &r.scmurl, &r.modulemd, &r.kojiTag, &r.cgBuildTag, &r.rebuildStrategy,
		&r.scratch, &r.batch, &r.newRepoTaskID, &r.streamVersion, &r.srpms, &r.buildRequires,
		&r.submitted, &r.modified, &r.completed, &r.reusedModuleID, &r.kojiBuildID,
		&r.kojiCGToken, &r.rev, &r.requires, &r.commit, &r.mse, &r.kojiDevelBuildID, &r.kojiDevelCGToken,
		&r.kojiRefunded}
	return r
}

// build converts the scanned row into a ModuleBuild.
func (r *moduleRow) build() (*rida.ModuleBuild, error) {
	m := &rida.ModuleBuild{
		ID: r.id.V, Name: r.name, Stream: r.stream, Version: uint64(r.version.V), Context: r.context,
		BuildContext: r.buildContext.V, BuildContextNoBMS: r.buildContextNoBMS.V,
		RuntimeContext: r.runtimeContext.V, RefBuildContext: r.refBuildContext.V,
		State: rida.ModuleState(r.state.V), StateReason: r.stateReason.V, Owner: r.owner,
		SCMURL: r.scmurl.V, Modulemd: r.modulemd, KojiTag: r.kojiTag.V,
		CGBuildKojiTag: r.cgBuildTag.V, RebuildStrategy: rida.RebuildStrategy(r.rebuildStrategy),
		Scratch: bool(r.scratch), Batch: int(r.batch.V), NewRepoTaskID: r.newRepoTaskID.V,
		TimeSubmitted: r.submitted.Time, TimeModified: r.modified.Time, TimeCompleted: r.completed.ptr(),
		KojiBuildID: r.kojiBuildID.V, KojiCGToken: r.kojiCGToken.V,
		KojiDevelBuildID: r.kojiDevelBuildID.V, KojiDevelCGToken: r.kojiDevelCGToken.V,
		KojiRefunded: bool(r.kojiRefunded), Rev: r.rev.V, Commit: r.commit.V, MSE: bool(r.mse),
	}
	if r.streamVersion.Valid {
		v := r.streamVersion.V
		m.StreamVersion = &v
	}
	if r.reusedModuleID.Valid {
		v := r.reusedModuleID.V
		m.ReusedModuleID = &v
	}
	if r.srpms.Valid {
		if err := json.Unmarshal([]byte(r.srpms.V), &m.SRPMs); err != nil {
			return nil, fmt.Errorf("module build %d: decode srpms: %w", r.id.V, err)
		}
	}
	if r.buildRequires.Valid {
		if err := json.Unmarshal([]byte(r.buildRequires.V), &m.BuildRequires); err != nil {
			return nil, fmt.Errorf("module build %d: decode buildrequires: %w", r.id.V, err)
		}
	}
	if r.requires.Valid {
		if err := json.Unmarshal([]byte(r.requires.V), &m.Requires); err != nil {
			return nil, fmt.Errorf("module build %d: decode requires: %w", r.id.V, err)
		}
	}
	return m, nil
}

// checkVersion rejects module versions BIGINT cannot hold. MBS casts
// versions to BIGINT too, so no real module has one.
func checkVersion(v uint64) error {
	if v > math.MaxInt64 {
		return rida.Errorf(rida.CodeUnprocessable, "module version %d is above %d", v, int64(math.MaxInt64))
	}
	return nil
}

// jsonColumn encodes v for a JSON text column; a nil slice or map is NULL,
// so an unset value and an empty one both survive the round trip.
func jsonColumn(v any, isNil bool) (any, error) {
	if isNil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

const insertModuleSQL = `INSERT INTO module_builds (name, stream, version, context, build_context,
 build_context_no_bms, runtime_context, ref_build_context, state, state_reason, owner, scmurl,
 modulemd, koji_tag, cg_build_koji_tag, rebuild_strategy, scratch, batch, new_repo_task_id,
 stream_version, srpms, buildrequires, time_submitted, time_modified, time_completed,
 reused_module_id, koji_build_id, koji_cg_token, requires, commit_ref, mse, koji_devel_build_id,
 koji_devel_cg_token, koji_refunded, rev)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
 RETURNING id`

const insertModuleTraceSQL = `INSERT INTO module_builds_trace (module_id, state_time, state, state_reason)
 VALUES (?, ?, ?, ?)`

const insertComponentSQL = `INSERT INTO component_builds (module_id, package, format, scmurl, ref,
 buildorder, batch, buildonly, build_time_only, weight, task_id, task_state, state, state_reason,
 nvr, reused_component_id, tagged, tagged_in_final, rev)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
 RETURNING id`

const insertComponentTraceSQL = `INSERT INTO component_builds_trace (component_id, state_time, state,
 state_reason, task_id) VALUES (?, ?, ?, ?, ?)`

const insertEventSQL = `INSERT INTO events (type, module_build_id, component_build_id, created_at, payload)
 VALUES (?, ?, ?, ?, ?)`

// insertEventsArraySQL writes several events in one statement on
// PostgreSQL, in array order (so ids follow it).
const insertEventsArraySQL = `INSERT INTO events (type, module_build_id, component_build_id, created_at, payload)
 SELECT t.type, t.module_id, t.component_id, t.at, t.payload
 FROM unnest(?::TEXT[], ?::BIGINT[], ?::BIGINT[], ?::TIMESTAMPTZ[], ?::TEXT[]) WITH ORDINALITY AS t(type, module_id, component_id, at, payload, n)
 ORDER BY t.n`

// CreateModuleBuild inserts m and its components (m.Components) in one
// transaction. It sets the IDs, Rev 1, TimeSubmitted and TimeModified (one
// "now" for all rows), each component's ModuleBuildID, writes one trace row
// for the module and for each component, and one outbox event for the
// module's initial state. An empty Context becomes MBS's default
// "00000000". A build with the same name:stream:version:context is a
// CodeConflict error; a version above math.MaxInt64 is CodeUnprocessable.
// m is changed only when the transaction commits.
func (db *DB) CreateModuleBuild(ctx context.Context, m *rida.ModuleBuild) error {
	if err := checkVersion(m.Version); err != nil {
		return fmt.Errorf("create module build: %w", err)
	}
	srpms, err := jsonColumn(m.SRPMs, m.SRPMs == nil)
	if err != nil {
		return fmt.Errorf("create module build: encode srpms: %w", err)
	}
	brs, err := jsonColumn(m.BuildRequires, m.BuildRequires == nil)
	if err != nil {
		return fmt.Errorf("create module build: encode buildrequires: %w", err)
	}
	requires, err := jsonColumn(m.Requires, m.Requires == nil)
	if err != nil {
		return fmt.Errorf("create module build: encode requires: %w", err)
	}
	now := db.nowUTC()
	nowArg := db.d.timeArg(now)
	created := *m
	created.Rev, created.TimeSubmitted, created.TimeModified = 1, now, now
	if created.Context == "" {
		created.Context = "00000000"
	}
	if m.TimeCompleted != nil {
		t := m.TimeCompleted.UTC().Truncate(time.Microsecond)
		created.TimeCompleted = &t
	}
	comps := make([]rida.ComponentBuild, len(m.Components))
	for i, c := range m.Components {
		comps[i] = *c
		comps[i].Rev = 1
	}
	var streamVersion any
	if m.StreamVersion != nil {
		streamVersion = *m.StreamVersion
	}

	err = db.inTx(ctx, func(tx *sql.Tx) error {
		r := db.run(tx)
		err := r.queryRow(ctx, insertModuleSQL,
			created.Name, created.Stream, int64(created.Version), created.Context,
			nullString(created.BuildContext), nullString(created.BuildContextNoBMS),
			nullString(created.RuntimeContext), nullString(created.RefBuildContext),
			int(created.State), nullString(created.StateReason), created.Owner,
			nullString(created.SCMURL), created.Modulemd, nullString(created.KojiTag),
			nullString(created.CGBuildKojiTag), string(created.RebuildStrategy), created.Scratch,
			created.Batch, nullInt64(created.NewRepoTaskID), streamVersion, srpms, brs,
			nowArg, nowArg, db.d.nullTimeArg(created.TimeCompleted),
			nullPtrInt64(created.ReusedModuleID), nullInt64(created.KojiBuildID),
			nullString(created.KojiCGToken), requires, nullString(created.Commit), created.MSE,
			nullInt64(created.KojiDevelBuildID), nullString(created.KojiDevelCGToken), created.KojiRefunded,
		).Scan(&created.ID)
		if err != nil {
			if isUniqueViolation(err) {
				return rida.Errorf(rida.CodeConflict, "A module build %s already exists.", created.NSVC())
			}
			return err
		}
		if _, err := r.exec(ctx, insertModuleTraceSQL,
			created.ID, nowArg, int(created.State), nullString(created.StateReason)); err != nil {
			return err
		}
		if len(comps) > 0 {
			if err := insertComponents(ctx, r, created.ID, comps, nowArg); err != nil {
				return err
			}
		}
		if len(m.VirtualStreams) > 0 || len(m.BaseModules) > 0 {
			if err := insertAssociations(ctx, r, created.ID, m); err != nil {
				return err
			}
		}
		e, err := moduleEvent(ctx, r, &created, now)
		if err != nil {
			return err
		}
		return insertEvent(ctx, r, e)
	})
	if err != nil {
		return wrapErr("create module build", err)
	}
	db.eventsCommitted()
	components := m.Components
	*m = created
	m.Components = components
	for i, c := range components {
		*c = comps[i]
	}
	return nil
}

// insertComponents inserts the components of a new module build and their
// initial trace rows with two prepared statements.
func insertComponents(ctx context.Context, r runner, moduleID int64, comps []rida.ComponentBuild, nowArg any) error {
	ins, trace := r.stmt(ctx, insertComponentSQL), r.stmt(ctx, insertComponentTraceSQL)
	if ins == nil || trace == nil {
		// PostgreSQL: pgx prepares and caches them itself.
		var err error
		if ins, err = r.tx.PrepareContext(ctx, r.db.d.q(insertComponentSQL)); err != nil {
			return err
		}
		defer ins.Close()
		if trace, err = r.tx.PrepareContext(ctx, r.db.d.q(insertComponentTraceSQL)); err != nil {
			return err
		}
		defer trace.Close()
	}
	for i := range comps {
		c := &comps[i]
		c.ModuleBuildID = moduleID
		err := ins.QueryRowContext(ctx, moduleID, c.Package, c.Format, c.SCMURL, nullString(c.Ref),
			c.BuildOrder, c.Batch, c.BuildOnly, c.BuildTimeOnly, c.Weight, nullInt64(c.TaskID),
			taskStateArg(c.TaskState), componentStateArg(c.State), nullString(c.StateReason),
			nullString(c.NVR), nullPtrInt64(c.ReusedComponentID), c.Tagged, c.TaggedInFinal,
		).Scan(&c.ID)
		if err != nil {
			if isUniqueViolation(err) {
				return rida.Errorf(rida.CodeConflict, "The component %q appears twice in the module build.", c.Package)
			}
			return err
		}
		if _, err := trace.ExecContext(ctx, c.ID, nowArg, componentStateArg(c.State),
			nullString(c.StateReason), nullInt64(c.TaskID)); err != nil {
			return err
		}
	}
	return nil
}

// insertEvent writes one outbox row (see insertEvents).
func insertEvent(ctx context.Context, r runner, e rida.Event) error {
	return insertEvents(ctx, r, []rida.Event{e})
}

// insertEvents writes outbox rows in order. On PostgreSQL it first takes
// the outbox lock (see dialect.lockOutbox), once: it is held until commit,
// so ids follow commit order. Callers write events last, after any row
// lock they take, so the lock is held briefly and never waited on while
// holding it. Several events are one statement there (insertEventsArraySQL).
func insertEvents(ctx context.Context, r runner, events []rida.Event) error {
	if lock := r.db.d.lockOutbox(); lock != "" {
		if _, err := r.tx.ExecContext(ctx, lock); err != nil {
			return err
		}
	}
	if r.db.d.postgres() && len(events) > 1 {
		n := len(events)
		types, modules, comps := make([]string, n), make([]int64, n), make([]*int64, n)
		at, payloads := make([]time.Time, n), make([]string, n)
		for i := range events {
			e := &events[i]
			types[i], modules[i], at[i], payloads[i] = string(e.Type), e.ModuleBuildID, e.At.UTC().Truncate(time.Microsecond), string(e.Payload)
			if e.ComponentBuildID != 0 {
				comps[i] = &e.ComponentBuildID
			}
		}
		_, err := r.exec(ctx, insertEventsArraySQL, types, modules, comps, at, payloads)
		return err
	}
	for _, e := range events {
		var comp any
		if e.ComponentBuildID != 0 {
			comp = e.ComponentBuildID
		}
		if _, err := r.exec(ctx, insertEventSQL, string(e.Type), e.ModuleBuildID, comp,
			r.db.d.timeArg(e.At), string(e.Payload)); err != nil {
			return err
		}
	}
	return nil
}

// moduleColumnsNoModulemd selects the same columns but leaves the modulemd
// text, often the largest value of a row, in the database.
var moduleColumnsNoModulemd = strings.Replace(moduleColumns, " modulemd,", " '' AS modulemd,", 1)

// moduleSelect returns the column list for a query that does or does not
// need the modulemd text.
func moduleSelect(withModulemd bool) string {
	if withModulemd {
		return moduleColumns
	}
	return moduleColumnsNoModulemd
}

const selectModuleByIDSQL = `SELECT ` + moduleColumns + ` FROM module_builds WHERE id = ?`

var selectModuleByIDNoModulemdSQL = `SELECT ` + moduleColumnsNoModulemd + ` FROM module_builds WHERE id = ?`

// findModuleBuild reads one module build row without related rows.
func findModuleBuild(ctx context.Context, q runner, id int64, withModulemd bool) (*rida.ModuleBuild, error) {
	r := newModuleRow()
	query := selectModuleByIDSQL
	if !withModulemd {
		query = selectModuleByIDNoModulemdSQL
	}
	if err := q.queryRow(ctx, query, id).Scan(r.dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, rida.ErrModuleBuildNotFound
		}
		return nil, err
	}
	return r.build()
}

// readTxOptions gives related-row loads one consistent snapshot: a deferred
// (read) transaction on SQLite, REPEATABLE READ on PostgreSQL.
var readTxOptions = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}

// inReadTx runs fn in a read-only snapshot transaction.
func (db *DB) inReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := readTxOptions
	if !db.d.postgres() {
		opts = &sql.TxOptions{ReadOnly: true}
	}
	tx, err := db.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// FindModuleBuildByID returns the module build with the given id and the
// related rows inc asks for, read in one snapshot. An unknown id is
// rida.ErrModuleBuildNotFound.
func (db *DB) FindModuleBuildByID(ctx context.Context, id int64, inc rida.ModuleBuildInclude) (*rida.ModuleBuild, error) {
	var m *rida.ModuleBuild
	var err error
	switch {
	case !includesAny(inc):
		m, err = findModuleBuild(ctx, db.run(nil), id, inc.Modulemd)
	case aggregable(db.d, inc):
		// One statement is one snapshot: no transaction needed.
		row, agg := newModuleRow(), &aggregateRow{inc: inc}
		query := "SELECT " + moduleSelect(inc.Modulemd) + aggregateColumns(inc) + " FROM module_builds WHERE id = ?"
		err = db.run(nil).queryRow(ctx, query, id).Scan(append(slices.Clone(row.dest), agg.dest()...)...)
		if errors.Is(err, sql.ErrNoRows) {
			err = rida.ErrModuleBuildNotFound
		}
		if err == nil {
			if m, err = row.build(); err == nil {
				err = agg.fill(m)
			}
		}
	default:
		err = db.inReadTx(ctx, func(tx *sql.Tx) error {
			var err error
			r := db.run(tx)
			if m, err = findModuleBuild(ctx, r, id, inc.Modulemd); err != nil {
				return err
			}
			return loadModuleRelated(ctx, r, []*rida.ModuleBuild{m}, inc)
		})
	}
	if err != nil {
		return nil, wrapErr("find module build "+strconv.FormatInt(id, 10), err)
	}
	return m, nil
}

func includesAny(inc rida.ModuleBuildInclude) bool {
	return inc.Components || inc.ComponentTasks || inc.StateTrace || inc.Siblings || inc.ComponentTraces ||
		inc.VirtualStreams || inc.BaseModules
}

// FindModuleBuilds returns one page of the module builds matching f, and the
// number of all matches. Related rows are loaded with one query per kind for
// the whole page.
func (db *DB) FindModuleBuilds(ctx context.Context, f rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error) {
	lq, err := buildModuleBuildsQuery(db.d, &f)
	if err != nil {
		return nil, 0, fmt.Errorf("find module builds: %w", err)
	}
	if lq.empty {
		return []*rida.ModuleBuild{}, 0, nil
	}
	// Prepared before the transaction: preparing takes a pooled connection.
	selStmt, countStmt := db.prepareDynamic(ctx, lq.sel), db.prepareDynamic(ctx, lq.count)
	var out []*rida.ModuleBuild
	var total int
	// Lists keep the per-kind queries on PostgreSQL too: for a page of
	// builds, decoding a thousand aggregated component rows costs more than
	// the round trips it saves (measured with BenchmarkAPI).
	err = db.inReadTx(ctx, func(tx *sql.Tx) error {
		r := db.run(tx)
		rows, err := r.queryDynamic(ctx, selStmt, lq.sel, lq.selArgs()...)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = make([]*rida.ModuleBuild, 0, lq.perPage)
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
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		// A page that is not full ends the result, so the count is known
		// without counting; only an empty page past the first cannot tell.
		if len(out) < lq.perPage && (len(out) > 0 || lq.offset == 0) {
			total = lq.offset + len(out)
		} else if err := r.queryRowDynamic(ctx, countStmt, lq.count, lq.args...).Scan(&total); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		return loadModuleRelated(ctx, r, out, f.Include)
	})
	if err != nil {
		return nil, 0, wrapErr("find module builds", err)
	}
	return out, total, nil
}

// loadModuleRelated fills Components, StateTrace and Siblings of ms as inc
// asks, with one query per kind for all of ms.
func loadModuleRelated(ctx context.Context, r runner, ms []*rida.ModuleBuild, inc rida.ModuleBuildInclude) error {
	if !includesAny(inc) {
		return nil
	}
	byID := make(map[int64]*rida.ModuleBuild, len(ms))
	raw := make([]int64, len(ms))
	for i, m := range ms {
		raw[i] = m.ID
		byID[m.ID] = m
	}
	n, ids := r.db.d.idArgs(raw)
	if inc.Components || inc.ComponentTraces || inc.ComponentTasks {
		full := inc.Components || inc.ComponentTraces
		query := componentsByModulesSQL(n)
		if !full {
			query = componentTasksByModulesSQL(n)
		}
		rows, err := r.query(ctx, query, ids...)
		if err != nil {
			return fmt.Errorf("load components: %w", err)
		}
		scan := scanComponents
		if !full {
			scan = scanComponentTasks
		}
		comps, err := scan(rows)
		if err != nil {
			return fmt.Errorf("load components: %w", err)
		}
		if inc.ComponentTraces && len(comps) > 0 {
			if err := loadComponentTraces(ctx, r, comps, componentTracesByModulesSQL(n), ids); err != nil {
				return err
			}
		}
		for _, c := range comps {
			m := byID[c.ModuleBuildID]
			m.Components = append(m.Components, c)
		}
	}
	if inc.StateTrace {
		rows, err := r.query(ctx, moduleTracesSQL(n), ids...)
		if err != nil {
			return fmt.Errorf("load module trace: %w", err)
		}
		defer rows.Close()
		var (
			moduleID, state intValue
			at              timeValue
			reason          textValue
		)
		dest := []any{&moduleID, &at, &state, &reason}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return fmt.Errorf("load module trace: %w", err)
			}
			m := byID[moduleID.V]
			m.StateTrace = append(m.StateTrace, rida.StateChange{Time: at.Time, State: int(state.V), Reason: reason.V})
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load module trace: %w", err)
		}
		rows.Close()
	}
	if inc.VirtualStreams || inc.BaseModules {
		if err := loadAssociations(ctx, r, byID, n, ids, inc); err != nil {
			return err
		}
	}
	if inc.Siblings {
		rows, err := r.query(ctx, siblingsSQL(n), ids...)
		if err != nil {
			return fmt.Errorf("load siblings: %w", err)
		}
		defer rows.Close()
		var a, b intValue
		dest := []any{&a, &b}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return fmt.Errorf("load siblings: %w", err)
			}
			m := byID[a.V]
			m.Siblings = append(m.Siblings, b.V)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load siblings: %w", err)
		}
	}
	return nil
}

// findAtRev reads a build for a compare-and-set: rida.ErrStaleWrite when
// it is no longer at fromRev.
func findAtRev(ctx context.Context, r runner, id, fromRev int64) (*rida.ModuleBuild, error) {
	m, err := findModuleBuild(ctx, r, id, false)
	if err != nil {
		return nil, err
	}
	if m.Rev != fromRev {
		return nil, rida.ErrStaleWrite
	}
	return m, nil
}

// oneRowChanged checks a compare-and-set UPDATE: a row not changed means
// another writer moved the revision first.
func oneRowChanged(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return rida.ErrStaleWrite
	}
	return nil
}

// updateModuleStateSQL is the CAS update of a module transition. What a
// transition may leave alone (time_completed, state_reason, koji_tag, batch,
// the four columns of a Koji reservation) is COALESCEd with the column, NULL
// keeping it, and the bool clears
// new_repo_task_id, so one static statement serves every transition and the
// statement cache holds it. next_check_at is cleared: a build whose state
// changed is due at once, so the engine notices a cancel or a resubmission
// without waiting for its next scheduled check.
const updateModuleStateSQL = `UPDATE module_builds SET state = ?, rev = rev + 1, time_modified = ?, next_check_at = NULL,
 time_completed = COALESCE(?, time_completed), state_reason = COALESCE(?, state_reason),
 koji_tag = COALESCE(?, koji_tag), batch = COALESCE(?, batch),
 new_repo_task_id = CASE WHEN ? THEN NULL ELSE new_repo_task_id END,
 koji_build_id = COALESCE(?, koji_build_id), koji_cg_token = COALESCE(?, koji_cg_token),
 koji_devel_build_id = COALESCE(?, koji_devel_build_id), koji_devel_cg_token = COALESCE(?, koji_devel_cg_token)
 WHERE id = ? AND rev = ?`

// TransitionModuleBuild moves a module build to t.To as one compare-and-set
// transaction: the build must still be at revision t.FromRev (else
// rida.ErrStaleWrite, and nothing is written) and the move must be legal
// (else CodeConflict). The update bumps Rev and time_modified, sets
// time_completed on done and failed, replaces state_reason only when
// t.Reason is not empty, and makes the build due at once (next_check_at
// cleared). What the engine records with the move lands in the same
// transaction, so no reader sees the new state without it: t.KojiTag when
// not empty, t.Batch when not nil (clearing new_repo_task_id, which belongs
// to the previous batch), t.Reservation when not nil (KojiBuildID,
// KojiCGToken, KojiDevelBuildID and KojiDevelCGToken, each when not zero),
// and t.Components, inserted with their trace rows as CreateModuleBuild
// does (init → wait records them). A trace row (the new
// state and the build's resulting state_reason) and an outbox event are
// written in the same transaction. It returns the updated build without
// related rows (not even the inserted components) and without its modulemd
// text.
func (db *DB) TransitionModuleBuild(ctx context.Context, t rida.ModuleTransition) (*rida.ModuleBuild, error) {
	var m *rida.ModuleBuild
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		r := db.run(tx)
		if m, err = findAtRev(ctx, r, t.ID, t.FromRev); err != nil {
			return err
		}
		if !m.State.CanTransition(t.To) {
			return rida.Errorf(rida.CodeConflict, "Illegal transition of module build %d from %s to %s", t.ID, m.State, t.To)
		}
		now := db.nowUTC()
		nowArg := db.d.timeArg(now)
		completed := t.To == rida.ModuleDone || t.To == rida.ModuleFailed
		var completedArg, batchArg any
		if completed {
			completedArg = nowArg
		}
		if t.Batch != nil {
			batchArg = *t.Batch
		}
		var res rida.Reservation
		if t.Reservation != nil {
			res = *t.Reservation
		}
		if err := oneRowChanged(r.exec(ctx, updateModuleStateSQL, int(t.To), nowArg, completedArg, nullString(t.Reason),
			nullString(t.KojiTag), batchArg, t.Batch != nil, nullInt64(res.BuildID), nullString(res.Token),
			nullInt64(res.DevelBuildID), nullString(res.DevelToken), t.ID, t.FromRev)); err != nil {
			return err
		}
		m.State, m.Rev, m.TimeModified = t.To, m.Rev+1, now
		if completed {
			m.TimeCompleted = &now
		}
		if t.Reason != "" {
			m.StateReason = t.Reason
		}
		if t.KojiTag != "" {
			m.KojiTag = t.KojiTag
		}
		if t.Batch != nil {
			m.Batch, m.NewRepoTaskID = *t.Batch, 0
		}
		if res.BuildID != 0 {
			m.KojiBuildID = res.BuildID
		}
		if res.Token != "" {
			m.KojiCGToken = res.Token
		}
		if res.DevelBuildID != 0 {
			m.KojiDevelBuildID = res.DevelBuildID
		}
		if res.DevelToken != "" {
			m.KojiDevelCGToken = res.DevelToken
		}
		if len(t.Components) > 0 {
			// A copy: insertComponents sets ids, and the caller's slice
			// stays as it was.
			comps := slices.Clone(t.Components)
			for i := range comps {
				comps[i].Rev = 1
			}
			if err := insertComponents(ctx, r, m.ID, comps, nowArg); err != nil {
				return err
			}
		}
		if _, err := r.exec(ctx, insertModuleTraceSQL,
			m.ID, nowArg, int(m.State), nullString(m.StateReason)); err != nil {
			return err
		}
		e, err := moduleEvent(ctx, r, m, now)
		if err != nil {
			return err
		}
		return insertEvent(ctx, r, e)
	})
	if err != nil {
		return nil, wrapErr("transition module build "+strconv.FormatInt(t.ID, 10), err)
	}
	db.eventsCommitted()
	return m, nil
}

// updateModuleSQL is the CAS update of UpdateModuleBuild: NULL keeps batch,
// the first bool says whether new_repo_task_id takes the value after it,
// and the last sets koji_refunded (false keeps it: a refund is not undone).
const updateModuleSQL = `UPDATE module_builds SET rev = rev + 1, time_modified = ?, batch = COALESCE(?, batch),
 new_repo_task_id = CASE WHEN ? THEN ? ELSE new_repo_task_id END, koji_refunded = (koji_refunded OR ?)
 WHERE id = ? AND rev = ?`

// UpdateModuleBuild records the engine's scheduling fields of a build
// without changing its state: u.Batch and u.NewRepoTaskID (0 clears it)
// when not nil, and KojiRefunded when u.Refunded (false leaves it alone). It is a compare-and-set on u.FromRev like a transition
// (else rida.ErrStaleWrite, nothing written), because the engine decides
// these values from what it read: a build changed meanwhile (canceled,
// say) must be read again, not overwritten. It bumps Rev and time_modified
// but writes no trace row and no event: nothing a consumer follows has
// changed. It returns the updated build without related rows and without
// its modulemd text; an unknown id is rida.ErrModuleBuildNotFound.
func (db *DB) UpdateModuleBuild(ctx context.Context, u rida.ModuleUpdate) (*rida.ModuleBuild, error) {
	var m *rida.ModuleBuild
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		r := db.run(tx)
		if m, err = findAtRev(ctx, r, u.ID, u.FromRev); err != nil {
			return err
		}
		now := db.nowUTC()
		var batchArg, taskArg any
		if u.Batch != nil {
			batchArg = *u.Batch
		}
		if u.NewRepoTaskID != nil {
			taskArg = nullInt64(*u.NewRepoTaskID)
		}
		if err := oneRowChanged(r.exec(ctx, updateModuleSQL, db.d.timeArg(now), batchArg,
			u.NewRepoTaskID != nil, taskArg, u.Refunded, u.ID, u.FromRev)); err != nil {
			return err
		}
		m.Rev, m.TimeModified = m.Rev+1, now
		if u.Batch != nil {
			m.Batch = *u.Batch
		}
		if u.NewRepoTaskID != nil {
			m.NewRepoTaskID = *u.NewRepoTaskID
		}
		if u.Refunded {
			m.KojiRefunded = true
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr("update module build "+strconv.FormatInt(u.ID, 10), err)
	}
	return m, nil
}
