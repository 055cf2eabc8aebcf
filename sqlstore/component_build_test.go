package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rida-build/rida"
)

func componentIDs(cs []*rida.ComponentBuild) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestFindComponentBuilds_Filters(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		src := mustCreate(t, db, newModuleBuild("src", "s", 1, "c"))
		m := fullModuleBuild()
		m.Components[0].ReusedComponentID = &src.Components[0].ID
		mustCreate(t, db, m)
		s0, s1 := src.Components[0], src.Components[1]
		m0, m1 := m.Components[0], m.Components[1]
		// s1: waiting → building → complete, with a task and an NVR.
		c, err := db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: s1.ID, FromRev: 1, To: rida.ComponentBuilding, TaskID: 55})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: s1.ID, FromRev: c.Rev, To: rida.ComponentComplete, NVR: "tangerine-2-1", Reason: "done"}); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name string
			f    rida.ComponentBuildFilter
			want []*rida.ComponentBuild // default order id DESC
		}{
			{"none", rida.ComponentBuildFilter{}, []*rida.ComponentBuild{m1, m0, s1, s0}},
			{"module", rida.ComponentBuildFilter{ModuleBuildID: &src.ID}, []*rida.ComponentBuild{s1, s0}},
			{"package", rida.ComponentBuildFilter{Package: ptr("tangerine")}, []*rida.ComponentBuild{m1, s1}},
			{"format", rida.ComponentBuildFilter{Format: ptr("rpms")}, []*rida.ComponentBuild{m1, m0, s1, s0}},
			{"scmurl", rida.ComponentBuildFilter{SCMURL: ptr("/tmp/macros.src.rpm")}, []*rida.ComponentBuild{m0, s0}},
			{"ref", rida.ComponentBuildFilter{Ref: ptr("abc")}, []*rida.ComponentBuild{m1, s1}},
			{"ref empty", rida.ComponentBuildFilter{Ref: ptr("")}, []*rida.ComponentBuild{m0, s0}},
			{"state_reason", rida.ComponentBuildFilter{StateReason: ptr("done")}, []*rida.ComponentBuild{s1}},
			{"nvr", rida.ComponentBuildFilter{NVR: ptr("tangerine-2-1")}, []*rida.ComponentBuild{s1}},
			{"task_id", rida.ComponentBuildFilter{TaskID: ptr(int64(55))}, []*rida.ComponentBuild{s1}},
			{"no task", rida.ComponentBuildFilter{TaskID: ptr(int64(0))}, []*rida.ComponentBuild{m0, s0}},
			{"reused", rida.ComponentBuildFilter{ReusedComponentID: &s0.ID}, []*rida.ComponentBuild{m0}},
			{"batch", rida.ComponentBuildFilter{Batch: ptr(1)}, []*rida.ComponentBuild{m0, s0}},
			{"weight", rida.ComponentBuildFilter{Weight: ptr(1.5)}, []*rida.ComponentBuild{m1}},
			{"tagged", rida.ComponentBuildFilter{Tagged: ptr(true)}, []*rida.ComponentBuild{m1}},
			{"tagged_in_final", rida.ComponentBuildFilter{TaggedInFinal: ptr(false)}, []*rida.ComponentBuild{m0, s1, s0}},
			{"build_time_only", rida.ComponentBuildFilter{BuildTimeOnly: ptr(true)}, []*rida.ComponentBuild{m0, s0}},
			{"buildonly", rida.ComponentBuildFilter{BuildOnly: ptr(true)}, []*rida.ComponentBuild{m1}},
			{"state waiting", rida.ComponentBuildFilter{States: []rida.ComponentState{rida.ComponentWaiting}}, []*rida.ComponentBuild{m0, s0}},
			{"state complete", rida.ComponentBuildFilter{States: []rida.ComponentState{rida.ComponentComplete}}, []*rida.ComponentBuild{s1}},
			{"states or-ed", rida.ComponentBuildFilter{States: []rida.ComponentState{rida.ComponentComplete, rida.ComponentBuilding}}, []*rida.ComponentBuild{m1, s1}},
			{"states with waiting", rida.ComponentBuildFilter{States: []rida.ComponentState{rida.ComponentWaiting, rida.ComponentBuilding}}, []*rida.ComponentBuild{m1, m0, s0}},
			{"and", rida.ComponentBuildFilter{ModuleBuildID: &m.ID, Package: ptr("tangerine")}, []*rida.ComponentBuild{m1}},
		}
		for _, tt := range tests {
			got, total, err := db.FindComponentBuilds(ctx, tt.f)
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			if diff := cmp.Diff(componentIDs(tt.want), componentIDs(got)); diff != "" {
				t.Errorf("%s: ids (-want +got):\n%s", tt.name, diff)
			}
			if total != len(tt.want) {
				t.Errorf("%s: total = %d, want %d", tt.name, total, len(tt.want))
			}
		}

		// Ordering.
		orders := []struct {
			order []rida.Order
			want  []*rida.ComponentBuild
		}{
			{[]rida.Order{{Field: "id"}}, []*rida.ComponentBuild{s0, s1, m0, m1}},
			{[]rida.Order{{Field: "module_id", Desc: true}, {Field: "package"}}, []*rida.ComponentBuild{m0, m1, s0, s1}},
			{[]rida.Order{{Field: "task_id"}}, []*rida.ComponentBuild{s1, m1, s0, m0}},
			{[]rida.Order{{Field: "state", Desc: true}}, []*rida.ComponentBuild{m0, s0, s1, m1}},
		}
		for _, tt := range orders {
			got, _, err := db.FindComponentBuilds(ctx, rida.ComponentBuildFilter{Order: tt.order})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(componentIDs(tt.want), componentIDs(got)); diff != "" {
				t.Errorf("order %v: ids (-want +got):\n%s", tt.order, diff)
			}
		}
		for _, f := range rida.ComponentBuildOrderFields {
			got, _, err := db.FindComponentBuilds(ctx, rida.ComponentBuildFilter{Order: []rida.Order{{Field: f, Desc: true}}})
			if err != nil || len(got) != 4 {
				t.Errorf("order by %s: %d, %v", f, len(got), err)
			}
		}
		_, _, err = db.FindComponentBuilds(ctx, rida.ComponentBuildFilter{Order: []rida.Order{{Field: "module_build"}}})
		if rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("bad order key: %v", err)
		}

		// Paging and traces of the page.
		got, total, err := db.FindComponentBuilds(ctx, rida.ComponentBuildFilter{Page: 2, PerPage: 3, IncludeStateTrace: true})
		if err != nil || total != 4 || len(got) != 1 || got[0].ID != s0.ID || len(got[0].StateTrace) != 1 {
			t.Errorf("page 2: %v total %d err %v", got, total, err)
		}
		got, _, err = db.FindComponentBuilds(ctx, rida.ComponentBuildFilter{Package: ptr("tangerine"), IncludeStateTrace: true})
		if err != nil {
			t.Fatal(err)
		}
		var states []int
		for _, st := range got[1].StateTrace {
			states = append(states, st.State)
		}
		if diff := cmp.Diff([]int{-1, 0, 1}, states); diff != "" {
			t.Errorf("s1 trace (-want +got):\n%s", diff)
		}
		if got[0].StateTrace == nil {
			t.Errorf("m1 trace not loaded")
		}
		_, _, err = db.FindComponentBuilds(ctx, rida.ComponentBuildFilter{PerPage: rida.MaxPerPage + 1})
		if rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("per_page bound: %v", err)
		}
	})
}

