package sqlstore

import (
	"context"
	"database/sql"
)

// The pure-Go SQLite spends more time compiling a statement than running a
// point query, so on SQLite every fixed query is prepared once at Open and
// reused (database/sql re-prepares it lazily on each pooled connection).
// Statements are created only at Open: preparing on the pool later, while
// transactions hold every connection, could wait forever. pgx already caches
// prepared statements per connection, so PostgreSQL skips this cache.
//
// Queries with IN lists are made fixed too: the list is padded to the next
// power of two (repeating the last id, which IN ignores), so a page of up
// to rida.MaxPerPage ids needs one of ten statements per kind.

// maxBucket is the largest IN list: the first power of two ≥ MaxPerPage and
// ≥ maxIDsPerStatement.
const maxBucket = 512

// bucket returns the IN list length used for n ids.
func bucket(n int) int {
	b := 1
	for b < n {
		b <<= 1
	}
	return b
}

// padIDs returns ids padded to bucket(len(ids)) by repeating the last one.
func padIDs(ids []any) []any {
	n := bucket(len(ids))
	if n == len(ids) || len(ids) == 0 {
		return ids
	}
	out := make([]any, n)
	copy(out, ids)
	for i := len(ids); i < n; i++ {
		out[i] = ids[len(ids)-1]
	}
	return out
}

// anyArray is the list length that stands for PostgreSQL's "= ANY(?)" with
// all ids in one array parameter: one statement whatever the count, so its
// plan is made once instead of once per list length and execution.
const anyArray = -1

// idsIn returns the condition on a column for a list of n ids.
func idsIn(n int) string {
	if n == anyArray {
		return "= ANY(?)"
	}
	return "IN (" + placeholders(n) + ")"
}

