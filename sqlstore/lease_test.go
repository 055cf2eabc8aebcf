package sqlstore

import (
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rida-build/rida"
)

// advance moves the test clock forward.
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLeases(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *testDB) {
		ctx := t.Context()
		// One build per state: only init, wait, build and done are work
		// here.
		ids, revs := map[rida.ModuleState]int64{}, map[rida.ModuleState]int64{}
		paths := map[rida.ModuleState][]rida.ModuleState{
			rida.ModuleInit:     nil,
			rida.ModuleWait:     {rida.ModuleWait},
			rida.ModuleBuilding: {rida.ModuleWait, rida.ModuleBuilding},
			rida.ModuleDone:     {rida.ModuleWait, rida.ModuleBuilding, rida.ModuleDone},
			rida.ModuleReady:    {rida.ModuleWait, rida.ModuleBuilding, rida.ModuleDone, rida.ModuleReady},
			rida.ModuleFailed:   {rida.ModuleFailed},
		}
		for state, path := range paths {
			m := newModuleBuild("m"+state.String(), "s", 1, "c")
			// A failed build is work only while a component is unbuilt
			// (TestClaimDue_Failed); this one has none.
			m.Components = nil
			mustCreate(t, db, m)
			for _, to := range path {
				got, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: m.Rev, To: to})
				if err != nil {
					t.Fatal(err)
				}
				m = got
			}
			ids[state], revs[state] = m.ID, m.Rev
		}

		claimed, err := db.ClaimDue(ctx, "engine-a", time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, m := range claimed {
			got = append(got, m.ID)
		}
		want := []int64{ids[rida.ModuleInit], ids[rida.ModuleWait], ids[rida.ModuleBuilding], ids[rida.ModuleDone]}
		sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
		if len(got) != 4 || got[0] != want[0] || got[3] != want[3] {
			t.Fatalf("claimed %v, want the active builds %v", got, want)
		}
		if again, err := db.ClaimDue(ctx, "engine-b", time.Minute, 10); err != nil || len(again) != 0 {
			t.Fatalf("second claimer got %d builds (%v) while the leases are held", len(again), err)
		}

		// Heartbeats: only the owner may extend, and only an unexpired lease.
		init := ids[rida.ModuleInit]
		if err := db.ExtendLease(ctx, init, "engine-a", time.Minute); err != nil {
			t.Errorf("owner extends: %v", err)
		}
		if err := db.ExtendLease(ctx, init, "engine-b", time.Minute); rida.ErrorCodeOf(err) != rida.CodeConflict {
			t.Errorf("stranger extends: %v, want conflict", err)
		}

		// Released with a next check in the future: not due until then.
		wait := ids[rida.ModuleWait]
		if err := db.ReleaseLease(ctx, wait, "engine-a", db.clock.Now().Add(10*time.Minute), revs[rida.ModuleWait]); err != nil {
			t.Fatal(err)
		}
		if err := db.ReleaseLease(ctx, wait, "engine-a", time.Time{}, revs[rida.ModuleWait]); rida.ErrorCodeOf(err) != rida.CodeConflict {
			t.Errorf("second release: %v, want conflict", err)
		}
		if c, _ := db.ClaimDue(ctx, "engine-b", time.Minute, 10); len(c) != 0 {
			t.Errorf("claimed %d builds before any was due", len(c))
		}

		// After two minutes every lease of engine-a (but the extended one,
		// also past) has expired, and the released build is not due yet.
		db.clock.advance(2 * time.Minute)
		c, err := db.ClaimDue(ctx, "engine-b", time.Minute, 10)
		if err != nil || len(c) != 3 {
			t.Fatalf("after expiry engine-b claimed %d builds (%v), want 3", len(c), err)
		}
		if err := db.ExtendLease(ctx, init, "engine-a", time.Minute); rida.ErrorCodeOf(err) != rida.CodeConflict {
			t.Errorf("expired owner extends: %v, want conflict", err)
		}
		db.clock.advance(10 * time.Minute)
		if c, _ := db.ClaimDue(ctx, "engine-c", time.Minute, 10); len(c) != 4 {
			t.Errorf("once all is due and expired engine-c claimed %d builds, want 4", len(c))
		}
		if _, err := db.ClaimDue(ctx, "", time.Minute, 1); rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("claim without owner: %v", err)
		}
	})
}

