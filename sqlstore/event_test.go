package sqlstore

import (
	"context"
	"testing"

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
		if diff := cmp.Diff(rida.NewModuleEvent(a, a.TimeSubmitted).Payload, evs[0].Payload); diff != "" {
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
	})
}
