package sqlstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rida-build/rida"
)

// TestAggregatedReadsMatch checks that the reads PostgreSQL serves with one
// aggregated statement return exactly what the per-kind queries return (on
// SQLite both paths are the per-kind one, so there it checks the test).
func TestAggregatedReadsMatch(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *testDB) {
		ctx := t.Context()
		platform := newModuleBuild("platform", "f40", 1, "00000000")
		platform.State, platform.Components = rida.ModuleReady, nil
		platform.VirtualStreams = []string{"fedora", "f40-virtual"}
		platform.StreamVersion = ptr(400000.0)
		mustCreate(t, db, platform)
		a := newModuleBuild("app", "1", 7, "aaaaaaaa")
		a.BaseModules = []*rida.ModuleBuild{{ID: platform.ID}}
		mustCreate(t, db, a)
		b := newModuleBuild("app", "1", 7, "bbbbbbbb")
		mustCreate(t, db, b)
		if _, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: a.ID, FromRev: a.Rev, To: rida.ModuleWait, Reason: "ready to go"}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: a.Components[1].ID, FromRev: 1, To: rida.ComponentBuilding, TaskID: 42, Reason: "Submitted"}); err != nil {
			t.Fatal(err)
		}

		inc := rida.ModuleBuildInclude{Modulemd: true, ComponentTasks: true, StateTrace: true, Siblings: true, VirtualStreams: true, BaseModules: true}
		full := inc
		full.Components = true // forces the per-kind queries everywhere
		taskView := func(ms []*rida.ModuleBuild) {
			for _, m := range ms {
				for i, c := range m.Components {
					m.Components[i] = &rida.ComponentBuild{ID: c.ID, ModuleBuildID: c.ModuleBuildID, Package: c.Package, Format: c.Format,
						Batch: c.Batch, TaskID: c.TaskID, TaskState: c.TaskState, State: c.State, StateReason: c.StateReason, NVR: c.NVR}
				}
			}
		}
		order := []rida.Order{{Field: "id"}}
		got, _, err := db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Include: inc, Order: order})
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Include: full, Order: order})
		if err != nil {
			t.Fatal(err)
		}
		taskView(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("FindModuleBuilds aggregated (-per-kind +aggregated):\n%s", diff)
		}
		if len(got) != 3 || len(got[1].BaseModules) != 1 || len(got[0].VirtualStreams) != 2 || len(got[1].Siblings) != 1 || len(got[1].StateTrace) != 2 {
			t.Errorf("the world is not what the test built: %+v", got)
		}
		for _, m := range want {
			one, err := db.FindModuleBuildByID(ctx, m.ID, inc)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(m, one); diff != "" {
				t.Errorf("FindModuleBuildByID(%d) aggregated (-per-kind +aggregated):\n%s", m.ID, diff)
			}
		}
		if _, err := db.FindModuleBuildByID(ctx, 999999, inc); rida.ErrorCodeOf(err) != rida.CodeNotFound {
			t.Errorf("unknown id: %v", err)
		}
	})
}