func TestTransitionComponentBuild(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		m := mustCreate(t, db, newModuleBuild("comp", "s", 1, "c"))
		c := m.Components[1]
		traces, events := countRows(t, db, "component_builds_trace"), countRows(t, db, "events")

		got, err := db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: c.ID, FromRev: 1, To: rida.ComponentBuilding, TaskID: 123, Reason: "submitted"})
		if err != nil {
			t.Fatal(err)
		}
		if got.State != rida.ComponentBuilding || got.Rev != 2 || got.TaskID != 123 || got.StateReason != "submitted" || got.NVR != "" {
			t.Errorf("after building: %+v", got)
		}
		if n := countRows(t, db, "component_builds_trace"); n != traces+1 {
			t.Errorf("trace rows = %d, want %d", n, traces+1)
		}
		if n := countRows(t, db, "events"); n != events+1 {
			t.Errorf("events = %d, want %d", n, events+1)
		}
		evs, err := db.PendingEvents(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		last := evs[len(evs)-1]
		want := rida.NewComponentEvent(got, moduleNSVC(t, db, got.ModuleBuildID), last.At)
		want.ID = last.ID
		if diff := cmp.Diff(want, last); diff != "" {
			t.Errorf("event (-want +got):\n%s", diff)
		}

		// Complete with an NVR; no reason keeps "submitted", no task id
		// keeps 123.
		got, err = db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: c.ID, FromRev: 2, To: rida.ComponentComplete, NVR: "tangerine-1-1"})
		if err != nil {
			t.Fatal(err)
		}
		if got.TaskID != 123 || got.NVR != "tangerine-1-1" || got.StateReason != "submitted" {
			t.Errorf("after complete: %+v", got)
		}
		stored, err := db.FindComponentBuildByID(ctx, c.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(stored, got); diff != "" {
			t.Errorf("returned differs from stored (-stored +returned):\n%s", diff)
		}

		// Refusals write nothing.
		traces, events = countRows(t, db, "component_builds_trace"), countRows(t, db, "events")
		_, err = db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: c.ID, FromRev: 2, To: rida.ComponentDeleted})
		if !errors.Is(err, rida.ErrStaleWrite) {
			t.Errorf("stale: %v", err)
		}
		_, err = db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: c.ID, FromRev: 3, To: rida.ComponentBuilding})
		if rida.ErrorCodeOf(err) != rida.CodeConflict ||
			rida.ErrorMessageOf(err) != fmt.Sprintf("Illegal transition of component build %d from COMPLETE to BUILDING", c.ID) {
			t.Errorf("illegal: %v", err)
		}
		_, err = db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: 9999, FromRev: 1, To: rida.ComponentBuilding})
		if !errors.Is(err, rida.ErrComponentBuildNotFound) {
			t.Errorf("unknown: %v", err)
		}
		if n := countRows(t, db, "component_builds_trace"); n != traces {
			t.Errorf("trace rows = %d, want %d", n, traces)
		}
		if n := countRows(t, db, "events"); n != events {
			t.Errorf("events = %d, want %d", n, events)
		}

		// Failed components go back to waiting (NULL).
		w := m.Components[0]
		if got, err = db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: w.ID, FromRev: 1, To: rida.ComponentFailed, Reason: "x"}); err != nil {
			t.Fatal(err)
		}
		if got, err = db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: w.ID, FromRev: got.Rev, To: rida.ComponentWaiting}); err != nil {
			t.Fatal(err)
		}
		if got.State != rida.ComponentWaiting || got.StateReason != "x" {
			t.Errorf("back to waiting returned %+v", got)
		}
		stored, err = db.FindComponentBuildByID(ctx, w.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if stored.State != rida.ComponentWaiting || len(stored.StateTrace) != 3 || stored.StateTrace[2].State != int(rida.ComponentWaiting) {
			t.Errorf("back to waiting: %+v", stored)
		}
	})
}