// TestClaimDue_Concurrent: claimers racing for the same builds get disjoint
// sets that together cover every due build.
func TestClaimDue_Concurrent(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *testDB) {
		const builds = 24
		for i := range builds {
			mustCreate(t, db, newModuleBuild("m", "s", uint64(i+1), "c"))
		}
		var mu sync.Mutex
		seen := map[int64]string{}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := "engine-" + string(rune('a'+w))
				for {
					c, err := db.ClaimDue(t.Context(), owner, time.Hour, 3)
					if err != nil {
						t.Errorf("%s: %v", owner, err)
						return
					}
					if len(c) == 0 {
						return
					}
					mu.Lock()
					for _, m := range c {
						if prev, dup := seen[m.ID]; dup {
							t.Errorf("build %d claimed by %s and %s", m.ID, prev, owner)
						}
						seen[m.ID] = owner
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != builds {
			t.Errorf("claimed %d of %d builds", len(seen), builds)
		}
	})
}

// claimIDs claims up to 100 builds for owner and returns their ids.
func claimIDs(t *testing.T, db *testDB, owner string) []int64 {
	t.Helper()
	claimed, err := db.ClaimDue(t.Context(), owner, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int64, len(claimed))
	for i, m := range claimed {
		out[i] = m.ID
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TestReleaseLease_SeenRev: the caller's next check time holds only if the
// build did not change since the caller last saw it.
func TestReleaseLease_SeenRev(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *testDB) {
		ctx := t.Context()
		m := mustCreate(t, db, newModuleBuild("rel", "s", 1, "c"))
		if got := claimIDs(t, db, "engine-a"); len(got) != 1 {
			t.Fatalf("claimed %v", got)
		}
		later := db.clock.Now().Add(10 * time.Minute).UTC().Truncate(time.Microsecond)
		if err := db.ReleaseLease(ctx, m.ID, "engine-a", later, m.Rev); err != nil {
			t.Fatal(err)
		}
		if nc := nextCheck(t, db, m.ID); nc == nil || !nc.Equal(later) {
			t.Errorf("same rev: next_check_at = %v, want %v", nc, later)
		}
		if got := claimIDs(t, db, "engine-b"); len(got) != 0 {
			t.Errorf("claimed %v before the next check", got)
		}

		// Claimed again later; meanwhile the build is canceled, so the
		// release with the rev the engine saw makes it due at once.
		db.clock.advance(11 * time.Minute)
		if got := claimIDs(t, db, "engine-a"); len(got) != 1 {
			t.Fatalf("claimed %v once due", got)
		}
		if _, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: m.Rev, To: rida.ModuleFailed, Reason: "Canceled by bob."}); err != nil {
			t.Fatal(err)
		}
		if err := db.ReleaseLease(ctx, m.ID, "engine-a", db.clock.Now().Add(10*time.Minute), m.Rev); err != nil {
			t.Fatal(err)
		}
		if nc := nextCheck(t, db, m.ID); nc != nil {
			t.Errorf("changed rev: next_check_at = %v, want NULL", nc)
		}
		// Failed with unbuilt components: the engine cancels them now.
		if got := claimIDs(t, db, "engine-b"); len(got) != 1 || got[0] != m.ID {
			t.Errorf("after the cancel engine-b claimed %v, want [%d]", got, m.ID)
		}
		// The zero time is "at once" too.
		if err := db.ReleaseLease(ctx, m.ID, "engine-b", time.Time{}, m.Rev+1); err != nil {
			t.Fatal(err)
		}
		if nc := nextCheck(t, db, m.ID); nc != nil {
			t.Errorf("zero time: next_check_at = %v, want NULL", nc)
		}
	})
}