// idArgs returns the list length to build an id-list query for, and its
// arguments: one array on PostgreSQL, a padded IN list on SQLite.
func (d *dialect) idArgs(ids []int64) (int, []any) {
	if d.postgres() {
		return anyArray, []any{ids}
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	args = padIDs(args)
	return len(args), args
}

// The IN-list queries, by list length.
func componentsByModulesSQL(n int) string {
	return `SELECT ` + componentColumns + ` FROM component_builds WHERE module_id ` + idsIn(n) + ` ORDER BY module_id, id`
}

// componentTaskColumns is what scanComponentTasks reads: a task list's view
// of a component, half the columns of a full row.
const componentTaskColumns = `id, module_id, package, format, batch, task_id, task_state, state, state_reason, nvr`

func componentTasksByModulesSQL(n int) string {
	return `SELECT ` + componentTaskColumns + ` FROM component_builds WHERE module_id ` + idsIn(n) + ` ORDER BY module_id, id`
}

func componentTracesByModulesSQL(n int) string {
	return `SELECT t.component_id, t.state_time, t.state, t.state_reason FROM component_builds_trace t
 JOIN component_builds c ON c.id = t.component_id WHERE c.module_id ` + idsIn(n) + ` ORDER BY t.component_id, t.id`
}

func componentTracesByIDsSQL(n int) string {
	return `SELECT component_id, state_time, state, state_reason FROM component_builds_trace
 WHERE component_id ` + idsIn(n) + ` ORDER BY component_id, id`
}

func moduleTracesSQL(n int) string {
	return `SELECT module_id, state_time, state, state_reason FROM module_builds_trace
 WHERE module_id ` + idsIn(n) + ` ORDER BY module_id, id`
}

func virtualStreamsSQL(n int) string {
	return `SELECT module_build_id, name FROM module_builds_virtual_streams
 WHERE module_build_id ` + idsIn(n) + ` ORDER BY module_build_id, name`
}

func baseModulesSQL(n int) string {
	return `SELECT l.module_build_id, b.id, b.name, b.stream, b.version, b.context, b.state, b.scratch, b.stream_version
 FROM module_builds_base_modules l JOIN module_builds b ON b.id = l.base_module_id
 WHERE l.module_build_id ` + idsIn(n) + ` ORDER BY l.module_build_id, b.id`
}

// siblingsSQL finds MBS's ModuleBuild.siblings: the other contexts of the
// same name:stream:version with the same scratch flag.
func siblingsSQL(n int) string {
	if n == anyArray {
		// PostgreSQL would hash-join against a scan of the whole table; a
		// lateral probe per build (OFFSET 0 keeps it from being flattened)
		// walks the siblings index instead.
		return `SELECT a.id, s.id FROM module_builds a CROSS JOIN LATERAL (SELECT b.id FROM module_builds b
 WHERE b.name = a.name AND b.stream = a.stream AND b.version = a.version AND b.scratch = a.scratch AND b.id <> a.id OFFSET 0) s
 WHERE a.id = ANY(?) ORDER BY a.id, s.id`
	}
	return `SELECT a.id, b.id FROM module_builds a JOIN module_builds b
 ON b.name = a.name AND b.stream = a.stream AND b.version = a.version AND b.scratch = a.scratch AND b.id <> a.id
 WHERE a.id ` + idsIn(n) + ` ORDER BY a.id, b.id`
}

func markEventsSQL(n int) string {
	return `UPDATE events SET published_at = ? WHERE published_at IS NULL AND id ` + idsIn(n) + ``
}

// staticQueries returns every query the cache holds, in d's dialect.
func staticQueries(d *dialect) []string {
	qs := []string{
		selectModuleByIDSQL, selectModuleByIDNoModulemdSQL, selectComponentByIDSQL, insertModuleSQL, insertModuleTraceSQL,
		extendLeaseSQL, releaseLeaseSQL(d), claimSQL(d), claimSelectSQL, schedulerLoadSQL,
		insertVirtualStreamSQL, deleteVirtualStreamSQL, insertBaseModuleSQL, deleteBaseModuleSQL, selectModuleIDByNSVC, updateImportedSQL,
		insertComponentSQL, insertComponentTraceSQL, insertEventSQL, pendingEventsSQL,
		updateModuleStateSQL, updateModuleSQL, concernedByComponentTaskSQL, concernedByRepoTaskSQL, concernedByTagSQL, moduleEventsSQL,
		moduleEventRefsSQL,
	}
	qs = append(qs, resolverStaticQueries()...)
	for mask := range 8 {
		qs = append(qs, updateComponentStateSQL(mask&1 != 0, mask&2 != 0, mask&4 != 0))
	}
	for n := 1; n <= maxBucket; n <<= 1 {
		qs = append(qs, componentsByModulesSQL(n), componentTasksByModulesSQL(n), componentTracesByModulesSQL(n), componentTracesByIDsSQL(n),
			moduleTracesSQL(n), siblingsSQL(n), markEventsSQL(n), virtualStreamsSQL(n), baseModulesSQL(n),
			takeLeaseSQL(n), buildsByIDsSQL(n), componentsByIDsSQL(n), makeDueSQL(n))
	}
	return qs
}

// prepareStatements fills the statement cache (SQLite only). A query that
// fails to prepare (a schema not migrated yet) is left out and runs
// unprepared; Open calls this again after migrating.
func (db *DB) prepareStatements(ctx context.Context) {
	if db.d.postgres() {
		return
	}
	old := db.statements()
	stmts := make(map[string]*sql.Stmt, len(old))
	for _, q := range staticQueries(db.d) {
		if st := old[q]; st != nil {
			stmts[q] = st
			continue
		}
		st, err := db.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		stmts[q] = st
	}
	db.stmts.Store(&stmts)
}

// statements returns the statement cache; nil (empty) before Open prepared
// it, and on PostgreSQL.
func (db *DB) statements() map[string]*sql.Stmt {
	if m := db.stmts.Load(); m != nil {
		return *m
	}
	return nil
}

// maxDynamicStatements bounds the cache of list queries: filters and
// orderings combine without bound, the common ones are few.
const maxDynamicStatements = 256

// prepareDynamic returns a prepared statement for a list query built from a
// filter, preparing it on first use; nil on PostgreSQL, when the cache is
// full, or when preparing fails (the caller then runs the query text).
// It must be called while holding no connection (outside a transaction):
// preparing takes one from the pool.
func (db *DB) prepareDynamic(ctx context.Context, query string) *sql.Stmt {
	if db.d.postgres() {
		return nil
	}
	if st, ok := db.dynamic.Load(query); ok {
		return st.(*sql.Stmt)
	}
	if db.dynamicCount.Load() >= maxDynamicStatements {
		return nil
	}
	st, err := db.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if prev, loaded := db.dynamic.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	db.dynamicCount.Add(1)
	return st
}

// closeStatements closes the cached statements.
func (db *DB) closeStatements() {
	for _, st := range db.statements() {
		st.Close()
	}
	db.stmts.Store(nil)
	db.dynamic.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		db.dynamic.Delete(k)
		return true
	})
}