func TestTransitionComponentBuild_Concurrent(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		m := mustCreate(t, db, newModuleBuild("crace", "s", 1, "c"))
		c := m.Components[1]
		const writers = 6
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: c.ID, FromRev: 1, To: rida.ComponentBuilding, TaskID: int64(i + 1)})
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else if !errors.Is(err, rida.ErrStaleWrite) {
				t.Errorf("loser: %v", err)
			}
		}
		if wins != 1 {
			t.Errorf("%d winners, want 1", wins)
		}
		got, err := db.FindComponentBuildByID(ctx, c.ID, true)
		if err != nil || got.Rev != 2 || len(got.StateTrace) != 2 {
			t.Errorf("after race: %+v %v", got, err)
		}
	})
}

// componentRevs returns the stored rev of each component.
func componentRevs(tb testing.TB, db *testDB, ids ...int64) []int64 {
	tb.Helper()
	out := make([]int64, len(ids))
	for i, id := range ids {
		c, err := db.FindComponentBuildByID(context.Background(), id, false)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = c.Rev
	}
	return out
}

func TestTransitionComponentBuilds(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		a := mustCreate(t, db, newModuleBuild("a", "s", 1, "c"))
		b := mustCreate(t, db, newModuleBuild("b", "s", 1, "c"))
		later := db.clock.Now().Add(time.Hour)
		setNextCheck(t, db, a.ID, later)
		setNextCheck(t, db, b.ID, later)
		traces, events := countRows(t, db, "component_builds_trace"), countRows(t, db, "events")

		// Out of id order, across two modules: results follow the input.
		ts := []rida.ComponentTransition{
			{ID: b.Components[1].ID, FromRev: 1, To: rida.ComponentBuilding, TaskID: 3},
			{ID: a.Components[0].ID, FromRev: 1, To: rida.ComponentBuilding, TaskID: 1, Reason: "submitted"},
			{ID: a.Components[1].ID, FromRev: 1, To: rida.ComponentComplete, NVR: "tangerine-1-1", Reason: "reused"},
		}
		got, err := db.TransitionComponentBuilds(ctx, ts)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ts) {
			t.Fatalf("%d results for %d transitions", len(got), len(ts))
		}
		for i, c := range got {
			stored, err := db.FindComponentBuildByID(ctx, ts[i].ID, true)
			if err != nil {
				t.Fatal(err)
			}
			if c.ID != ts[i].ID || c.State != ts[i].To || c.Rev != 2 {
				t.Errorf("result %d: %+v for %+v", i, c, ts[i])
			}
			// The trace row: the state entered and the reason after it.
			if len(stored.StateTrace) != 2 || stored.StateTrace[1].State != int(ts[i].To) || stored.StateTrace[1].Reason != c.StateReason {
				t.Errorf("component %d trace: %+v", c.ID, stored.StateTrace)
			}
			stored.StateTrace = nil
			if diff := cmp.Diff(stored, c); diff != "" {
				t.Errorf("returned differs from stored (-stored +returned):\n%s", diff)
			}
		}
		if got[1].TaskID != 1 || got[1].StateReason != "submitted" || got[2].NVR != "tangerine-1-1" || got[0].StateReason != "" {
			t.Errorf("fields: %+v %+v %+v", got[0], got[1], got[2])
		}
		if n := countRows(t, db, "component_builds_trace"); n != traces+3 {
			t.Errorf("trace rows = %d, want %d", n, traces+3)
		}
		if n := countRows(t, db, "events"); n != events+3 {
			t.Errorf("events = %d, want %d", n, events+3)
		}
		evs, err := db.PendingEvents(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		byComponent := map[int64]rida.Event{}
		for _, e := range evs[len(evs)-3:] {
			byComponent[e.ComponentBuildID] = e
		}
		for _, c := range got {
			e := byComponent[c.ID]
			want := rida.NewComponentEvent(c, moduleNSVC(t, db, c.ModuleBuildID), e.At)
			want.ID = e.ID
			if diff := cmp.Diff(want, e); diff != "" {
				t.Errorf("event of %d (-want +got):\n%s", c.ID, diff)
			}
		}
		// Both modules are due at once; their rev did not move.
		for _, m := range []*rida.ModuleBuild{a, b} {
			if nc := nextCheck(t, db, m.ID); nc != nil {
				t.Errorf("module %d next_check_at = %v, want NULL", m.ID, nc)
			}
			if got, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{}); err != nil || got.Rev != 1 {
				t.Errorf("module %d: %+v %v", m.ID, got, err)
			}
		}

		// Trace rows carry the task id; unset values keep the stored ones.
		var task intValue
		if err := db.db.QueryRow(db.d.q(`SELECT task_id FROM component_builds_trace WHERE component_id = ? ORDER BY id DESC LIMIT 1`), got[0].ID).Scan(&task); err != nil || task.V != 3 {
			t.Errorf("trace task id = %v, %v", task, err)
		}
		again, err := db.TransitionComponentBuilds(ctx, []rida.ComponentTransition{
			{ID: got[1].ID, FromRev: 2, To: rida.ComponentComplete},
			{ID: got[0].ID, FromRev: 2, To: rida.ComponentFailed, Reason: "oops"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if again[0].TaskID != 1 || again[0].StateReason != "submitted" || again[0].NVR != "" ||
			again[1].TaskID != 3 || again[1].StateReason != "oops" {
			t.Errorf("second batch: %+v %+v", again[0], again[1])
		}
		for _, c := range again {
			stored, err := db.FindComponentBuildByID(ctx, c.ID, true)
			if err != nil {
				t.Fatal(err)
			}
			if last := stored.StateTrace[len(stored.StateTrace)-1]; last.Reason != c.StateReason || last.State != int(c.State) {
				t.Errorf("component %d last trace %+v, want state %d reason %q", c.ID, last, c.State, c.StateReason)
			}
			stored.StateTrace = nil
			if diff := cmp.Diff(stored, c); diff != "" {
				t.Errorf("returned differs from stored (-stored +returned):\n%s", diff)
			}
		}

		if got, err := db.TransitionComponentBuilds(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("no transitions: %v %v", got, err)
		}
	})
}

