package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

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
		want := rida.NewComponentEvent(got, last.At)
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
