package sqlstore

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rida-build/rida"
)

func TestOutbox(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		if evs, err := db.PendingEvents(ctx, 10); err != nil || len(evs) != 0 {
			t.Fatalf("empty outbox: %v %v", evs, err)
		}
		a := mustCreate(t, db, newModuleBuild("out", "s", 1, "c"))
		b := mustCreate(t, db, newModuleBuild("out", "s", 2, "c"))
		if _, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: a.ID, FromRev: 1, To: rida.ModuleWait}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: b.Components[0].ID, FromRev: 1, To: rida.ComponentBuilding, TaskID: 9}); err != nil {
			t.Fatal(err)
		}
		evs, err := db.PendingEvents(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		type ev struct {
			Type       rida.EventType
			Module     int64
			Component  int64
			Increasing bool
		}
		var got []ev
		for i, e := range evs {
			got = append(got, ev{e.Type, e.ModuleBuildID, e.ComponentBuildID, i == 0 || e.ID > evs[i-1].ID})
			if e.PublishedAt != nil || e.At.IsZero() || len(e.Payload) == 0 {
				t.Errorf("event %+v", e)
			}
		}
		want := []ev{
			{rida.EventModuleStateChanged, a.ID, 0, true},
			{rida.EventModuleStateChanged, b.ID, 0, true},
			{rida.EventModuleStateChanged, a.ID, 0, true},
			{rida.EventComponentStateChanged, b.ID, b.Components[0].ID, true},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
		// The first event describes the creation.
		if diff := cmp.Diff(wantModuleEvent(t, db, a, a.TimeSubmitted).Payload, evs[0].Payload); diff != "" {
			t.Errorf("creation payload (-want +got):\n%s", diff)
		}

		// A limit returns the oldest first.
		first, err := db.PendingEvents(ctx, 2)
		if err != nil || len(first) != 2 || first[0].ID != evs[0].ID || first[1].ID != evs[1].ID {
			t.Fatalf("limit 2: %v %v", first, err)
		}
		if err := db.MarkEventsPublished(ctx, []int64{evs[0].ID, evs[2].ID}); err != nil {
			t.Fatal(err)
		}
		rest, err := db.PendingEvents(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int64{evs[1].ID, evs[3].ID}, []int64{rest[0].ID, rest[1].ID}); diff != "" || len(rest) != 2 {
			t.Errorf("after mark (-want +got):\n%s", diff)
		}
		// Marking again (a relay retry) and marking nothing are harmless.
		if err := db.MarkEventsPublished(ctx, []int64{evs[0].ID}); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkEventsPublished(ctx, nil); err != nil {
			t.Fatal(err)
		}
		var all []int64
		for _, e := range evs {
			all = append(all, e.ID)
		}
		if err := db.MarkEventsPublished(ctx, all); err != nil {
			t.Fatal(err)
		}
		if rest, err := db.PendingEvents(ctx, 10); err != nil || len(rest) != 0 {
			t.Errorf("after marking all: %v %v", rest, err)
		}

		// One build's history, published or not, resumable after any id.
		ofA, err := db.ModuleBuildEvents(ctx, a.ID, 0, 0)
		if err != nil || len(ofA) != 2 || ofA[0].ID != evs[0].ID || ofA[1].ID != evs[2].ID || ofA[0].PublishedAt == nil {
			t.Fatalf("events of a: %+v %v", ofA, err)
		}
		if after, err := db.ModuleBuildEvents(ctx, a.ID, evs[0].ID, 10); err != nil || len(after) != 1 || after[0].ID != evs[2].ID {
			t.Errorf("events of a after %d: %+v %v", evs[0].ID, after, err)
		}
		if ofB, err := db.ModuleBuildEvents(ctx, b.ID, 0, 1); err != nil || len(ofB) != 1 || ofB[0].ID != evs[1].ID {
			t.Errorf("events of b, limit 1: %+v %v", ofB, err)
		}

		// The payloads name what a reader of the committed state sees: a's
		// sibling-less wait; b's component with b's N:S:V:C and batch.
		var mp rida.ModuleEventPayload
		if err := json.Unmarshal(evs[2].Payload, &mp); err != nil {
			t.Fatal(err)
		}
		if mp.ID != a.ID || mp.StateName != "wait" || mp.Name != "out" || mp.Version != "1" || mp.Siblings == nil || mp.ComponentBuilds == nil || mp.TimeSubmitted == nil {
			t.Errorf("module payload %s", evs[2].Payload)
		}
		var cp rida.ComponentEventPayload
		if err := json.Unmarshal(evs[3].Payload, &cp); err != nil {
			t.Fatal(err)
		}
		if cp.ModuleNSVC != b.NSVC() || cp.ModuleBuild != b.ID || cp.ID != b.Components[0].ID || cp.Batch != b.Components[0].Batch || cp.Package != b.Components[0].Package {
			t.Errorf("component payload %s (module %s)", evs[3].Payload, b.NSVC())
		}
	})
}