// TestTransitionComponentBuilds_AllOrNothing: one refused move refuses the
// whole batch, and nothing is written.
func TestTransitionComponentBuilds_AllOrNothing(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		a := mustCreate(t, db, newModuleBuild("a", "s", 1, "c"))
		b := mustCreate(t, db, newModuleBuild("b", "s", 1, "c"))
		a0, a1, b0, b1 := a.Components[0].ID, a.Components[1].ID, b.Components[0].ID, b.Components[1].ID
		if _, err := db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: b1, FromRev: 1, To: rida.ComponentComplete}); err != nil {
			t.Fatal(err)
		}
		later := db.clock.Now().Add(time.Hour)
		setNextCheck(t, db, a.ID, later)
		setNextCheck(t, db, b.ID, later)
		traces, events := countRows(t, db, "component_builds_trace"), countRows(t, db, "events")
		build := func(id int64) rida.ComponentTransition {
			return rida.ComponentTransition{ID: id, FromRev: 1, To: rida.ComponentBuilding, TaskID: id}
		}

		tests := []struct {
			name  string
			ts    []rida.ComponentTransition
			check func(error) bool
			msg   string
		}{
			{"stale", []rida.ComponentTransition{build(a0), {ID: b1, FromRev: 1, To: rida.ComponentDeleted}, build(a1)},
				func(err error) bool { return errors.Is(err, rida.ErrStaleWrite) }, fmt.Sprintf("component build %d", b1)},
			{"illegal", []rida.ComponentTransition{build(a0), build(a1), {ID: b1, FromRev: 2, To: rida.ComponentBuilding}},
				func(err error) bool {
					return rida.ErrorCodeOf(err) == rida.CodeConflict && !errors.Is(err, rida.ErrStaleWrite)
				},
				fmt.Sprintf("Illegal transition of component build %d from COMPLETE to BUILDING", b1)},
			{"unknown", []rida.ComponentTransition{build(a0), build(9999)},
				func(err error) bool { return errors.Is(err, rida.ErrComponentBuildNotFound) }, "component build 9999"},
			{"twice", []rida.ComponentTransition{build(a0), build(b0), build(a0)},
				func(err error) bool { return rida.ErrorCodeOf(err) == rida.CodeInvalid }, fmt.Sprintf("Component build %d", a0)},
		}
		for _, tt := range tests {
			_, err := db.TransitionComponentBuilds(ctx, tt.ts)
			if !tt.check(err) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("%s: %v, want an error naming %q", tt.name, err, tt.msg)
			}
		}
		if n := countRows(t, db, "component_builds_trace"); n != traces {
			t.Errorf("trace rows = %d, want %d", n, traces)
		}
		if n := countRows(t, db, "events"); n != events {
			t.Errorf("events = %d, want %d", n, events)
		}
		if diff := cmp.Diff([]int64{1, 1, 1, 2}, componentRevs(t, db, a0, a1, b0, b1)); diff != "" {
			t.Errorf("revs (-want +got):\n%s", diff)
		}
		for _, m := range []*rida.ModuleBuild{a, b} {
			if nc := nextCheck(t, db, m.ID); nc == nil || !nc.Equal(later) {
				t.Errorf("module %d next_check_at = %v, want %v", m.ID, nc, later)
			}
		}
	})
}