func TestMakeDue(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *testDB) {
		ctx := t.Context()
		m := mustCreate(t, db, newModuleBuild("due", "s", 1, "c"))
		setNextCheck(t, db, m.ID, db.clock.Now().Add(time.Hour))
		if got := claimIDs(t, db, "engine-a"); len(got) != 0 {
			t.Fatalf("claimed %v before the next check", got)
		}
		events := countRows(t, db, "events")
		if err := db.MakeDue(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		if nc := nextCheck(t, db, m.ID); nc != nil {
			t.Errorf("next_check_at = %v, want NULL", nc)
		}
		got, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{})
		if err != nil || got.Rev != m.Rev || !got.TimeModified.Equal(m.TimeModified) {
			t.Errorf("build changed: %+v %v", got, err)
		}
		if n := countRows(t, db, "events"); n != events {
			t.Errorf("events = %d, want %d", n, events)
		}
		if got := claimIDs(t, db, "engine-a"); len(got) != 1 {
			t.Errorf("claimed %v once due", got)
		}
		// Due already: still fine.
		if err := db.MakeDue(ctx, m.ID); err != nil {
			t.Errorf("again: %v", err)
		}
		if err := db.MakeDue(ctx, 999); !errors.Is(err, rida.ErrModuleBuildNotFound) {
			t.Errorf("unknown build: %v", err)
		}
	})
}

// TestClaimDue_FailedAndScratch: failed builds are work while a component
// is unbuilt (waiting or building), scratch builds in done never are.
func TestClaimDue_FailedAndScratch(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *testDB) {
		ctx := t.Context()
		// create makes a build of two waiting components, moves the
		// components as given (nil: left waiting) and the build along path.
		create := func(name string, scratch bool, comps []rida.ComponentState, path ...rida.ModuleState) int64 {
			t.Helper()
			m := newModuleBuild(name, "s", 1, "c")
			m.Scratch = scratch
			mustCreate(t, db, m)
			for i, to := range comps {
				c := m.Components[i]
				var steps []rida.ComponentState
				switch to {
				case rida.ComponentBuilding, rida.ComponentFailed, rida.ComponentCanceled:
					steps = []rida.ComponentState{to}
				case rida.ComponentComplete:
					steps = []rida.ComponentState{rida.ComponentBuilding, rida.ComponentComplete}
				}
				for _, s := range steps {
					got, err := db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: c.ID, FromRev: c.Rev, To: s, TaskID: 7})
					if err != nil {
						t.Fatal(err)
					}
					c = got
				}
			}
			rev := m.Rev
			for _, to := range path {
				got, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: rev, To: to})
				if err != nil {
					t.Fatal(err)
				}
				rev = got.Rev
			}
			return m.ID
		}
		done := []rida.ModuleState{rida.ModuleWait, rida.ModuleBuilding, rida.ModuleDone}
		complete := []rida.ComponentState{rida.ComponentComplete, rida.ComponentComplete}
		failedWaiting := create("failed-waiting", false, nil, rida.ModuleFailed)
		failedBuilding := create("failed-building", false, []rida.ComponentState{rida.ComponentCanceled, rida.ComponentBuilding}, rida.ModuleFailed)
		create("failed-settled", false, []rida.ComponentState{rida.ComponentFailed, rida.ComponentCanceled}, rida.ModuleFailed)
		create("failed-complete", false, complete, rida.ModuleFailed)
		create("scratch-done", true, complete, done...)
		doneID := create("done", false, complete, done...)
		scratchBuilding := create("scratch-build", true, []rida.ComponentState{rida.ComponentComplete, rida.ComponentBuilding}, rida.ModuleWait, rida.ModuleBuilding)
		create("ready", false, complete, append(done, rida.ModuleReady)...)

		want := []int64{failedWaiting, failedBuilding, doneID, scratchBuilding}
		sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
		if diff := cmp.Diff(want, claimIDs(t, db, "engine-a")); diff != "" {
			t.Errorf("claimed (-want +got):\n%s", diff)
		}
	})
}