// runner runs queries on the pool or in a transaction, through the
// statement cache when the query is in it. Queries are written with "?".
type runner struct {
	db *DB
	tx *sql.Tx
	// bound, when not nil, keeps the cached statements bound to tx:
	// tx.StmtContext makes a new statement each call, which adds up when a
	// transaction runs the same statements for a hundred rows.
	bound map[string]*sql.Stmt
}

func (db *DB) run(tx *sql.Tx) runner { return runner{db: db, tx: tx} }

// runBatch is run for a transaction that runs the same statements for
// many rows: each is bound to tx once.
func (db *DB) runBatch(tx *sql.Tx) runner {
	return runner{db: db, tx: tx, bound: map[string]*sql.Stmt{}}
}

func (r runner) stmt(ctx context.Context, query string) *sql.Stmt {
	st := r.db.statements()[query]
	if st == nil || r.tx == nil {
		return st
	}
	if r.bound == nil {
		return r.tx.StmtContext(ctx, st)
	}
	if b := r.bound[query]; b != nil {
		return b
	}
	b := r.tx.StmtContext(ctx, st)
	r.bound[query] = b
	return b
}

// query runs a fixed query (one the cache may hold).
func (r runner) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.QueryContext(ctx, r.db.d.q(query), args...)
	}
	return r.db.db.QueryContext(ctx, r.db.d.q(query), args...)
}

func (r runner) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.QueryRowContext(ctx, r.db.d.q(query), args...)
	}
	return r.db.db.QueryRowContext(ctx, r.db.d.q(query), args...)
}

func (r runner) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := r.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if r.tx != nil {
		return r.tx.ExecContext(ctx, r.db.d.q(query), args...)
	}
	return r.db.db.ExecContext(ctx, r.db.d.q(query), args...)
}

// queryDynamic runs a query built from a filter, through st when it was
// prepared (see prepareDynamic).
func (r runner) queryDynamic(ctx context.Context, st *sql.Stmt, query string, args ...any) (*sql.Rows, error) {
	if st != nil {
		if r.tx != nil {
			st = r.tx.StmtContext(ctx, st)
		}
		return st.QueryContext(ctx, args...)
	}
	query = r.db.d.rebindDynamic(query)
	if r.tx != nil {
		return r.tx.QueryContext(ctx, query, args...)
	}
	return r.db.db.QueryContext(ctx, query, args...)
}

func (r runner) queryRowDynamic(ctx context.Context, st *sql.Stmt, query string, args ...any) *sql.Row {
	if st != nil {
		if r.tx != nil {
			st = r.tx.StmtContext(ctx, st)
		}
		return st.QueryRowContext(ctx, args...)
	}
	query = r.db.d.rebindDynamic(query)
	if r.tx != nil {
		return r.tx.QueryRowContext(ctx, query, args...)
	}
	return r.db.db.QueryRowContext(ctx, query, args...)
}