// TestTransitionComponentBuilds_BuildingTask: a building component may
// "move" to building again to record the task id of its submission, and
// only with one.
func TestTransitionComponentBuilds_BuildingTask(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		m := mustCreate(t, db, newModuleBuild("bt", "s", 1, "c"))
		c := m.Components[1]
		// Marked building before the submission: no task yet.
		got, err := db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: c.ID, FromRev: 1, To: rida.ComponentBuilding})
		if err != nil || got.TaskID != 0 {
			t.Fatalf("building without a task: %+v %v", got, err)
		}
		traces, events := countRows(t, db, "component_builds_trace"), countRows(t, db, "events")
		_, err = db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: c.ID, FromRev: 2, To: rida.ComponentBuilding})
		if rida.ErrorCodeOf(err) != rida.CodeConflict ||
			rida.ErrorMessageOf(err) != fmt.Sprintf("Illegal transition of component build %d from BUILDING to BUILDING", c.ID) {
			t.Errorf("building → building without a task: %v", err)
		}
		if n := countRows(t, db, "events"); n != events {
			t.Errorf("events = %d, want %d", n, events)
		}
		batch, err := db.TransitionComponentBuilds(ctx, []rida.ComponentTransition{{ID: c.ID, FromRev: 2, To: rida.ComponentBuilding, TaskID: 4242}})
		if err != nil {
			t.Fatal(err)
		}
		if got = batch[0]; got.State != rida.ComponentBuilding || got.TaskID != 4242 || got.Rev != 3 {
			t.Errorf("after recording the task: %+v", got)
		}
		if n := countRows(t, db, "component_builds_trace"); n != traces+1 {
			t.Errorf("trace rows = %d, want %d", n, traces+1)
		}
		if n := countRows(t, db, "events"); n != events+1 {
			t.Errorf("events = %d, want %d", n, events+1)
		}
		var task intValue
		if err := db.db.QueryRow(db.d.q(`SELECT task_id FROM component_builds_trace WHERE component_id = ? ORDER BY id DESC LIMIT 1`), c.ID).Scan(&task); err != nil || task.V != 4242 {
			t.Errorf("trace task id = %v, %v", task, err)
		}
		// Other same-state moves stay illegal, with a task id or not.
		if _, err := db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: m.Components[0].ID, FromRev: 1, To: rida.ComponentWaiting, TaskID: 1}); rida.ErrorCodeOf(err) != rida.CodeConflict {
			t.Errorf("waiting → waiting: %v", err)
		}
	})
}