// wantModuleEvent is the event a state change of m must have written: its
// payload lists the build's components and siblings as a reader sees them.
func wantModuleEvent(t *testing.T, db *testDB, m *rida.ModuleBuild, at time.Time) rida.Event {
	t.Helper()
	full, err := db.FindModuleBuildByID(context.Background(), m.ID, rida.ModuleBuildInclude{Components: true, Siblings: true})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, c := range full.Components {
		ids = append(ids, c.ID)
	}
	withSiblings := *m
	withSiblings.Siblings = full.Siblings
	return rida.NewModuleEvent(&withSiblings, ids, at)
}

// moduleNSVC is the N:S:V:C of a stored module build.
func moduleNSVC(t *testing.T, db *testDB, id int64) string {
	t.Helper()
	m, err := db.FindModuleBuildByID(context.Background(), id, rida.ModuleBuildInclude{})
	if err != nil {
		t.Fatal(err)
	}
	return m.NSVC()
}

func TestModuleBuildsConcerned(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		a := mustCreate(t, db, newModuleBuild("concerned", "s", 1, "c"))
		b := mustCreate(t, db, newModuleBuild("concerned", "s", 2, "c"))
		ready := mustCreate(t, db, newModuleBuild("concerned", "s", 3, "c"))
		batch := 2
		if _, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: a.ID, FromRev: 1, To: rida.ModuleWait, KojiTag: "module-a", Batch: &batch}); err != nil {
			t.Fatal(err)
		}
		repo := int64(900)
		if _, err := db.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: b.ID, FromRev: 1, NewRepoTaskID: &repo}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TransitionComponentBuilds(ctx, []rida.ComponentTransition{{ID: a.Components[1].ID, FromRev: 1, To: rida.ComponentBuilding, TaskID: 501}}); err != nil {
			t.Fatal(err)
		}
		// A finished build is no one's concern, even with a matching task.
		if _, err := db.TransitionComponentBuilds(ctx, []rida.ComponentTransition{{ID: ready.Components[1].ID, FromRev: 1, To: rida.ComponentBuilding, TaskID: 502}}); err != nil {
			t.Fatal(err)
		}
		r, _ := db.FindModuleBuildByID(ctx, ready.ID, rida.ModuleBuildInclude{})
		if _, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: ready.ID, FromRev: r.Rev, To: rida.ModuleFailed, Reason: "x"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			tasks []int64
			tags  []string
			want  []int64
		}{
			{[]int64{501}, nil, []int64{a.ID}},
			{[]int64{900}, nil, []int64{b.ID}},
			{nil, []string{"module-a"}, []int64{a.ID}},
			{[]int64{501, 900}, []string{"module-a", "module-a-build"}, []int64{a.ID, b.ID}},
			{[]int64{502, 7, 0, -1}, []string{"nothing", ""}, nil},
		} {
			got, err := db.ModuleBuildsConcerned(ctx, c.tasks, c.tags)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("tasks %v tags %v (-want +got):\n%s", c.tasks, c.tags, diff)
			}
		}
	})
}
