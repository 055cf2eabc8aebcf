package sqlstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida"
)

// explain returns SQLite's query plan of query, one detail line per step.
func explain(t *testing.T, db *testDB, query string, args []any) []string {
	t.Helper()
	rows, err := db.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

// assertIndexed fails when the plan scans table without an index.
func assertIndexed(t *testing.T, name, table string, plan []string) {
	t.Helper()
	for _, step := range plan {
		if strings.HasPrefix(step, "SCAN "+table) && !strings.Contains(step, "USING") {
			t.Errorf("%s: full table scan: %q (plan %q)", name, step, plan)
		}
	}
}

// TestModuleBuildFiltersUseIndexes checks on SQLite that every module build
// list filter, alone, is served by an index (a SEARCH or a SCAN USING
// INDEX), never by a full scan of module_builds.
func TestModuleBuildFiltersUseIndexes(t *testing.T) {
	db := MustOpenDB(t)
	s, i, i64, b, f := ptr("x"), ptr(1), ptr(int64(1)), ptr(true), ptr(1.0)
	now := ptr(time.Now())
	filters := map[string]rida.ModuleBuildFilter{
		"name": {Name: s}, "stream": {Stream: s}, "version": {Version: ptr(uint64(1))}, "context": {Context: s},
		"build_context": {BuildContext: s}, "build_context_no_bms": {BuildContextNoBMS: s},
		"runtime_context": {RuntimeContext: s}, "ref_build_context": {RefBuildContext: s},
		"state_reason": {StateReason: s}, "owner": {Owner: s}, "owner and scratch": {Owner: s, Scratch: b}, "scmurl": {SCMURL: s}, "koji_tag": {KojiTag: s},
		"cg_build_koji_tag": {CGBuildKojiTag: s}, "rebuild_strategy": {RebuildStrategy: s},
		"scratch": {Scratch: b}, "batch": {Batch: i}, "new_repo_task_id": {NewRepoTaskID: i64},
		"reused_module_id": {ReusedModuleID: i64}, "stream_version": {StreamVersion: f},
		"state":            {States: []rida.ModuleState{rida.ModuleReady}},
		"states":           {States: []rida.ModuleState{rida.ModuleReady, rida.ModuleDone}},
		"state and name":   {States: []rida.ModuleState{rida.ModuleReady}, Name: s},
		"submitted_before": {SubmittedBefore: now}, "submitted_after": {SubmittedAfter: now},
		"modified_before": {ModifiedBefore: now}, "modified_after": {ModifiedAfter: now},
		"completed_before": {CompletedBefore: now}, "completed_after": {CompletedAfter: now},
		"null koji_tag": {KojiTag: ptr("")},
	}
	for name, f := range filters {
		lq, err := buildModuleBuildsQuery(db.d, &f)
		if err != nil {
			t.Fatal(err)
		}
		assertIndexed(t, name, "module_builds", explain(t, db, lq.sel, lq.selArgs()))
		assertIndexed(t, name+" (count)", "module_builds", explain(t, db, lq.count, lq.args))
	}
	// The related-row queries of a page are indexed too.
	ids := []any{int64(1), int64(2)}
	for name, q := range map[string]string{
		"components":             componentsByModulesSQL(len(ids)),
		"component traces":       componentTracesByModulesSQL(len(ids)),
		"component traces by id": componentTracesByIDsSQL(len(ids)),
		"trace":                  moduleTracesSQL(len(ids)),
		"siblings":               siblingsSQL(len(ids)),
		"events":                 `SELECT id FROM events WHERE published_at IS NULL ORDER BY id LIMIT 10`,
	} {
		plan := explain(t, db, q, ids)
		for _, table := range []string{"component_builds", "component_builds_trace", "module_builds_trace", "module_builds", "events"} {
			assertIndexed(t, name, table, plan)
		}
		// Siblings must be found through their own index: any other
		// index on one column of the join (scratch, version) visits a
		// large part of the table per page row.
		if name == "siblings" && !strings.Contains(strings.Join(plan, "\n"), "module_builds_siblings_idx") {
			t.Errorf("siblings plan does not use module_builds_siblings_idx: %q", plan)
		}
	}
}

// TestComponentBuildFiltersUseIndexes is the same check for component
// builds.
func TestComponentBuildFiltersUseIndexes(t *testing.T) {
	db := MustOpenDB(t)
	s, i, i64, b, f := ptr("x"), ptr(1), ptr(int64(1)), ptr(true), ptr(1.0)
	filters := map[string]rida.ComponentBuildFilter{
		"module_id": {ModuleBuildID: i64}, "package": {Package: s}, "format": {Format: s}, "scmurl": {SCMURL: s},
		"ref": {Ref: s}, "state_reason": {StateReason: s}, "nvr": {NVR: s}, "task_id": {TaskID: i64},
		"reused_component_id": {ReusedComponentID: i64}, "batch": {Batch: i}, "weight": {Weight: f},
		"tagged": {Tagged: b}, "tagged_in_final": {TaggedInFinal: b}, "build_time_only": {BuildTimeOnly: b},
		"buildonly": {BuildOnly: b}, "state": {States: []rida.ComponentState{rida.ComponentComplete}},
		"waiting":          {States: []rida.ComponentState{rida.ComponentWaiting}},
		"module and state": {ModuleBuildID: i64, States: []rida.ComponentState{rida.ComponentComplete, rida.ComponentBuilding}},
	}
	for name, f := range filters {
		lq, err := buildComponentBuildsQuery(&f)
		if err != nil {
			t.Fatal(err)
		}
		assertIndexed(t, name, "component_builds", explain(t, db, lq.sel, lq.selArgs()))
		assertIndexed(t, name+" (count)", "component_builds", explain(t, db, lq.count, lq.args))
	}
}

func TestRebind(t *testing.T) {
	got := rebind("SELECT a FROM t WHERE a = ? AND b IN (?, ?) LIMIT ?")
	if want := "SELECT a FROM t WHERE a = $1 AND b IN ($2, $3) LIMIT $4"; got != want {
		t.Errorf("rebind = %q, want %q", got, want)
	}
}

func TestTimeValue(t *testing.T) {
	want := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
	for _, src := range []any{"2024-01-02T03:04:05.000006Z", []byte("2024-01-02T03:04:05.000006Z"),
		"2024-01-02 03:04:05.000006+00:00", want.In(time.FixedZone("x", 3600))} {
		var tv timeValue
		if err := tv.Scan(src); err != nil || !tv.Valid || !tv.Time.Equal(want) || tv.Time.Location() != time.UTC {
			t.Errorf("Scan(%v) = %v, %v", src, tv, err)
		}
	}
	var tv timeValue
	if err := tv.Scan(nil); err != nil || tv.Valid || tv.ptr() != nil {
		t.Errorf("Scan(nil) = %v, %v", tv, err)
	}
	if err := tv.Scan(42); err == nil {
		t.Error("Scan(42) succeeded")
	}
	// Text order is time order.
	d := newSQLiteDialect()
	a, b := d.timeArg(want).(string), d.timeArg(want.Add(time.Microsecond)).(string)
	if !(a < b) || len(a) != len(b) {
		t.Errorf("%q !< %q", a, b)
	}
}

// TestSchedulerQueriesUseIndexes checks on SQLite that the engine's claim
// and load queries find module builds by state or id, never by walking
// next_check_at (NULL for most builds) or a whole table: failed, ready and
// scratch builds pile up, and a claim must not read them.
func TestSchedulerQueriesUseIndexes(t *testing.T) {
	db := MustOpenDB(t)
	now := db.d.timeArg(time.Now())
	for name, q := range map[string]struct {
		query string
		args  []any
		uses  []string
	}{
		"claim": {claimSQL(db.d), claimArgs(now, 10), []string{
			// done, but not scratch
			"module_builds_claim_idx (state=? AND scratch=?)",
			// failed builds found from their unbuilt components
			"COVERING INDEX component_builds_state_reused_idx (state=?)",
			// failed builds holding a reservation not refunded yet
			"COVERING INDEX module_builds_refund_idx (state=? AND koji_refunded=? AND koji_build_id>?)",
		}},
		"load": {schedulerLoadSQL, []any{int(rida.ComponentBuilding), int(rida.ModuleBuilding)}, []string{
			"COVERING INDEX component_builds_state_reused_idx (state=? AND reused_component_id=?)",
			"COVERING INDEX module_builds_state_idx (state=?)",
		}},
	} {
		plan := explain(t, db, q.query, q.args)
		assertIndexed(t, name, "module_builds", plan)
		assertIndexed(t, name, "component_builds", plan)
		for _, step := range plan {
			if strings.HasPrefix(step, "SEARCH module_builds") && !strings.Contains(step, "(state=?") && !strings.Contains(step, "(rowid=?)") {
				t.Errorf("%s: module builds not found by state or id: %q (plan %q)", name, step, plan)
			}
		}
		joined := strings.Join(plan, "\n")
		for _, want := range q.uses {
			if !strings.Contains(joined, want) {
				t.Errorf("%s: plan does not use %s: %q", name, want, plan)
			}
		}
	}
}