// TestTransitionComponentBuilds_Many: a batch larger than one IN list.
func TestTransitionComponentBuilds_Many(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		const n = maxIDsPerStatement + 20
		m := newModuleBuild("many", "s", 1, "c")
		m.Components = nil
		for i := range n {
			m.Components = append(m.Components, &rida.ComponentBuild{Package: fmt.Sprintf("p%d", i), Format: rida.FormatRPMs, SCMURL: "x", State: rida.ComponentWaiting})
		}
		mustCreate(t, db, m)
		ts := make([]rida.ComponentTransition, n)
		for i, c := range m.Components {
			ts[n-1-i] = rida.ComponentTransition{ID: c.ID, FromRev: 1, To: rida.ComponentBuilding, TaskID: int64(i + 1)}
		}
		got, err := db.TransitionComponentBuilds(ctx, ts)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range got {
			if c.ID != ts[i].ID || c.TaskID != ts[i].TaskID || c.Rev != 2 {
				t.Fatalf("result %d = %+v for %+v", i, c, ts[i])
			}
		}
		comps, total, err := db.FindComponentBuilds(ctx, rida.ComponentBuildFilter{States: []rida.ComponentState{rida.ComponentBuilding}, PerPage: 1})
		if err != nil || total != n || len(comps) != 1 {
			t.Errorf("building components: %d, %v", total, err)
		}
	})
}