func TestSchedulerLoad(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *testDB) {
		ctx := t.Context()
		if c, m, err := db.SchedulerLoad(ctx); err != nil || c != 0 || m != 0 {
			t.Fatalf("empty: %d %d %v", c, m, err)
		}
		// a: in build, one component building and one waiting.
		a := mustCreate(t, db, newModuleBuild("a", "s", 1, "c"))
		for _, to := range []rida.ModuleState{rida.ModuleWait, rida.ModuleBuilding} {
			got, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: a.ID, FromRev: a.Rev, To: to})
			if err != nil {
				t.Fatal(err)
			}
			a.Rev = got.Rev
		}
		if _, err := db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: a.Components[1].ID, FromRev: 1, To: rida.ComponentBuilding, TaskID: 1}); err != nil {
			t.Fatal(err)
		}
		// b: in init, both components building, one of them reused
		// (which occupies no builder).
		b := newModuleBuild("b", "s", 1, "c")
		for _, c := range b.Components {
			c.State = rida.ComponentBuilding
		}
		b.Components[0].ReusedComponentID = &a.Components[0].ID
		mustCreate(t, db, b)
		// c: failed, its component building still (the engine cancels it).
		c := mustCreate(t, db, newModuleBuild("c", "s", 1, "c"))
		if _, err := db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: c.Components[0].ID, FromRev: 1, To: rida.ComponentBuilding}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: c.ID, FromRev: 1, To: rida.ModuleFailed}); err != nil {
			t.Fatal(err)
		}
		comps, modules, err := db.SchedulerLoad(ctx)
		if err != nil || comps != 3 || modules != 1 {
			t.Errorf("SchedulerLoad = %d, %d, %v; want 3 building components, 1 building module", comps, modules, err)
		}
	})
}

// TestClaimDue_FailedReserved: a failed build holding a Koji reservation is
// work until the reservation is refunded; one that never reserved is not.
func TestClaimDue_FailedReserved(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *testDB) {
		ctx := t.Context()
		fail := func(name string, res *rida.Reservation) *rida.ModuleBuild {
			t.Helper()
			m := newModuleBuild(name, "s", 1, "c")
			m.Components = nil
			mustCreate(t, db, m)
			got, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: m.Rev, To: rida.ModuleWait, Reservation: res})
			if err != nil {
				t.Fatal(err)
			}
			if got, err = db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: got.Rev, To: rida.ModuleFailed}); err != nil {
				t.Fatal(err)
			}
			return got
		}
		reserved := fail("reserved", &rida.Reservation{BuildID: 11, Token: "a", DevelBuildID: 12, DevelToken: "b"})
		fail("unreserved", nil)
		refunded := fail("refunded", &rida.Reservation{BuildID: 21, Token: "c", DevelBuildID: 22, DevelToken: "d"})
		if _, err := db.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: refunded.ID, FromRev: refunded.Rev, Refunded: true}); err != nil {
			t.Fatal(err)
		}

		claimed, err := db.ClaimDue(ctx, "engine-a", time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(claimed) != 1 || claimed[0].ID != reserved.ID {
			t.Fatalf("claimed %+v, want only build %d", claimed, reserved.ID)
		}
		// The claim returns the reservation the engine refunds.
		if c := claimed[0]; c.KojiBuildID != 11 || c.KojiCGToken != "a" || c.KojiDevelBuildID != 12 ||
			c.KojiDevelCGToken != "b" || c.KojiRefunded {
			t.Errorf("claimed build %+v", c)
		}

		// Refunded, it is no longer work.
		got, err := db.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: reserved.ID, FromRev: claimed[0].Rev, Refunded: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.ReleaseLease(ctx, reserved.ID, "engine-a", time.Time{}, got.Rev); err != nil {
			t.Fatal(err)
		}
		if ids := claimIDs(t, db, "engine-b"); len(ids) != 0 {
			t.Errorf("claimed %v after the refund", ids)
		}
	})
}