// TestTransitionComponentBuilds_Concurrent races batches over the same
// components in different orders: exactly one wins, the others lose with
// ErrStaleWrite (never a deadlock), and only the winner's rows are written.
func TestTransitionComponentBuilds_Concurrent(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		m := newModuleBuild("brace", "s", 1, "c")
		m.Components = nil
		for i := range 20 {
			m.Components = append(m.Components, &rida.ComponentBuild{Package: fmt.Sprintf("p%d", i), Format: rida.FormatRPMs, SCMURL: "x", State: rida.ComponentWaiting})
		}
		mustCreate(t, db, m)
		traces, events := countRows(t, db, "component_builds_trace"), countRows(t, db, "events")
		const writers = 6
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for w := range writers {
			ts := make([]rida.ComponentTransition, len(m.Components))
			for i, c := range m.Components {
				// Writer w starts at component w: each order differs.
				ts[(i+w*3)%len(ts)] = rida.ComponentTransition{ID: c.ID, FromRev: 1, To: rida.ComponentBuilding, TaskID: int64(w + 1)}
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[w] = db.TransitionComponentBuilds(ctx, ts)
			}()
		}
		wg.Wait()
		winner := -1
		for w, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("writers %d and %d both won", winner, w)
			case err == nil:
				winner = w
			case !errors.Is(err, rida.ErrStaleWrite):
				t.Errorf("writer %d: %v", w, err)
			}
		}
		if winner < 0 {
			t.Fatal("no writer won")
		}
		comps, _, err := db.FindComponentBuilds(ctx, rida.ComponentBuildFilter{ModuleBuildID: &m.ID, PerPage: 100})
		if err != nil || len(comps) != len(m.Components) {
			t.Fatalf("components: %d, %v", len(comps), err)
		}
		for _, c := range comps {
			if c.Rev != 2 || c.TaskID != int64(winner+1) {
				t.Errorf("component %d: rev %d task %d, want the winner's (task %d)", c.ID, c.Rev, c.TaskID, winner+1)
			}
		}
		if n := countRows(t, db, "component_builds_trace"); n != traces+len(comps) {
			t.Errorf("trace rows = %d, want %d", n, traces+len(comps))
		}
		if n := countRows(t, db, "events"); n != events+len(comps) {
			t.Errorf("events = %d, want %d", n, events+len(comps))
		}
	})
}
